-- The schools a snapshot holds.
SELECT school_id, name, province FROM school ORDER BY school_id;
