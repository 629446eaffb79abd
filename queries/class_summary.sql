-- The printed class summary ("Bảng tổng hợp kết quả đánh giá giáo dục của lớp", DOMAIN.md §6)
-- as long rows: one per active student × owed value of the period (what entry_cells owes: a
-- level for every subject and trait, a score where needed), plus the year-end fields at CN.
-- `value` is NULL where nothing is entered; csdl.printing pivots the rows into the sheet.
WITH students AS (
    SELECT student_id, full_name, birth_date
    FROM student
    WHERE school_id = $school_id AND class_id = $class_id AND active
), owed AS (
    SELECT student_id, item_type, item_code, 'level' AS field,
           CASE WHEN item_type = 'subject' THEN level ELSE trait_level END AS value
    FROM entry_cells($school_id, $period)
    WHERE class_id = $class_id
    UNION ALL
    SELECT student_id, item_type, item_code, 'score', CAST(score AS VARCHAR)
    FROM entry_cells($school_id, $period)
    WHERE class_id = $class_id AND needs_score
), year_end AS (
    SELECT s.student_id, 'year' AS item_type, 'YEAR' AS item_code, f.field, f.value
    FROM students s
    LEFT JOIN year_result y ON y.school_id = $school_id AND y.student_id = s.student_id,
         LATERAL (VALUES ('completed', CAST(y.completed AS VARCHAR)),
                         ('promoted', CAST(y.promoted AS VARCHAR)),
                         ('classification', y.classification),
                         ('award', y.award)) AS f(field, value)
    WHERE $period = 'CN'
)
SELECT s.student_id, s.full_name, s.birth_date, v.item_type, v.item_code, v.field, v.value
FROM students s
LEFT JOIN (SELECT * FROM owed UNION ALL SELECT * FROM year_end) v USING (student_id)
ORDER BY s.student_id, v.item_type, v.item_code, v.field;
