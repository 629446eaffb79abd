-- Progress units of one school and period across snapshots, read from the Parquet summaries
-- written with each snapshot (no snapshot is reopened).
SELECT snapshot_id, taken_at, class_id, grade, item_code, staff_id, expected, entered
FROM read_parquet($files)
WHERE school_id = $school_id AND period = $period
ORDER BY taken_at, class_id, item_code;
