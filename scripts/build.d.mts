// Types of scripts/build.mjs (plain JavaScript so that `npm ci` can run it before any build).
export const ROOT: string;
export const DIST: string;
export const SOURCE_DIRS: string[];
export interface BuildOutcome { sources: number; written: number; removed: number }
export function isFresh(): boolean;
export function build(opts?: { quiet?: boolean }): Promise<BuildOutcome>;
export function ensureBuilt(): Promise<BuildOutcome & { fresh: boolean }>;
export const VENDORED: string[];
