-- One row per school of $school_ids (a bound list): values owed and entered in $period, units,
-- and units still incomplete after their entry deadline as of $as_of_day. Read from the
-- snapshot's progress summary ($summary, its Parquet copy). Deadlines are each school's own
-- schedule rows (else the shared ones, as schedule.windows_of_schools resolves them) as three
-- parallel bound lists: $deadline_schools, $deadline_grades (0 = the whole school) and
-- $deadline_days. A grade's row overrides its school's whole-school row.
WITH deadlines AS (
    SELECT unnest($deadline_schools::VARCHAR[]) AS school_id,
           unnest($deadline_grades::INTEGER[]) AS grade,
           unnest($deadline_days::DATE[]) AS deadline
),
units AS (
    SELECT p.school_id, p.class_id, p.item_code, p.expected, p.entered,
           coalesce(g.deadline, w.deadline) AS deadline
    FROM read_parquet($summary) p
    LEFT JOIN deadlines g ON g.school_id = p.school_id AND g.grade = p.grade
    LEFT JOIN deadlines w ON w.school_id = p.school_id AND w.grade = 0
    WHERE p.period = $period AND list_contains($school_ids, p.school_id)
)
SELECT s.school_id, s.name,
       coalesce(sum(u.expected), 0)::BIGINT AS expected,
       coalesce(sum(u.entered), 0)::BIGINT AS entered,
       count(u.class_id)::BIGINT AS units,
       count(u.class_id) FILTER (WHERE u.entered < u.expected
                                 AND u.deadline < $as_of_day::DATE)::BIGINT AS overdue_units
FROM school s
LEFT JOIN units u ON u.school_id = s.school_id
WHERE list_contains($school_ids, s.school_id)
GROUP BY s.school_id, s.name
ORDER BY s.school_id;
