-- Data quality: every teacher a class relies on, for the schools of $school_ids, with what the
-- staff list says of them: subject teachers from the assignments, the homeroom teacher for 'PCNL'.
WITH assigned AS (
    SELECT school_id, class_id, subject_code AS item_code, staff_id FROM assignment
    WHERE list_contains($school_ids, school_id) AND nullif(trim(staff_id), '') IS NOT NULL
    UNION
    SELECT school_id, class_id, 'PCNL', homeroom_staff_id FROM "class"
    WHERE list_contains($school_ids, school_id) AND nullif(trim(homeroom_staff_id), '') IS NOT NULL
)
SELECT a.school_id, a.class_id, a.item_code, a.staff_id, st.staff_id IS NOT NULL AS in_staff_list,
       st.full_name, st.status
FROM assigned a
LEFT JOIN staff st ON st.school_id = a.school_id AND st.staff_id = a.staff_id
ORDER BY a.school_id, a.class_id, a.item_code, a.staff_id;
