-- One class of a school with its school's name: what the heading of a printed sheet names.
SELECT c.class_id, c.class_name, c.grade, sc.name AS school_name, sc.province
FROM "class" c
LEFT JOIN school sc ON sc.school_id = c.school_id
WHERE c.school_id = $school_id AND c.class_id = $class_id;
