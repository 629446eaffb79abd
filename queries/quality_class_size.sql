-- Data quality: classes of the schools of $school_ids with more enrolled students than $limit.
SELECT c.school_id, c.class_id, count(*) AS students
FROM student s
JOIN "class" c ON c.school_id = s.school_id AND c.class_id = s.class_id
WHERE list_contains($school_ids, s.school_id) AND s.active
GROUP BY c.school_id, c.class_id
HAVING count(*) > $limit
ORDER BY c.school_id, c.class_id;
