-- Data quality: classes of the schools of $school_ids with more enrolled students with a
-- disability than $limit. A blank or "không" (none) in the disability column is no disability.
SELECT c.school_id, c.class_id, count(*) AS students
FROM student s
JOIN "class" c ON c.school_id = s.school_id AND c.class_id = s.class_id
WHERE list_contains($school_ids, s.school_id) AND s.active
  AND nullif(trim(s.disability), '') IS NOT NULL
  AND lower(trim(s.disability)) NOT IN ('không', 'không có', 'không khuyết tật')
GROUP BY c.school_id, c.class_id
HAVING count(*) > $limit
ORDER BY c.school_id, c.class_id;
