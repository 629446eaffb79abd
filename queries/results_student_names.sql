-- Students of one school with their class name, to name the students of a drill-down list.
SELECT s.student_id, s.full_name, s.class_id, c.class_name
FROM student s
LEFT JOIN "class" c ON c.school_id = s.school_id AND c.class_id = s.class_id
WHERE s.school_id = $school_id
ORDER BY s.student_id;
