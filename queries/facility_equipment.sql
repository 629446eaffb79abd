-- Facilities page: one school's equipment counts (quantity, and how many still work).
SELECT item, quantity, working
FROM equipment
WHERE school_id = $school_id
ORDER BY item;
