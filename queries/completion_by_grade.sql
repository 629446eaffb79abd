-- Completion of a period by grade for one school: entered values / expected values.
SELECT grade,
       count(DISTINCT class_id) AS classes,
       count(DISTINCT student_id) AS students,
       sum(expected)::BIGINT AS expected,
       sum(entered)::BIGINT AS entered,
       sum(entered) / nullif(sum(expected), 0) AS completion
FROM entry_cells($school_id, $period)
GROUP BY grade
ORDER BY grade;
