-- The presentation's staff slide: how many staff of one school per position group,
-- qualification, major and status (csdl.staffing reads the last three). Counts only: no name
-- and no row per person leaves the snapshot.
SELECT position_group, qualification, major, status, count(*)::BIGINT AS staff
FROM staff
WHERE school_id = $school_id
GROUP BY ALL
ORDER BY ALL;
