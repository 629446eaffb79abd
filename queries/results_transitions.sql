-- Results: how levels moved from $period_from to $period_to in one school: the same student
-- and the same subject or trait, entered at both periods, counted by class × item × level
-- before × level after.
WITH before AS (
    SELECT student_id, grade, class_id, class_name, item_type, item_code,
           CASE WHEN item_type = 'subject' THEN level ELSE trait_level END AS level
    FROM entry_cells($school_id, $period_from)
), after AS (
    SELECT student_id, item_type, item_code,
           CASE WHEN item_type = 'subject' THEN level ELSE trait_level END AS level
    FROM entry_cells($school_id, $period_to)
)
SELECT b.grade, b.class_id, b.class_name, b.item_type, b.item_code,
       b.level AS level_from, a.level AS level_to, count(*)::BIGINT AS students
FROM before b
JOIN after a USING (student_id, item_type, item_code)
WHERE b.level IS NOT NULL AND a.level IS NOT NULL
GROUP BY ALL
ORDER BY b.grade, b.class_name, b.item_code, level_from, level_to;
