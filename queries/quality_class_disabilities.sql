-- Data quality: classes of one school with more enrolled students with a disability than
-- $limit. A blank or "không" (none) in the disability column is no disability.
SELECT c.class_id, count(*) AS students
FROM student s
JOIN "class" c ON c.school_id = s.school_id AND c.class_id = s.class_id
WHERE s.school_id = $school_id AND s.active
  AND nullif(trim(s.disability), '') IS NOT NULL
  AND lower(trim(s.disability)) NOT IN ('không', 'không có', 'không khuyết tật')
GROUP BY c.class_id
HAVING count(*) > $limit
ORDER BY c.class_id;
