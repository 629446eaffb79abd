-- Staff page (workload): every teaching assignment of one school with the class's grade and
-- enrolled students; a row without a teacher is left out (it is a gap, not a workload).
WITH enrolled AS (
    SELECT class_id, count(*)::BIGINT AS students
    FROM student WHERE school_id = $school_id AND active GROUP BY class_id
)
SELECT DISTINCT trim(a.staff_id) AS staff_id, a.class_id, c.class_name, c.grade,
       a.subject_code, coalesce(e.students, 0)::BIGINT AS students
FROM assignment a
LEFT JOIN "class" c ON c.school_id = a.school_id AND c.class_id = a.class_id
LEFT JOIN enrolled e ON e.class_id = a.class_id
WHERE a.school_id = $school_id AND nullif(trim(a.staff_id), '') IS NOT NULL
ORDER BY 1, c.grade, c.class_name, a.class_id, a.subject_code;
