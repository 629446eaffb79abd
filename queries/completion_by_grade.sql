-- Completion of a period by grade for one school: entered values / expected values, from the
-- progress summary written with the snapshot (progress_units_stored). Every active student of a
-- class owes the same units, so a grade's students are the active students of the classes that
-- owe anything in the period.
WITH units AS (
    SELECT class_id, grade, expected, entered
    FROM progress_units_stored
    WHERE school_id = $school_id AND period = $period
), students AS (
    SELECT c.grade, count(*) AS students
    FROM student s
    JOIN (SELECT DISTINCT class_id, grade FROM units) c ON c.class_id = s.class_id
    WHERE s.school_id = $school_id AND s.active
    GROUP BY c.grade
)
SELECT u.grade,
       count(DISTINCT u.class_id) AS classes,
       any_value(st.students) AS students,
       sum(u.expected)::BIGINT AS expected,
       sum(u.entered)::BIGINT AS entered,
       sum(u.entered) / nullif(sum(u.expected), 0) AS completion
FROM units u
JOIN students st ON st.grade = u.grade
GROUP BY u.grade
ORDER BY u.grade;
