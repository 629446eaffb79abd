-- Data quality input: each recorded year-end classification of the schools of $school_ids
-- with the student's own CN entries (one row per entry; a student without entries has one row
-- with no item) and the subjects the class is assigned (to know which optional subjects the
-- student takes).
WITH recorded AS (
    SELECT y.school_id, y.student_id, s.class_id, c.grade, y.classification
    FROM year_result y
    JOIN student s ON s.school_id = y.school_id AND s.student_id = y.student_id
    JOIN "class" c ON c.school_id = s.school_id AND c.class_id = s.class_id
    WHERE list_contains($school_ids, y.school_id) AND y.classification IS NOT NULL
      AND c.grade BETWEEN 1 AND 5
), entries AS (
    SELECT school_id, student_id, 'subject' AS item_type, subject_code AS item_code, level, score
    FROM subject_result WHERE list_contains($school_ids, school_id) AND period = 'CN'
    UNION ALL
    SELECT school_id, student_id, 'trait', trait_code, level, NULL FROM trait_result
    WHERE list_contains($school_ids, school_id) AND period = 'CN'
), assigned AS (
    SELECT school_id, class_id, list(DISTINCT subject_code ORDER BY subject_code) AS assigned_subjects
    FROM assignment WHERE list_contains($school_ids, school_id) GROUP BY school_id, class_id
)
SELECT r.school_id, r.student_id, r.class_id, r.grade, r.classification,
       coalesce(a.assigned_subjects, []) AS assigned_subjects,
       e.item_type, e.item_code, e.level, e.score
FROM recorded r
LEFT JOIN entries e ON e.school_id = r.school_id AND e.student_id = r.student_id
LEFT JOIN assigned a ON a.school_id = r.school_id AND a.class_id = r.class_id
ORDER BY r.school_id, r.student_id, e.item_type, e.item_code;
