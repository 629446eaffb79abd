-- The presentation's facilities slide: how many rooms of one school per room type and
-- condition.
SELECT room_type, condition, count(*)::BIGINT AS rooms
FROM room
WHERE school_id = $school_id
GROUP BY ALL
ORDER BY ALL;
