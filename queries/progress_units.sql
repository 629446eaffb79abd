-- Entry progress of one school and period by class × subject (qualities and competencies as
-- one unit 'PCNL'), with the responsible teacher and their name.
SELECT u.class_id, u.class_name, u.grade, u.item_type, u.item_code,
       coalesce(s.name_vi, 'Phẩm chất, năng lực') AS item_name_vi,
       coalesce(s.name_en, 'Qualities and competencies') AS item_name_en,
       u.staff_id, st.full_name AS staff_name, u.expected, u.entered,
       u.entered / nullif(u.expected, 0) AS completion
FROM progress_units_stored u  -- progress_units_all, as written with the snapshot
LEFT JOIN subject s ON s.subject_code = u.item_code
LEFT JOIN staff st ON st.school_id = u.school_id AND st.staff_id = u.staff_id
WHERE u.school_id = $school_id AND u.period = $period
ORDER BY u.grade, u.class_name, u.item_code;
