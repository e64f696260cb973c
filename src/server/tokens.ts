/**
 * API tokens: `sieve_<participant id>_<secret>`, the secret 32 random bytes (base64url). Only a
 * salted hash is stored: sha256(salt ‖ secret) with a per-token 16-byte salt. A slow password
 * hash is not needed for a 256-bit random secret (nothing to guess); the salt keeps equal
 * secrets from sharing a hash. Hashes are compared with timingSafeEqual.
 *
 * Worker tokens (`sieve_wrk_…`, made by each `sieve worker` for itself) open only the internal
 * file endpoint, and only for a bounded time: one is good while its row exists and for at most
 * WORKER_TOKEN_TTL_MS after it was made, by the database's clock. A running worker makes a new
 * one every WORKER_TOKEN_ROTATE_MS and deletes the one before (so a leaked token of a live
 * worker works for at most two rotations); a stopping worker deletes its own; a killed worker's
 * token runs out by age and the next worker's rotation deletes the row (src/server/worker.ts).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'sieve_';

export function newId(kind: string): string {
  return `${kind}_${randomBytes(12).toString('hex')}`;
}

function hashSecret(salt: string, secret: string): string {
  return createHash('sha256').update(Buffer.from(salt, 'hex')).update(secret, 'utf8').digest('hex');
}

/** A new token for participant `id`: the token (shown once) and what is stored. */
export function issueToken(id: string): { token: string; salt: string; hash: string } {
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16).toString('hex');
  return { token: `${PREFIX}${id}_${secret}`, salt, hash: hashSecret(salt, secret) };
}

/** The participant id a token names and its secret, or null when it is not a token's shape. */
export function parseToken(token: string): { id: string; secret: string } | null {
  const m = /^sieve_((?:par|org|wrk)_[0-9a-f]{24})_([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { id: m[1], secret: m[2] } : null;
}

/** True when `secret` hashes, under `salt`, to `hash` (constant time in the hash). */
export function tokenMatches(secret: string, salt: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(salt, secret), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A worker token's longest life after it was made (by the database's clock). */
export const WORKER_TOKEN_TTL_MS = 15 * 60_000;
/** How often a running worker replaces its token (well inside the TTL: a rotation may fail once or twice). */
export const WORKER_TOKEN_ROTATE_MS = 5 * 60_000;
