-- What a snapshot holds for one school: classes, students, staff, cells kept as invalid.
SELECT
    (SELECT count(*) FROM "class" WHERE school_id = $school_id) AS classes,
    (SELECT count(*) FROM student WHERE school_id = $school_id AND active) AS students_active,
    (SELECT count(*) FROM student WHERE school_id = $school_id) AS students_listed,
    (SELECT count(*) FROM staff WHERE school_id = $school_id) AS staff,
    (SELECT count(*) FROM invalid_value WHERE school_id = $school_id) AS invalid_values;
