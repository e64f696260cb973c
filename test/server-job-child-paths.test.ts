import { describe, expect, it } from 'vitest';
import { withoutServerPaths } from '../src/server/job-child.ts';

describe('withoutServerPaths (failure reasons an entrant reads)', () => {
  it('replaces each server folder, the deeper one first, and leaves other text alone', () => {
    const home = '/home/srv';
    const cache = '/home/srv/.cache/sieve';
    const text = `secret_directory=${home}/.duckdb/stored_secrets; cannot open ${cache}/variants/v1/train.parquet; row 'a/b'`;
    expect(withoutServerPaths(text, [home, cache, undefined, '/'])).toBe(
      "secret_directory=…/.duckdb/stored_secrets; cannot open …/variants/v1/train.parquet; row 'a/b'");
  });
  it('takes folders with a trailing slash and repeated ones', () => {
    expect(withoutServerPaths('/tmp/x and /tmp/y', ['/tmp/', '/tmp'])).toBe('…/x and …/y');
  });
});
