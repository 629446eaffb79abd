-- Shared table macros, defined TEMP on each connection (snapshots are read-only).

-- One row per value-group a student owes for a period, for the schools of a list (NULL: every
-- school) (DESIGN.md "What counts as expected"): active students only; optional subjects only
-- where the class has an assignment for them; a level and a score are each one value; a value
-- held in invalid_value is NULL, so not entered. The list is applied to every table read, so
-- one school reads only its own row groups. Pages call entry_cells(school, …).
CREATE OR REPLACE TEMP MACRO entry_cells_in(p_school_ids, p_period) AS TABLE
WITH owed AS (
    SELECT s.school_id, s.student_id, s.full_name, c.class_id, c.class_name, c.grade,
           c.homeroom_staff_id, e.item_type, e.item_code, e.needs_level, e.needs_score
    FROM student s
    JOIN "class" c ON c.school_id = s.school_id AND c.class_id = s.class_id
    JOIN expectation e ON e.grade = c.grade AND e.period = p_period
    WHERE s.active AND (p_school_ids IS NULL OR list_contains(p_school_ids, s.school_id))
      AND (NOT e.optional OR EXISTS (
            SELECT 1 FROM assignment a
            WHERE a.school_id = s.school_id AND a.class_id = s.class_id
              AND a.subject_code = e.item_code))
)
SELECT o.*,
       sr.level AS level, sr.score AS score, tr.level AS trait_level,
       o.needs_level::INTEGER + o.needs_score::INTEGER AS expected,
       CASE WHEN o.item_type = 'subject'
            THEN (o.needs_level AND sr.level IS NOT NULL)::INTEGER
               + (o.needs_score AND sr.score IS NOT NULL)::INTEGER
            ELSE (tr.level IS NOT NULL)::INTEGER END AS entered
FROM owed o
LEFT JOIN subject_result sr
       ON o.item_type = 'subject' AND sr.school_id = o.school_id
      AND sr.student_id = o.student_id AND sr.period = p_period AND sr.subject_code = o.item_code
      AND (p_school_ids IS NULL OR list_contains(p_school_ids, sr.school_id))
LEFT JOIN trait_result tr
       ON o.item_type = 'trait' AND tr.school_id = o.school_id
      AND tr.student_id = o.student_id AND tr.period = p_period AND tr.trait_code = o.item_code
      AND (p_school_ids IS NULL OR list_contains(p_school_ids, tr.school_id));

-- The same for every school.
CREATE OR REPLACE TEMP MACRO entry_cells_all(p_period) AS TABLE
SELECT * FROM entry_cells_in(NULL, p_period);

-- The same for one school: every page question goes through this one.
CREATE OR REPLACE TEMP MACRO entry_cells(p_school_id, p_period) AS TABLE
SELECT * FROM entry_cells_all(p_period) WHERE school_id = p_school_id;

-- Progress units: class × subject, with all qualities and competencies of a class as one unit
-- 'PCNL' (the homeroom teacher's); each with its responsible teacher.
CREATE OR REPLACE TEMP MACRO progress_units_all(p_period) AS TABLE
WITH units AS (
    SELECT school_id, class_id, any_value(class_name) AS class_name, any_value(grade) AS grade,
           CASE WHEN item_type = 'trait' THEN 'PCNL' ELSE item_code END AS item_code,
           any_value(item_type) AS item_type, any_value(homeroom_staff_id) AS homeroom_staff_id,
           sum(expected)::BIGINT AS expected, sum(entered)::BIGINT AS entered
    FROM entry_cells_all(p_period)
    GROUP BY school_id, class_id, 5
), teachers AS (
    SELECT school_id, class_id, subject_code, min(staff_id) AS staff_id
    FROM assignment WHERE staff_id IS NOT NULL GROUP BY ALL
)
SELECT u.school_id, p_period AS period, u.class_id, u.class_name, u.grade, u.item_type,
       u.item_code,
       CASE WHEN u.item_type = 'trait' THEN u.homeroom_staff_id ELSE t.staff_id END AS staff_id,
       u.expected, u.entered
FROM units u
LEFT JOIN teachers t ON u.item_type = 'subject' AND t.school_id = u.school_id
     AND t.class_id = u.class_id AND t.subject_code = u.item_code;
