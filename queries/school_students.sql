-- A school's students, enrolled or not, with their class: who was on a class's printed sheet.
SELECT student_id, class_id, full_name, active FROM student WHERE school_id = $school_id ORDER BY student_id;
