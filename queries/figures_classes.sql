-- Start / mid / end-of-year figures: one school's classes per grade with their enrolled students.
SELECT c.grade, count(DISTINCT c.class_id)::BIGINT AS classes,
       count(s.student_id) FILTER (WHERE s.active)::BIGINT AS students
FROM "class" c
LEFT JOIN student s ON s.school_id = c.school_id AND s.class_id = c.class_id
WHERE c.school_id = $school_id
GROUP BY c.grade
ORDER BY c.grade;
