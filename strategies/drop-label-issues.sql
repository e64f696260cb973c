-- drop-label-issues: drop the rows confident learning flags as label errors, then sample the rest.
--
-- What: `label_issue` is the audit's confident-learning flag (out-of-sample probabilities from
-- the pool's default model, 5 folds: the row's given label is much less probable than another
-- class). Flagged rows are dropped and the budget is filled with a random sample (seeded by
-- the run's seed) of the rows left. When it helps: pools with label noise, where every wrong
-- label in the training set pulls the fixed model toward the wrong class; it costs little
-- where the labels are clean (the flag is then rare).
-- Tasks: selection.
SELECT f.id
FROM findings f
WHERE NOT f.label_issue
ORDER BY md5(f.id || ':' || (SELECT seed FROM params)), f.id
LIMIT (SELECT budget FROM params)
