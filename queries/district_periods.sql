-- The periods with at least one value entered in any school of $school_ids (a bound list),
-- from the snapshot's progress summary ($summary, its Parquet copy).
SELECT period
FROM read_parquet($summary)
WHERE list_contains($school_ids, school_id)
GROUP BY period
HAVING sum(entered) > 0;
