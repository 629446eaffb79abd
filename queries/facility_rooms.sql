-- Facilities page: one school's rooms as the facilities template lists them.
SELECT room_id, site, room_type, construction, area_m2, condition
FROM room
WHERE school_id = $school_id
ORDER BY room_type, site, room_id;
