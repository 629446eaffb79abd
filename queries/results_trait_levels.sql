-- Results: entered quality and competency levels of one school and period, counted by
-- class × trait × level, with the trait's group (quality, general, specific). Owed cells only.
SELECT c.grade, c.class_id, c.class_name, tr."group" AS trait_group, c.item_code,
       c.trait_level AS level, count(*)::BIGINT AS students
FROM entry_cells($school_id, $period) c
JOIN trait tr ON tr.trait_code = c.item_code
WHERE c.item_type = 'trait' AND c.trait_level IS NOT NULL
GROUP BY ALL
ORDER BY c.grade, c.class_name, c.item_code, level;
