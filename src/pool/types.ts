/**
 * In-memory shapes of pool data, shared by readers, analysers and the evaluation runner.
 * Everything numeric is a typed array; nothing here is a per-row object.
 */
export type SplitName = 'train' | 'test';

export interface PoolSplit {
  split: SplitName;
  /** Number of rows. */
  n: number;
  /** Number of numeric feature dimensions in `features`. */
  d: number;
  /** Row ids as strings (integer ids are stringified), in file order. */
  ids: string[];
  /** Label as an index into `classNames`, one per row. */
  labels: Int32Array;
  classNames: string[];
  /** Row-major n × d numeric features (pixels scaled to [0, 1], categoricals one-hot). */
  features: Float32Array;
  /** Name of each of the d dimensions, e.g. "pixels[12]", "purpose=car", "age". */
  featureNames: string[];
  /** Group (sensitive attribute) columns; null is a missing value. */
  groups: Record<string, (string | null)[]>;
  /** Raw image bytes when the pool has a pixel column: n × width × height, row-major. */
  pixels?: { width: number; height: number; channels: number; data: Uint8Array };
  /** Raw text when the pool has a text column (for reports and exact duplicates). */
  text?: Record<string, string[]>;
  /**
   * Where the text columns' hashed TF-IDF features lie in `features` (compute/text-features.ts;
   * the IDF always fitted on the pool's whole train split), when the pool has text columns.
   */
  textFeatures?: { featuriser: string; blocks: { column: string; offset: number; dims: number; idfDocuments: number }[] };
}

/** Evaluator-only ground truth for pools whose labels or rows were corrupted on purpose. */
export interface PoolTruth {
  ids: string[];
  /** Clean label index per train row, aligned with `ids`. */
  cleanLabels: Int32Array;
  /** 1 where the given (participant-visible) label differs from the clean one. */
  noisy: Uint8Array;
  /** Known duplicate pairs (ids), when the pool was generated with them. */
  duplicatePairs?: { a: string; b: string; kind: 'exact' | 'near'; crossSplit: boolean }[];
}
