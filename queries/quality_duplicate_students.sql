-- Data quality: students listed twice by one school of $school_ids under different codes: the
-- same name (case and spacing aside) and the same birth date. One row per student of each pair.
WITH keyed AS (
    SELECT school_id, student_id, class_id, full_name, birth_date,
           lower(regexp_replace(trim(full_name), '\s+', ' ', 'g')) AS name_key
    FROM student
    WHERE list_contains($school_ids, school_id) AND birth_date IS NOT NULL
      AND nullif(trim(full_name), '') IS NOT NULL
)
SELECT a.school_id, a.class_id, a.student_id, a.full_name, a.birth_date,
       string_agg(b.student_id, ', ' ORDER BY b.student_id) AS other_ids
FROM keyed a
JOIN keyed b ON b.school_id = a.school_id AND b.name_key = a.name_key
            AND b.birth_date = a.birth_date AND b.student_id <> a.student_id
GROUP BY a.school_id, a.class_id, a.student_id, a.full_name, a.birth_date
ORDER BY a.school_id, a.full_name, a.student_id;
