-- class-rebalance: the same number of rows from every class (as far as each class has rows).
--
-- What: rows are numbered within their class in a random order (seeded by the run's seed)
-- and taken round by round, one from each class per round, so every class gets an equal
-- share and a class that runs out leaves its share to the others. It is the
-- `class-balanced` baseline written as a strategy (one draw at the run's seed, where the
-- baseline draws afresh per model seed). When it helps: imbalanced pools scored by a metric
-- that weighs classes equally (balanced accuracy, macro F1); on balanced pools it is random.
-- Tasks: selection.
WITH numbered AS (
  SELECT id, label,
         row_number() OVER (PARTITION BY label ORDER BY md5(id || ':' || (SELECT seed FROM params)), id) AS round
  FROM pool
)
SELECT id
FROM numbered
ORDER BY round, label
LIMIT (SELECT budget FROM params)
