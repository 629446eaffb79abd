-- Drill-down: which owed values are still missing, student by student, for one school and
-- period, optionally one class and one unit (item code, or 'PCNL' for the traits).
SELECT class_id, class_name, student_id, full_name,
       CASE WHEN item_type = 'trait' THEN 'PCNL' ELSE item_code END AS unit_code,
       item_code,
       CASE WHEN item_type = 'trait' THEN 'level'
            WHEN needs_level AND level IS NULL AND needs_score AND score IS NULL THEN 'level+score'
            WHEN needs_level AND level IS NULL THEN 'level'
            ELSE 'score' END AS missing,
       expected - entered AS missing_values
FROM entry_cells($school_id, $period)
WHERE entered < expected
  AND ($class_id IS NULL OR class_id = $class_id)
  AND ($unit_code IS NULL OR (CASE WHEN item_type = 'trait' THEN 'PCNL' ELSE item_code END) = $unit_code)
ORDER BY class_name, full_name, student_id, item_code;
