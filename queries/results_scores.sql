-- Results: periodic test scores of one school and period, counted by class × subject × score.
-- Owed scores only, on the 1–10 scale (a 0 is a data-quality finding, not a result).
SELECT grade, class_id, class_name, item_code, score, count(*)::BIGINT AS students
FROM entry_cells($school_id, $period)
WHERE item_type = 'subject' AND needs_score AND score BETWEEN 1 AND 10
GROUP BY ALL
ORDER BY grade, class_name, item_code, score;
