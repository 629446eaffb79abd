-- The schools a snapshot holds, among those the caller may see ($school_ids, a bound list).
SELECT school_id, name, province FROM school
WHERE list_contains($school_ids, school_id)
ORDER BY school_id;
