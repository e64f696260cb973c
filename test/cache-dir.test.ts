import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheDir } from '../src/util/cache-dir.ts';
import { hashCacheFile } from '../src/util/hash-cache.ts';
import { variantCacheDir } from '../src/pool/resolve.ts';

describe('the one cache folder', () => {
  it('is $SIEVE_CACHE when set, else the platform user cache folder; $SIEVE_CACHE_DIR is not read', () => {
    const home = '/home/u';
    expect(cacheDir({ SIEVE_CACHE: 'rel/cache' }, 'linux', home)).toBe(resolve('rel/cache'));
    expect(cacheDir({ SIEVE_CACHE: '/c', XDG_CACHE_HOME: '/x' }, 'linux', home)).toBe('/c');
    expect(cacheDir({ XDG_CACHE_HOME: '/x' }, 'linux', home)).toBe('/x/sieve');
    expect(cacheDir({ XDG_CACHE_HOME: 'relative' }, 'linux', home)).toBe('/home/u/.cache/sieve');
    expect(cacheDir({ SIEVE_CACHE_DIR: '/old' }, 'linux', home)).toBe('/home/u/.cache/sieve');
    expect(cacheDir({}, 'darwin', home)).toBe('/home/u/Library/Caches/sieve');
    expect(cacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', home)).toBe(join('C:\\Users\\u\\AppData\\Local', 'sieve', 'Cache'));
  });

  it('holds the file-hash memory and the variant pools (the test setup pins it)', () => {
    expect(process.env.SIEVE_CACHE).toBeTruthy();
    expect(process.env.SIEVE_CACHE_DIR).toBeUndefined();
    expect(hashCacheFile()).toBe(join(resolve(process.env.SIEVE_CACHE!), 'file-hashes.json'));
    expect(variantCacheDir()).toBe(join(resolve(process.env.SIEVE_CACHE!), 'variants'));
  });
});
