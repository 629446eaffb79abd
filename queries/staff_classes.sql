-- Staff page: one school's classes with their homeroom teacher and enrolled students.
SELECT c.class_id, c.class_name, c.grade, c.homeroom_staff_id,
       count(s.student_id) FILTER (WHERE s.active)::BIGINT AS students
FROM "class" c
LEFT JOIN student s ON s.school_id = c.school_id AND s.class_id = c.class_id
WHERE c.school_id = $school_id
GROUP BY ALL
ORDER BY c.grade, c.class_name, c.class_id;
