-- Shared table macros, defined TEMP on each connection (snapshots are read-only).

-- One row per value a student owes for a period (DESIGN.md "What counts as expected"):
-- active students only; optional subjects only where the class has an assignment for them;
-- a level and a score are each one value; a value held in invalid_value is NULL, so not entered.
CREATE OR REPLACE TEMP MACRO entry_cells(p_school_id, p_period) AS TABLE
WITH owed AS (
    SELECT s.school_id, s.student_id, s.full_name, c.class_id, c.class_name, c.grade,
           c.homeroom_staff_id, e.item_type, e.item_code, e.needs_level, e.needs_score
    FROM student s
    JOIN "class" c ON c.school_id = s.school_id AND c.class_id = s.class_id
    JOIN expectation e ON e.grade = c.grade AND e.period = p_period
    WHERE s.school_id = p_school_id AND s.active
      AND (NOT e.optional OR EXISTS (
            SELECT 1 FROM assignment a
            WHERE a.school_id = s.school_id AND a.class_id = s.class_id
              AND a.subject_code = e.item_code))
)
SELECT o.*,
       o.needs_level::INTEGER + o.needs_score::INTEGER AS expected,
       CASE WHEN o.item_type = 'subject'
            THEN (o.needs_level AND sr.level IS NOT NULL)::INTEGER
               + (o.needs_score AND sr.score IS NOT NULL)::INTEGER
            ELSE (tr.level IS NOT NULL)::INTEGER END AS entered
FROM owed o
LEFT JOIN subject_result sr
       ON o.item_type = 'subject' AND sr.school_id = o.school_id
      AND sr.student_id = o.student_id AND sr.period = p_period AND sr.subject_code = o.item_code
LEFT JOIN trait_result tr
       ON o.item_type = 'trait' AND tr.school_id = o.school_id
      AND tr.student_id = o.student_id AND tr.period = p_period AND tr.trait_code = o.item_code;
