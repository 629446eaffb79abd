-- The school's classes with their grade, for pickers and per-class tables.
SELECT class_id, class_name, grade FROM "class" WHERE school_id = $school_id ORDER BY grade, class_name;
