-- Cell-by-cell difference between two snapshots attached read-only as `a` (before) and `b`
-- (after), for the schools of $school_ids (a bound list). A NULL value is "not entered", the
-- same as no row at all, so `added` means entered since, `removed` means no longer entered,
-- `changed` a new value.
-- Students joining, leaving or moving class appear as item_type 'student', field 'class_id'
-- (period NULL, so only when $period is NULL: every period). A $period is applied to the
-- cells before they are joined.
WITH cells_a AS (
    SELECT school_id, student_id, period, 'subject' AS item_type, subject_code AS item_code, 'level' AS field, level AS value
    FROM a.subject_result WHERE list_contains($school_ids, school_id)
      AND ($period IS NULL OR period = $period) AND level IS NOT NULL
    UNION ALL
    SELECT school_id, student_id, period, 'subject', subject_code, 'score', CAST(score AS VARCHAR)
    FROM a.subject_result WHERE list_contains($school_ids, school_id)
      AND ($period IS NULL OR period = $period) AND score IS NOT NULL
    UNION ALL
    SELECT school_id, student_id, period, 'trait', trait_code, 'level', level
    FROM a.trait_result WHERE list_contains($school_ids, school_id)
      AND ($period IS NULL OR period = $period) AND level IS NOT NULL
    UNION ALL
    SELECT school_id, student_id, 'CN', 'year', 'YEAR', f.field, f.value
    FROM a.year_result,
         LATERAL (VALUES ('completed', CAST(completed AS VARCHAR)), ('promoted', CAST(promoted AS VARCHAR)),
                         ('classification', classification), ('award', award)) AS f(field, value)
    WHERE list_contains($school_ids, school_id) AND coalesce($period, 'CN') = 'CN'
      AND f.value IS NOT NULL
    UNION ALL
    SELECT school_id, student_id, NULL, 'student', 'STUDENT', 'class_id', class_id
    FROM a.student WHERE list_contains($school_ids, school_id) AND active AND $period IS NULL
), cells_b AS (
    SELECT school_id, student_id, period, 'subject' AS item_type, subject_code AS item_code, 'level' AS field, level AS value
    FROM b.subject_result WHERE list_contains($school_ids, school_id)
      AND ($period IS NULL OR period = $period) AND level IS NOT NULL
    UNION ALL
    SELECT school_id, student_id, period, 'subject', subject_code, 'score', CAST(score AS VARCHAR)
    FROM b.subject_result WHERE list_contains($school_ids, school_id)
      AND ($period IS NULL OR period = $period) AND score IS NOT NULL
    UNION ALL
    SELECT school_id, student_id, period, 'trait', trait_code, 'level', level
    FROM b.trait_result WHERE list_contains($school_ids, school_id)
      AND ($period IS NULL OR period = $period) AND level IS NOT NULL
    UNION ALL
    SELECT school_id, student_id, 'CN', 'year', 'YEAR', f.field, f.value
    FROM b.year_result,
         LATERAL (VALUES ('completed', CAST(completed AS VARCHAR)), ('promoted', CAST(promoted AS VARCHAR)),
                         ('classification', classification), ('award', award)) AS f(field, value)
    WHERE list_contains($school_ids, school_id) AND coalesce($period, 'CN') = 'CN'
      AND f.value IS NOT NULL
    UNION ALL
    SELECT school_id, student_id, NULL, 'student', 'STUDENT', 'class_id', class_id
    FROM b.student WHERE list_contains($school_ids, school_id) AND active AND $period IS NULL
), diff AS (
    SELECT coalesce(cb.school_id, ca.school_id) AS school_id,
           coalesce(cb.student_id, ca.student_id) AS student_id,
           coalesce(cb.period, ca.period) AS period,
           coalesce(cb.item_type, ca.item_type) AS item_type,
           coalesce(cb.item_code, ca.item_code) AS item_code,
           coalesce(cb.field, ca.field) AS field,
           ca.value AS before, cb.value AS after,
           CASE WHEN ca.value IS NULL THEN 'added' WHEN cb.value IS NULL THEN 'removed'
                ELSE 'changed' END AS change
    FROM cells_a ca
    FULL OUTER JOIN cells_b cb
      ON ca.school_id = cb.school_id AND ca.student_id = cb.student_id AND ca.period IS NOT DISTINCT FROM cb.period
     AND ca.item_type = cb.item_type AND ca.item_code = cb.item_code AND ca.field = cb.field
    WHERE ca.value IS DISTINCT FROM cb.value
)
SELECT d.school_id, d.student_id,
       coalesce(sb.class_id, sa.class_id) AS class_id,
       coalesce(cb.class_name, ca.class_name, sb.class_id, sa.class_id) AS class_name,
       coalesce(sb.full_name, sa.full_name) AS full_name,
       d.period, d.item_type, d.item_code, d.field, d.before, d.after, d.change
FROM diff d
LEFT JOIN b.student sb ON sb.school_id = d.school_id AND sb.student_id = d.student_id
LEFT JOIN a.student sa ON sa.school_id = d.school_id AND sa.student_id = d.student_id
LEFT JOIN b."class" cb ON cb.school_id = d.school_id AND cb.class_id = sb.class_id
LEFT JOIN a."class" ca ON ca.school_id = d.school_id AND ca.class_id = sa.class_id
WHERE $period IS NULL OR d.period = $period
ORDER BY d.school_id, class_id, d.student_id, list_position(['GK1', 'CK1', 'GK2', 'CN'], d.period),
         d.item_type, d.item_code, d.field;
