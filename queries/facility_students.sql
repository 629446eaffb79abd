-- Facilities page: one school's enrolled students by gender (student toilets, computers per
-- student); NULL where the student list gives no gender.
SELECT gender, count(*)::BIGINT AS students
FROM student
WHERE school_id = $school_id AND active
GROUP BY gender
ORDER BY gender;
