-- Start / mid / end-of-year figures: one school's enrolled students by grade, gender,
-- ethnicity (Kinh or another; NULL when blank) and disability (a blank or "không" is none,
-- as quality_class_disabilities reads it). Students whose class is not listed have no grade.
SELECT c.grade, s.gender,
       CASE WHEN nullif(trim(s.ethnicity), '') IS NULL THEN NULL
            ELSE lower(trim(s.ethnicity)) = 'kinh' END AS kinh,
       (nullif(trim(s.disability), '') IS NOT NULL
        AND lower(trim(s.disability)) NOT IN ('không', 'không có', 'không khuyết tật')) AS disabled,
       count(*)::BIGINT AS students
FROM student s
LEFT JOIN "class" c ON c.school_id = s.school_id AND c.class_id = s.class_id
WHERE s.school_id = $school_id AND s.active
GROUP BY ALL
ORDER BY ALL;
