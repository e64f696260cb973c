/** `sieve serve --init` on a DuckDB file in folders that do not exist yet: they are made. */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initServer } from '../src/server/serve.ts';

describe('sieve serve --init', () => {
  it('makes the database file\'s missing folders (as evaluate --out does)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sieve-init-'));
    try {
      const db = join(dir, 'state', 'sub', 's.duckdb');
      const r = await initServer(db);
      expect(r.token).toMatch(/^sieve_org_/);
      expect(existsSync(db)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
