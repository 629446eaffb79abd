-- Staff page: every class × subject one school owes (the grade's subjects; an optional subject
-- only where the class has an assignment row for it, as quality_unassigned reads it), with
-- each assigned teacher; staff_id is NULL where nobody is assigned (a gap).
WITH subjects AS (
    SELECT DISTINCT grade, item_code, optional FROM expectation WHERE item_type = 'subject'
), owed AS (
    SELECT c.school_id, c.class_id, c.class_name, c.grade, sub.item_code AS subject_code,
           sub.optional
    FROM "class" c
    JOIN subjects sub ON sub.grade = c.grade
    WHERE c.school_id = $school_id
      AND (NOT sub.optional OR EXISTS (
            SELECT 1 FROM assignment a
            WHERE a.school_id = c.school_id AND a.class_id = c.class_id
              AND a.subject_code = sub.item_code))
)
SELECT o.class_id, o.class_name, o.grade, o.subject_code, o.optional,
       nullif(trim(a.staff_id), '') AS staff_id, st.full_name, st.status
FROM owed o
LEFT JOIN assignment a
       ON a.school_id = o.school_id AND a.class_id = o.class_id
      AND a.subject_code = o.subject_code AND nullif(trim(a.staff_id), '') IS NOT NULL
LEFT JOIN staff st ON st.school_id = o.school_id AND st.staff_id = trim(a.staff_id)
ORDER BY o.grade, o.class_name, o.class_id, o.subject_code, staff_id;
