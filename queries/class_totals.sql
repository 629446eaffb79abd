-- How many students of a class got each level, per owed subject and trait of the period, and
-- at CN how many got each classification: the figures a printed summary's totals show.
-- Every level of every owed item is listed, zeros included, so a typed total can be checked.
WITH cells AS (
    SELECT student_id, item_type, item_code,
           CASE WHEN item_type = 'subject' THEN level ELSE trait_level END AS level
    FROM entry_cells($school_id, $period)
    WHERE class_id = $class_id
), scale(item_type, level, rank) AS (
    VALUES ('subject', 'T', 1), ('subject', 'H', 2), ('subject', 'C', 3),
           ('trait', 'T', 1), ('trait', 'Đ', 2), ('trait', 'C', 3),
           ('year', 'HTXS', 1), ('year', 'HTT', 2), ('year', 'HT', 3), ('year', 'CHT', 4)
), classified AS (
    SELECT 'year' AS item_type, 'classification' AS item_code, y.classification AS level
    FROM student s
    JOIN year_result y ON y.school_id = s.school_id AND y.student_id = s.student_id
    WHERE s.school_id = $school_id AND s.class_id = $class_id AND s.active AND $period = 'CN'
), items AS (
    SELECT DISTINCT item_type, item_code FROM cells
    UNION ALL
    SELECT 'year', 'classification' WHERE $period = 'CN'
), counts AS (
    SELECT item_type, item_code, level, count(*) AS n FROM cells WHERE level IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT item_type, item_code, level, count(*) FROM classified WHERE level IS NOT NULL GROUP BY ALL
)
SELECT i.item_type, i.item_code, sc.level, coalesce(c.n, 0)::BIGINT AS count
FROM items i
JOIN scale sc ON sc.item_type = i.item_type
LEFT JOIN counts c ON c.item_type = i.item_type AND c.item_code = i.item_code AND c.level = sc.level
ORDER BY i.item_type, i.item_code, sc.rank;
