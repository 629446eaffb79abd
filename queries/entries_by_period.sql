-- Values entered per period for one school (a level and a score are each one value).
SELECT period, sum(n)::BIGINT AS entered FROM (
    SELECT period, count(level) + count(score) AS n
    FROM subject_result WHERE school_id = $school_id GROUP BY period
    UNION ALL
    SELECT period, count(level) AS n
    FROM trait_result WHERE school_id = $school_id GROUP BY period
) GROUP BY period
ORDER BY list_position(['GK1', 'CK1', 'GK2', 'CN'], period);
