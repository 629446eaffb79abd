-- Results: the year-end classifications recorded for one school (year_result, from the CN
-- file), counted by class × classification.
SELECT c.grade, c.class_id, c.class_name, y.classification, count(*)::BIGINT AS students
FROM year_result y
JOIN student s ON s.school_id = y.school_id AND s.student_id = y.student_id
JOIN "class" c ON c.school_id = s.school_id AND c.class_id = s.class_id
WHERE y.school_id = $school_id AND y.classification IS NOT NULL
GROUP BY ALL
ORDER BY c.grade, c.class_name, y.classification;
