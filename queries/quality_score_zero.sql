-- Data quality: scores stored as 0 for the schools of $school_ids and one period (the sector
-- upload accepts 1–10).
SELECT r.school_id, s.class_id, r.student_id, r.subject_code AS item_code, r.level
FROM subject_result r
LEFT JOIN student s ON s.school_id = r.school_id AND s.student_id = r.student_id
                   AND list_contains($school_ids, s.school_id)
WHERE list_contains($school_ids, r.school_id) AND r.period = $period AND r.score = 0
ORDER BY r.school_id, s.class_id, r.student_id, r.subject_code;
