/**
 * The shapes of the API's JSON that the pages read (docs/server.md). Loose on purpose where
 * the API may add fields: a page renders what it is given and skips what is absent.
 */
import type { MetricSummary } from '../../../evaluator/aggregate.ts';
import type { JobStatus } from '../client.ts';

export interface ApiErrorBody {
  code?: string;
  message?: string;
  where?: string;
  examples?: string[];
}

export interface ChallengeSummary {
  name: string;
  title?: string;
  version: number;
  task: string;
  /** draft: created by an organiser and not opened yet. */
  state: 'draft' | 'open' | 'closed';
  closes: string | null;
  pool: string;
  budget: string;
  primary: { name: string; direction: 'max' | 'min' };
  limits: { submissions_per_day?: number; submissions_total?: number } & Record<string, unknown>;
}

export interface PoolFile {
  name: string;
  bytes: number;
  sha256: string | null;
  role: string;
  format?: string;
}

export interface ChallengeDetail extends ChallengeSummary {
  description: string | null;
  story: string | null;
  rules: {
    submission: string;
    columns?: unknown;
    budget: Record<string, unknown>;
    model: { kind: string; params?: Record<string, unknown>; seeds?: number[]; preprocess?: Record<string, unknown> } & Record<string, unknown>;
    metrics: { primary: string; direction: string; report?: string[] } & Record<string, unknown>;
    test: Record<string, unknown>;
    limits: Record<string, unknown>;
    bootstrap: { samples: number; seed: number };
  };
  datasheet: Record<string, unknown> | null;
  classes: string[];
  groups: string[];
  baselines: string[];
  files: PoolFile[];
  /** The same splits as Arrow IPC files (converted on first download; their sizes and sha256 in the listing). */
  arrow?: { listing: string; files: string[] };
  phases?: { name: string; opens_at?: string | null; closes_at?: string | null; state?: string }[];
}

export interface Comparison {
  against: string;
  comparable: boolean;
  difference?: number;
  ci95?: [number, number];
  p_value?: number;
  p_holm?: number;
  significant?: boolean;
  reason?: string;
}

export interface LeaderboardEntry {
  rank: number;
  participant: string;
  submission: string;
  submitted_at: string;
  submissions: number;
  primary: { name: string; direction: string; mean: number | null; ci95: [number, number] | null };
  metrics: Record<string, number | null>;
  tied_with_leader?: boolean | null;
  vs_leader?: Comparison | null;
  private_mean?: number | null;
  private_ci95?: [number, number] | null;
  private_rank?: number;
  move?: number;
  private_tied_with_leader?: boolean | null;
  private_vs_leader?: Comparison | null;
}

export interface SignificanceNote {
  part: string;
  method?: string;
  test?: string;
  level?: number;
  correction?: string;
  tied?: string;
  resamples?: number;
  seed?: number;
}

export interface Leaderboard {
  challenge: string;
  part: string;
  primary: { name: string; direction: string };
  columns: string[];
  entries: LeaderboardEntry[];
  significance?: SignificanceNote;
  private_significance?: SignificanceNote;
}

/** A job as GET /api/me lists it: its status (the shape `sieve status` reads) and its times. */
export interface Job extends JobStatus {
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** A job queued again after a failed attempt: not run before this (its retry back-off); else null. */
  retry_at: string | null;
}

export interface Me {
  participant: { id: string; name: string; role: 'participant' | 'organiser' };
  submissions: { id: string; challenge: string; file: string; created_at: string; job: Job; primary_public: number | null }[];
  quota: { challenge: string; used_today: number; used_total: number; left_today: number | null; left_total: number | null }[];
}

/** The record as the API shows it (publicView for participants). */
export interface RecordView {
  challenge: { name: string; version: number; task: string; closes: string | null; report: string[]; rules?: string };
  pool: { name: string; content_hash: string };
  submission: { sha256: string; format: string; rows: number; bytes: number };
  evaluator: { version: string };
  sieve: { version: string; code_sha256?: string };
  model: { kind: string } & Record<string, unknown>;
  seeds: number[];
  bootstrap: { samples: number; seed: number };
  test: { rows: number; public_rows: number; private_rows: number };
  primary: { name: string; direction: string; mean: number | null };
  metrics: Record<string, MetricSummary>;
  private: { metrics: Record<string, MetricSummary>; all_metrics: Record<string, MetricSummary>; primary_mean: number | null } | { hidden: true; until: string | null } | null;
  curve?: { k: number[]; fraction: number[]; accuracy: number[]; per_seed?: number[][]; parts: Record<string, { rows: number; correct: number[]; clean_correct: number }[]> };
  ranking?: { rows: number; pool_rows: number; noisy_rows: number; noisy_fixed?: number; step: number };
  subset: { rows: number; class_counts: Record<string, number>; group_counts: Record<string, Record<string, number>>; changed?: number };
  /** A strategy's re-runs on the hidden variants (a file of ids: only the note). */
  generalisation?: { note: string } | GeneralisationView;
  strategy?: { kind: string; path: string; sha256: string; output_sha256: string; seed: number };
  convergence?: { note?: string } & Record<string, unknown>;
  created_at: string;
}

export interface GeneralisationView {
  recipe: string;
  primary: { name: string; direction: string; part: string };
  variants: { seed: number; content_hash: string; primary: number | null; error?: string }[];
  n: number;
  mean: number | null;
  ci95: [number, number] | null;
  interval: string;
  public: number | null;
  gap: number | null;
  note?: string;
}

export interface SubmissionDetail {
  id: string;
  challenge: string;
  file: string;
  sha256: string;
  bytes: number;
  created_at: string;
  job: Job | null;
  record: RecordView | null;
  /** The audit of the submitted rows (null until there is a result). */
  audit: AuditView | null;
}

/** GET /api/submissions/ID's `audit`: its status and, once done, its summary (src/report/submission-audit.ts AuditSummary). */
export type AuditView =
  | { status: 'running'; deadline?: string }
  | { status: 'not available'; reason?: string }
  | { status: 'done'; seconds: number; pool_cached: boolean; report: string; summary: AuditSummaryView };

export interface AuditSummaryView {
  rows: number;
  pool_rows: number;
  oos_model: string;
  analysers: { name: string; title: string; severity: string; verdict: string; rows: number; flagged: number; figures: Record<string, number | string | null>; pool: { severity: string; verdict: string; rows: number; flagged: number } | null }[];
  skipped: { name: string; reason: string }[];
  test_note?: string;
}

export interface JobList {
  counts: Record<string, number>;
  jobs: (Job & { participant: string; participant_name: string | null; file: string; primary_public: number | null })[];
}

/** An organiser action as GET /api/actions lists it. */
export interface ActionEntry {
  id?: string;
  at: string;
  actor: string;
  actor_name: string | null;
  action: string;
  challenge: string | null;
  detail: unknown;
}
