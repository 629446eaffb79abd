-- Results: entered subject levels of one school and period, counted by class × subject ×
-- level. Owed cells only (enrolled students; optional subjects where the class is assigned);
-- a value refused at import is not entered, so it is not counted.
SELECT grade, class_id, class_name, item_code, level, count(*)::BIGINT AS students
FROM entry_cells($school_id, $period)
WHERE item_type = 'subject' AND level IS NOT NULL
GROUP BY ALL
ORDER BY grade, class_name, item_code, level;
