-- The population of a spot check (issue 6): one row per owed value of a school and period (what
-- entry_cells owes: a level for every subject and trait, a score where needed) that holds
-- something in the sector database — a value entered, or a cell kept in invalid_value, whose
-- raw text is what the database shows. Values not entered at all are the progress page's
-- business: there is nothing on screen to compare with the paper.
-- The teacher is the one responsible for the entry, as in progress_units_all: the assigned
-- subject teacher, the homeroom teacher for qualities and competencies.
-- The data-quality flags: a score of 0 (the sector upload accepts 1–10); a level that disagrees
-- with its score (score ≥ 9 with C, score ≤ 4 with T: both cells are flagged, either may be
-- the slip); a cell kept in invalid_value.
WITH cells AS (
    SELECT * FROM entry_cells($school_id, $period)
), teachers AS (
    SELECT class_id, subject_code, min(staff_id) AS staff_id
    FROM assignment WHERE school_id = $school_id AND staff_id IS NOT NULL
    GROUP BY ALL
), invalid AS (
    SELECT student_id, item_code,
           CASE WHEN reason LIKE 'score%' THEN 'score' ELSE 'level' END AS field,
           min(raw_value) AS raw_value
    FROM invalid_value
    WHERE school_id = $school_id AND period = $period
      AND (reason = 'level_unknown' OR reason LIKE 'score%')
    GROUP BY ALL
), owed_values AS (
    SELECT *, 'level' AS field,
           CASE WHEN item_type = 'subject' THEN level ELSE trait_level END AS value
    FROM cells WHERE needs_level
    UNION ALL BY NAME
    SELECT *, 'score' AS field, CAST(score AS VARCHAR) AS value
    FROM cells WHERE needs_score
), owners AS (
    SELECT v.*, i.raw_value,
           CASE WHEN v.item_type = 'trait' THEN v.homeroom_staff_id ELSE t.staff_id END AS staff_id
    FROM owed_values v
    LEFT JOIN invalid i ON i.student_id = v.student_id AND i.item_code = v.item_code
         AND i.field = v.field
    LEFT JOIN teachers t ON v.item_type = 'subject' AND t.class_id = v.class_id
         AND t.subject_code = v.item_code
)
SELECT o.student_id, o.full_name, o.class_id, o.class_name, o.grade, o.item_type, o.item_code,
       o.field, coalesce(o.value, o.raw_value) AS db_value, o.staff_id,
       st.full_name AS staff_name,
       coalesce(o.field = 'score' AND o.score = 0, FALSE) AS score_zero,
       coalesce(o.needs_score AND (o.level = 'C' AND o.score >= 9
                                   OR o.level = 'T' AND o.score <= 4), FALSE)
           AS level_score_mismatch,
       o.value IS NULL AS invalid_value
FROM owners o
LEFT JOIN staff st ON st.school_id = $school_id AND st.staff_id = o.staff_id
WHERE coalesce(o.value, o.raw_value) IS NOT NULL
ORDER BY o.grade, o.class_name, o.class_id, o.student_id, o.item_type, o.item_code, o.field;
