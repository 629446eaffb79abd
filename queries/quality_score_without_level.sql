-- Data quality: an owed score entered without its owed level, for the schools of $school_ids
-- and one period. A cell whose other half was refused at import (invalid_value) is left to
-- that finding.
SELECT c.school_id, c.class_id, c.student_id, c.item_code, c.score
FROM entry_cells_in($school_ids, $period) c
WHERE c.item_type = 'subject' AND c.needs_level AND c.needs_score
  AND c.level IS NULL AND c.score IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM invalid_value iv
                  WHERE iv.school_id = c.school_id AND iv.student_id = c.student_id
                    AND iv.period = $period AND iv.item_code = c.item_code)
ORDER BY c.school_id, c.class_name, c.student_id, c.item_code;
