-- Data quality: results held for a student code that is not in its school's student list, for
-- the schools of $school_ids.
WITH results AS (
    SELECT school_id, student_id, period, count(level) + count(score) AS n_values
    FROM subject_result WHERE list_contains($school_ids, school_id) GROUP BY ALL
    UNION ALL
    SELECT school_id, student_id, period, count(level) FROM trait_result
    WHERE list_contains($school_ids, school_id) GROUP BY ALL
    UNION ALL
    SELECT school_id, student_id, 'CN', count(classification) FROM year_result
    WHERE list_contains($school_ids, school_id) GROUP BY ALL
)
SELECT r.school_id, r.student_id, sum(r.n_values)::BIGINT AS n_values,
       string_agg(DISTINCT r.period, ', ' ORDER BY list_position(['GK1', 'CK1', 'GK2', 'CN'], r.period)) AS periods
FROM results r
WHERE NOT EXISTS (SELECT 1 FROM student s
                  WHERE s.school_id = r.school_id AND s.student_id = r.student_id)
GROUP BY r.school_id, r.student_id
ORDER BY r.school_id, r.student_id;
