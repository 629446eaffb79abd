-- Staff page: every person in one school's staff list (working or not); csdl.staffing decides
-- who is working, the age band, the rank and the qualification standard.
SELECT staff_id, full_name, birth_date, gender, position_group, job_position, staff_type,
       main_subject, contract_type, rank_code, qualification, major, standard_rating,
       sessions_per_day, status
FROM staff
WHERE school_id = $school_id
ORDER BY full_name, staff_id;
