/**
 * sieve's one cache folder, for everything it can rebuild: the file-hash memory
 * (`file-hashes.json`, src/util/hash-cache.ts), hidden variant pools (`variants/`,
 * src/pool/resolve.ts variantCacheDir), the evaluation cache (`evaluate/`: decoded splits and
 * prepared features, src/pool/split-cache.ts) and any later cache. `$SIEVE_CACHE` when set, else the
 * platform's per-user cache folder: `$XDG_CACHE_HOME/sieve` or `~/.cache/sieve` on Linux,
 * `~/Library/Caches/sieve` on macOS, `%LOCALAPPDATA%\sieve\Cache` on Windows. The test setup
 * pins `$SIEVE_CACHE` to a temporary folder. (`$SIEVE_CACHE_DIR`, once read for the file-hash
 * memory alone, is no longer read.)
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export function cacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = homedir()): string {
  if (env.SIEVE_CACHE) return resolve(env.SIEVE_CACHE);
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'sieve', 'Cache');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'sieve');
  // The XDG base-directory spec: a relative $XDG_CACHE_HOME is invalid and ignored.
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.cache'), 'sieve');
}
