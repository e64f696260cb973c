/**
 * A worker's copy of what a job needs, found by content hash: the challenge spec (the exact
 * bytes the job was submitted under: their sha256 is in the job's claim) and the challenge's
 * pool (its manifest's content hash names it; each file is named by its sha256). Files come from
 * a shared folder of pool folders when it holds them with the right bytes, else from the
 * server's internal endpoint (src/server/internal.ts, a worker token). Every file's sha256 and
 * size is checked against the manifest before the pool is used; a download that does not match
 * is thrown away and the attempt fails (another try, or another worker, may fare better).
 *
 * The cache (`--cache DIR`) is the worker's whole cache folder: `pools/` (one folder per pool
 * content hash, built in a temporary folder and renamed into place whole) and `challenges/`
 * here, and sieve's own cache parts (src/util/cache-parts.ts: `variants/` hidden variant pools,
 * `evaluate/` decoded splits and features, `findings/`), which the job children write there
 * because the worker sets their SIEVE_CACHE to it (src/server/worker.ts). Beyond its size
 * limit the least recently used entries go: pools no running job uses and `evaluate/` entries
 * at any time (a reader that finds an entry gone rebuilds it), variant pools and findings only
 * while this worker runs no job (a running evaluation may be reading them). One cache folder
 * per worker process: eviction does not know about other processes' running jobs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SieveError } from '../util/errors.ts';
import { hashFileCached } from '../util/hash-cache.ts';
import type { EventLogger } from './events.ts';
import type { ChallengeBundle } from './internal.ts';
import type { ClaimedJob } from './store/types.ts';

export interface WorkerFilesOptions {
  /** The server's base URL (http://host:port); absent: the claim's challenge folder must exist here. */
  server?: string;
  /** A worker token for the internal endpoint. */
  token?: string;
  /** A shared folder of pool folders (POOL_NAME/pool.json …), tried before the server. */
  pools?: string;
  cacheDir: string;
  /** Size limit of the cache in bytes (least recently used pools are removed beyond it). */
  maxBytes: number;
  log?: EventLogger;
}

/** Where a job's files are here, and the refs the server's own records would name. */
export interface PreparedJob {
  challengeRef: string;
  poolDir?: string;
  recordRefs?: { challenge: string; pool: string };
  /** Call when the job is over (its pool may be evicted again). */
  done(): void;
}

const HEX64 = /^[0-9a-f]{64}$/;

export class WorkerFiles {
  private bundles = new Map<string, Promise<ChallengeBundle>>();
  private building = new Map<string, Promise<string>>();
  private inUse = new Map<string, number>();
  /** Jobs prepared and not yet done: variant pools and findings are evicted only at 0. */
  private active = 0;
  private evicting: Promise<void> = Promise.resolve();

  private token: string | undefined;

  constructor(private readonly opts: WorkerFilesOptions) {
    this.token = opts.token;
  }

  /** The token the next request sends (a worker replaces its token from time to time). */
  setToken(token: string): void {
    this.token = token;
  }

  /** The job's end: when none is left running, the cache is brought within its limit, variant pools included. */
  private jobDone(): void {
    if (--this.active === 0) void this.evictSoon(true);
  }

  async prepare(claimed: ClaimedJob): Promise<PreparedJob> {
    this.active++;
    let over = false;
    const end = () => { if (!over) { over = true; this.jobDone(); } };
    try {
      const p = await this.prepareFiles(claimed);
      return { ...p, done: () => { p.done(); end(); } };
    } catch (err) {
      end();
      throw err;
    }
  }

  private async prepareFiles(claimed: ClaimedJob): Promise<PreparedJob> {
    if (!this.opts.server) {
      const here = await stat(claimed.challengeRef).then((s) => s.isDirectory(), () => false);
      if (!here) {
        throw new SieveError(`the challenge folder ${claimed.challengeRef} is not on this machine`, {
          where: '--server', examples: ['give the server\'s address (sieve worker --server http://HOST:PORT) to fetch challenges and pools by content hash'],
        });
      }
      return { challengeRef: claimed.challengeRef, done: () => {} };
    }
    const bundle = await this.bundle(claimed.job.challenge, claimed.challengeSpecSha256);
    const specDir = join(this.opts.cacheDir, 'challenges', bundle.spec_sha256);
    const specPath = join(specDir, 'challenge.yaml');
    if (!(await stat(specPath).then((s) => s.isFile(), () => false))) {
      await mkdir(specDir, { recursive: true });
      const tmp = `${specPath}.tmp-${randomBytes(4).toString('hex')}`;
      await writeFile(tmp, bundle.spec);
      await rename(tmp, specPath);
    }
    const hash = bundle.pool.content_hash;
    this.inUse.set(hash, (this.inUse.get(hash) ?? 0) + 1);
    let released = false;
    const done = () => {
      if (released) return;
      released = true;
      this.inUse.set(hash, (this.inUse.get(hash) ?? 1) - 1);
    };
    try {
      const poolDir = await this.pool(bundle);
      return { challengeRef: specDir, poolDir, recordRefs: bundle.refs, done };
    } catch (err) {
      done();
      throw err;
    }
  }

  private async fetch(path: string): Promise<Response> {
    const url = new URL(path, this.opts.server).toString();
    let r: Response;
    try {
      r = await fetch(url, { headers: { authorization: `Bearer ${this.token ?? ''}` } });
    } catch (err) {
      throw new SieveError(`cannot reach the server at ${this.opts.server} (${(err as Error).message})`, { where: '--server' });
    }
    if (!r.ok) {
      const body = await r.json().catch(() => null) as { error?: { message?: string } } | null;
      throw new SieveError(`the server answered ${r.status} to ${path}: ${body?.error?.message ?? r.statusText}`, { where: '--server' });
    }
    return r;
  }

  /** The challenge's spec and pool manifest from the server, checked against the spec hash of the claim. */
  private bundle(name: string, specSha256: string): Promise<ChallengeBundle> {
    const key = `${name}\n${specSha256}`;
    let p = this.bundles.get(key);
    if (!p) {
      p = (async () => {
        const b = await (await this.fetch(`/internal/challenges/${encodeURIComponent(name)}`)).json() as ChallengeBundle;
        const got = createHash('sha256').update(b.spec, 'utf8').digest('hex');
        if (got !== specSha256) {
          throw new SieveError(`the server's challenge.yaml of ${name} has sha256 ${got.slice(0, 12)}…, the job was queued under ${specSha256.slice(0, 12)}…`, {
            where: name, examples: ['the challenge changed on the server since the job was queued'],
          });
        }
        if (!HEX64.test(b.pool.content_hash)) throw new SieveError(`the server named pool ${b.pool.name} by an invalid content hash`, { where: name });
        const manifest = JSON.parse(b.pool.manifest) as { content_hash?: string; files?: { path: string; sha256: string; bytes: number }[] };
        if (manifest.content_hash !== b.pool.content_hash || JSON.stringify(manifest.files?.map((f) => [f.path, f.sha256, f.bytes])) !== JSON.stringify(b.pool.files.map((f) => [f.path, f.sha256, f.bytes]))) {
          throw new SieveError(`the server's manifest of pool ${b.pool.name} does not match the file list it sent`, { where: name });
        }
        for (const f of b.pool.files) {
          if (!HEX64.test(f.sha256) || f.path.includes('..') || f.path.startsWith('/') || f.path.includes('\\')) {
            throw new SieveError(`the manifest of pool ${b.pool.name} names a file it may not: ${f.path}`, { where: name });
          }
        }
        return b;
      })();
      this.bundles.set(key, p);
      p.catch(() => this.bundles.delete(key));
    }
    return p;
  }

  /** The pool's folder here: the shared folder's when all its files match, else the cache's (built once). */
  private async pool(b: ChallengeBundle): Promise<string> {
    if (this.opts.pools) {
      const shared = join(this.opts.pools, b.pool.name);
      if (await this.matches(shared, b)) return shared;
    }
    const hash = b.pool.content_hash;
    const dir = join(this.opts.cacheDir, 'pools', hash);
    let p = this.building.get(hash);
    if (!p) {
      p = (async () => {
        if (await this.complete(dir, b)) {
          await this.touch(dir);
          return dir;
        }
        await this.build(dir, b);
        await this.evictSoon(false);
        return dir;
      })();
      this.building.set(hash, p);
      void p.finally(() => this.building.delete(hash)).catch(() => {});
    }
    return p;
  }

  /** True when `dir` holds the manifest's every file with its size and sha256. */
  private async matches(dir: string, b: ChallengeBundle): Promise<boolean> {
    const m = await readFile(join(dir, 'pool.json'), 'utf8').then((t) => JSON.parse(t) as { content_hash?: string }, () => null);
    if (m?.content_hash !== b.pool.content_hash) return false;
    for (const f of b.pool.files) {
      const st = await stat(join(dir, f.path)).catch(() => null);
      if (!st?.isFile() || st.size !== f.bytes) return false;
      if ((await hashFileCached(join(dir, f.path))).sha256 !== f.sha256) return false;
    }
    return true;
  }

  private async complete(dir: string, b: ChallengeBundle): Promise<boolean> {
    if (!(await stat(join(dir, '.complete')).then(() => true, () => false))) return false;
    for (const f of b.pool.files) {
      const st = await stat(join(dir, f.path)).catch(() => null);
      if (!st?.isFile() || st.size !== f.bytes) return false;
    }
    return true;
  }

  private async touch(dir: string): Promise<void> {
    const t = new Date();
    await writeFile(join(dir, '.complete'), '').catch(() => {});
    await utimes(join(dir, '.complete'), t, t).catch(() => {});
  }

  private async build(dir: string, b: ChallengeBundle): Promise<void> {
    const root = join(this.opts.cacheDir, 'pools');
    await mkdir(root, { recursive: true });
    const tmp = join(root, `.tmp-${b.pool.content_hash.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    await mkdir(tmp);
    const t0 = performance.now();
    let fetched = 0;
    try {
      await writeFile(join(tmp, 'pool.json'), b.pool.manifest);
      for (const f of b.pool.files) {
        const out = join(tmp, f.path);
        await mkdir(join(out, '..'), { recursive: true });
        await this.download(f, out);
        fetched += f.bytes;
      }
      await writeFile(join(tmp, '.complete'), '');
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    this.opts.log?.({ event: 'pool-fetched', pool: b.pool.name, content_hash: b.pool.content_hash, bytes: fetched, files: b.pool.files.length, seconds: Number(((performance.now() - t0) / 1000).toFixed(3)) });
  }

  /** Streams one file from the server to `out`, hashing it on the way; a mismatch removes it and throws. */
  private async download(f: ChallengeBundle['pool']['files'][number], out: string): Promise<void> {
    const r = await this.fetch(`/internal/files/${f.sha256}`);
    if (!r.body) throw new SieveError(`the server sent no bytes for ${f.path}`, { where: '--server' });
    const h = createHash('sha256');
    let n = 0;
    const count = new Transform({ transform(chunk: Buffer, _e, cb) { h.update(chunk); n += chunk.length; cb(null, chunk); } });
    await pipeline(Readable.fromWeb(r.body as import('node:stream/web').ReadableStream), count, createWriteStream(out));
    const got = h.digest('hex');
    if (got !== f.sha256 || n !== f.bytes) {
      await rm(out, { force: true });
      throw new SieveError(`pool file ${f.path} from the server does not match its manifest: ${n} bytes, sha256 ${got.slice(0, 16)}… (the manifest records ${f.bytes} bytes, ${f.sha256.slice(0, 16)}…)`, { where: f.path });
    }
  }

  /** One eviction at a time (a job's end and a pool's build may both ask). */
  private evictSoon(idle: boolean): Promise<void> {
    this.evicting = this.evicting.then(() => this.evict(idle && this.active === 0)).catch((err: Error) => {
      this.opts.log?.({ event: 'cache-over-limit', error: err.message, limit: this.opts.maxBytes });
    });
    return this.evicting;
  }

  /**
   * Removes the least recently used entries until the whole cache folder fits its limit: pools
   * (not in use) and evaluate entries always; variant pools and findings only when `idle`.
   */
  async evict(idle = this.active === 0): Promise<void> {
    const root = this.opts.cacheDir;
    const entries: { path: string; used: number; bytes: number; removable: boolean; pool?: string }[] = [];
    const pools = join(root, 'pools');
    for (const name of await readdir(pools).catch(() => [] as string[])) {
      if (!HEX64.test(name)) continue;
      const used = await stat(join(pools, name, '.complete')).then((s) => s.mtimeMs, () => 0);
      entries.push({ path: join(pools, name), used, bytes: await folderBytes(join(pools, name)), removable: (this.inUse.get(name) ?? 0) === 0, pool: name });
    }
    const evaluate = join(root, 'evaluate');
    for (const name of await readdir(evaluate).catch(() => [] as string[])) {
      if (!name.endsWith('.arr') || name.startsWith('.')) continue;
      const st = await stat(join(evaluate, name)).catch(() => null);
      if (st?.isFile()) entries.push({ path: join(evaluate, name), used: st.mtimeMs, bytes: st.size, removable: true });
    }
    for (const part of ['variants', join('variants', '.findings'), 'findings']) {
      const dir = join(root, part);
      for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (e.name === '.findings' && part === 'variants') continue;
        const path = join(dir, e.name);
        const st = await stat(path).catch(() => null);
        if (!st) continue;
        entries.push({ path, used: st.mtimeMs, bytes: st.isDirectory() ? await folderBytes(path) : st.size, removable: idle });
      }
    }
    let total = entries.reduce((a, e) => a + e.bytes, 0);
    for (const e of entries.sort((a, b) => a.used - b.used)) {
      if (total <= this.opts.maxBytes) break;
      if (!e.removable) continue;
      await rm(e.path, { recursive: true, force: true });
      total -= e.bytes;
      this.opts.log?.({ event: 'cache-evicted', path: e.path, ...(e.pool ? { content_hash: e.pool } : {}), bytes: e.bytes });
    }
    if (total > this.opts.maxBytes) this.opts.log?.({ event: 'cache-over-limit', bytes: total, limit: this.opts.maxBytes, ...(idle ? {} : { note: 'variant pools and findings are removed once no job runs' }) });
  }
}

async function folderBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? await folderBytes(p) : (await stat(p).catch(() => null))?.size ?? 0;
  }
  return n;
}
