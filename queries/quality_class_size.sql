-- Data quality: classes of one school with more enrolled students than $limit.
SELECT c.class_id, count(*) AS students
FROM student s
JOIN "class" c ON c.school_id = s.school_id AND c.class_id = s.class_id
WHERE s.school_id = $school_id AND s.active
GROUP BY c.class_id
HAVING count(*) > $limit
ORDER BY c.class_id;
