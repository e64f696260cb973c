-- relabel-suggested: set the rows confident learning flags to the label it suggests, worst first.
--
-- What: every row the audit's confident learning flags (`label_issue`) whose suggested label
-- (its most probable class out of sample) differs from the given one, ordered by the label
-- score (1 − label quality: the surest errors first), up to the budget of corrections.
-- When it helps: relabel challenges with noisy labels, where a wrong label is worse than a
-- missing row; the suggested label is only as good as the out-of-sample model, so on classes
-- the model confuses it trades one wrong label for another.
-- Tasks: relabel.
SELECT f.id, f.suggested_label AS label
FROM findings f
WHERE f.label_issue AND f.suggested_label IS NOT NULL AND f.suggested_label <> f.label
ORDER BY f.label_score DESC, f.id
LIMIT (SELECT budget FROM params)
