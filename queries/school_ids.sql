-- Only the ids of the schools a snapshot holds: to work out which of them an account may see.
SELECT school_id FROM school ORDER BY school_id;
