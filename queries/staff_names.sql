-- Staff of one school, for pickers (who asked for a change, who checked).
SELECT staff_id, full_name, position_group FROM staff
WHERE school_id = $school_id
ORDER BY full_name;
