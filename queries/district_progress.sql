-- One row per school of $school_ids (a bound list): values owed and entered in $period, units,
-- and units still incomplete after their entry deadline as of $as_of_day. Read from the
-- snapshot's progress summary ($summary, its Parquet copy). Deadlines are the schedule's rows
-- as two bound lists, $deadline_grades (0 = the whole school) and $deadline_days.
WITH units AS (
    SELECT school_id, class_id, item_code, expected, entered,
           coalesce(list_extract($deadline_days::DATE[],
                                 list_position($deadline_grades::INTEGER[], grade)),
                    list_extract($deadline_days::DATE[],
                                 list_position($deadline_grades::INTEGER[], 0))) AS deadline
    FROM read_parquet($summary)
    WHERE period = $period AND list_contains($school_ids, school_id)
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
