-- Data quality: a level that disagrees with its score, for the schools of $school_ids and one
-- period: a score of at least $high_score with level C (not completed), or at most $low_score
-- with level T. A score of 0 is its own finding (quality_score_zero), so it is not counted twice.
SELECT r.school_id, s.class_id, r.student_id, r.subject_code AS item_code, r.level, r.score
FROM subject_result r
LEFT JOIN student s ON s.school_id = r.school_id AND s.student_id = r.student_id
                   AND list_contains($school_ids, s.school_id)
WHERE list_contains($school_ids, r.school_id) AND r.period = $period AND r.score BETWEEN 1 AND 10
  AND ((r.score >= $high_score AND r.level = 'C') OR (r.score <= $low_score AND r.level = 'T'))
ORDER BY r.school_id, s.class_id, r.student_id, r.subject_code;
