-- Data quality: scores the import could not store, of one reason ($reason: score_out_of_range,
-- score_not_integer or score_not_number, the codes of csdl/readers.py), for the schools of
-- $school_ids and one period. They sit in invalid_value and count as not entered.
SELECT iv.school_id, s.class_id, iv.student_id, iv.item_code, iv.raw_value AS value,
       iv.source_file, iv."row" AS file_row, iv."column" AS file_column
FROM invalid_value iv
LEFT JOIN student s ON s.school_id = iv.school_id AND s.student_id = iv.student_id
                   AND list_contains($school_ids, s.school_id)
WHERE list_contains($school_ids, iv.school_id) AND iv.period = $period AND iv.reason = $reason
ORDER BY iv.school_id, s.class_id, iv.student_id, iv.item_code;
