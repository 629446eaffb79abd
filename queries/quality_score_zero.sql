-- Data quality: scores stored as 0 for one school and period (the sector upload accepts 1–10).
SELECT s.class_id, r.student_id, r.subject_code AS item_code, r.level
FROM subject_result r
LEFT JOIN student s ON s.school_id = r.school_id AND s.student_id = r.student_id
WHERE r.school_id = $school_id AND r.period = $period AND r.score = 0
ORDER BY s.class_id, r.student_id, r.subject_code;
