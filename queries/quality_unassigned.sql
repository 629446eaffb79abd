-- Data quality: what a class of the schools of $school_ids is owed with nobody to enter it. A
-- subject of the grade without an assigned teacher (an optional subject only where the class
-- has an assignment row for it), and 'PCNL' (qualities and competencies) without a homeroom
-- teacher.
WITH subjects AS (
    SELECT DISTINCT grade, item_code, optional FROM expectation WHERE item_type = 'subject'
)
SELECT c.school_id, c.class_id, sub.item_code
FROM "class" c
JOIN subjects sub ON sub.grade = c.grade
WHERE list_contains($school_ids, c.school_id)
  AND (NOT sub.optional OR EXISTS (
        SELECT 1 FROM assignment a
        WHERE a.school_id = c.school_id AND a.class_id = c.class_id AND a.subject_code = sub.item_code))
  AND NOT EXISTS (
        SELECT 1 FROM assignment a
        WHERE a.school_id = c.school_id AND a.class_id = c.class_id
          AND a.subject_code = sub.item_code AND nullif(trim(a.staff_id), '') IS NOT NULL)
UNION ALL
SELECT school_id, class_id, 'PCNL' FROM "class"
WHERE list_contains($school_ids, school_id) AND nullif(trim(homeroom_staff_id), '') IS NULL
ORDER BY 1, 2, 3;
