-- dedupe: drop the redundant copies of duplicated rows, then a seeded random sample of the rest.
--
-- What: the duplicates analyser groups exact and near-duplicate train rows into clusters;
-- every member of a cluster but its first in pool order is `duplicate_redundant` and is
-- dropped. The budget is filled with a random sample (seeded by the run's seed) of the rows
-- left. When it helps: pools with many copies (scraped or augmented data), where a random
-- sample spends part of its budget on rows the model has already seen.
-- Tasks: selection.
SELECT f.id
FROM findings f
WHERE NOT f.duplicate_redundant
ORDER BY md5(f.id || ':' || (SELECT seed FROM params)), f.id
LIMIT (SELECT budget FROM params)
