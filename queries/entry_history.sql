-- Progress units of one school in every period across snapshots (the forecast's history of
-- earlier windows), read from the Parquet summaries written with each snapshot.
SELECT snapshot_id, taken_at, school_year, period, class_id, grade, item_code, staff_id,
       expected, entered
FROM read_parquet($files)
WHERE school_id = $school_id
ORDER BY taken_at, period, class_id, item_code;
