/**
 * The rest of a participant's side of a challenge server (docs/server.md), beside `sieve
 * submit` and `sieve status`: `sieve register NAME` (an account and its token), `sieve
 * download CHALLENGE` (the pool's participant files, sha256-checked) and `sieve leaderboard
 * CHALLENGE` (the public board, and the private one once the challenge has closed).
 */
import type { Command } from 'commander';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SieveError, fsError } from '../util/errors.ts';
import { fmt, printJson, printTable, printWrapped } from '../util/output.ts';

function serverOf(opts: { server?: string }): string {
  const server = opts.server ?? process.env.SIEVE_SERVER;
  if (!server) throw new SieveError('no server: give --server URL or set SIEVE_SERVER', { where: '--server' });
  return server;
}

const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? fmt(x) : 'n/a');
const interval = (ci: unknown) => (Array.isArray(ci) && ci.length === 2 ? `[${num(ci[0])}, ${num(ci[1])}]` : 'n/a');

/** "tied" (not significantly different from the leader), "below", or why the pair could not be compared. */
function tieText(tied: unknown, vs: unknown, leader: boolean): string {
  if (leader) return 'leader';
  const c = vs as { p_holm?: number; p_value?: number } | null;
  // One comparison needs no correction: its p is the plain one ("Holm p" beside "none needed" misled).
  const label = c?.p_holm !== undefined && c.p_holm === c.p_value ? 'p' : 'Holm p';
  if (tied === true) return `tied (${label} ${num(c?.p_holm)})`;
  if (tied === false) return `below (${label} ${num(c?.p_holm)})`;
  if (tied === null) return 'not comparable';
  return '–';
}

export function register(program: Command): void {
  program
    .command('register')
    .description('create an account on a challenge server; prints its API token (shown once) on stdout')
    .argument('<name>', 'your name on the leaderboard (1-64 letters, digits, spaces, ".", "_" or "-")')
    .option('--server <url>', 'the challenge server (default: $SIEVE_SERVER)')
    .option('--json', 'print JSON')
    .addHelpText('after', `
The token alone goes to stdout (what to do with it goes to stderr), so a shell can keep it:
  export SIEVE_SERVER=http://127.0.0.1:8080
  export SIEVE_TOKEN=$(sieve register ada)`)
    .action(async (name: string, opts: { server?: string; json?: boolean }) => {
      const server = serverOf(opts);
      const client = await import('../server/client.ts');
      const r = await client.registerParticipant(server, name);
      if (opts.json) return printJson(r);
      process.stderr.write(`registered "${r.participant.name}" (${r.participant.id}) on ${server}; the token below is shown once and the server keeps only a salted hash of it.\n`
        + 'Keep it (export SIEVE_TOKEN=…, or a file only you can read); sign in to the web pages with it too.\n');
      console.log(r.token);
    });

  program
    .command('download')
    .description("download a challenge's participant files (pool.json and the train split, or the split as Arrow IPC) from a server, sha256-checked")
    .argument('<challenge>', 'challenge name on the server')
    .option('--server <url>', 'the challenge server (default: $SIEVE_SERVER)')
    .option('--out <dir>', 'folder to write them to (default: ./<pool name>)')
    .option('--format <format>', 'parquet: pool.json and the splits as the pool stores them; arrow: the splits as Arrow IPC files (column kinds in their metadata)', 'parquet')
    .option('--json', 'print JSON')
    .action(async (challenge: string, opts: { server?: string; out?: string; format: string; json?: boolean }) => {
      const server = serverOf(opts);
      if (opts.format !== 'parquet' && opts.format !== 'arrow') throw new SieveError(`--format must be parquet or arrow, got "${opts.format}"`, { where: '--format' });
      const client = await import('../server/client.ts');
      const listing = await client.poolFiles(server, challenge, opts.format);
      const out = resolve(opts.out ?? listing.pool);
      await mkdir(out, { recursive: true }).catch((err) => { throw fsError(err, 'create the folder', out) ?? err; });
      const written: { name: string; bytes: number; sha256: string }[] = [];
      for (const f of listing.files) {
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(f.name)) throw new SieveError(`the server named a file "${f.name}": not a plain file name`, { where: server });
        const bytes = await client.downloadPoolFile(server, challenge, f.name);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        if (f.sha256 && sha256 !== f.sha256) throw new SieveError(`${f.name}: the bytes received hash to ${sha256}, the server lists ${f.sha256}`, { where: server, examples: ['nothing was written for this file; try again'] });
        // Temporary file and rename: a half-downloaded file never has the real name.
        const target = join(out, f.name);
        const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
        try {
          await writeFile(tmp, bytes);
          await rename(tmp, target);
        } catch (err) {
          await rm(tmp, { force: true });
          throw fsError(err, 'write', target) ?? err;
        }
        written.push({ name: f.name, bytes: bytes.length, sha256 });
      }
      if (opts.json) return printJson({ challenge, pool: listing.pool, content_hash: listing.content_hash, format: opts.format, folder: out, files: written });
      printTable(['file', 'bytes', 'sha256'], written.map((w) => [w.name, w.bytes, w.sha256.slice(0, 16) + '…']));
      console.log(`pool ${listing.pool} → ${out} (participant files only: the test rows stay on the server)`);
      if (opts.format === 'arrow') printWrapped(`Arrow IPC files: read them with pyarrow or apache-arrow, or make a pool of one with sieve pool import ${join(out, 'train.arrow')} --out DIR`);
    });

  program
    .command('leaderboard')
    .description("a challenge's leaderboard on a server: public ranks with 95% intervals and ties with the leader; final ranks once it has closed")
    .argument('<challenge>', 'challenge name on the server')
    .option('--server <url>', 'the challenge server (default: $SIEVE_SERVER)')
    .option('--json', 'print JSON')
    .action(async (challenge: string, opts: { server?: string; json?: boolean }) => {
      const server = serverOf(opts);
      const client = await import('../server/client.ts');
      const lb = await client.fetchLeaderboard(server, challenge);
      if (opts.json) return printJson(lb);
      const closed = lb.entries.some((e) => e.private_rank !== undefined);
      const p = lb.primary.name;
      console.log(`${lb.challenge}: ${lb.part} leaderboard, ranked by ${p} (${lb.primary.direction === 'max' ? 'higher' : 'lower'} is better)`);
      if (!lb.entries.length) return console.log('no scored submission yet');
      const rows = [...lb.entries].sort((a, b) => (closed ? Number(a.private_rank) - Number(b.private_rank) : a.rank - b.rank));
      // Closed: the final (private) figures first, which decide the ranks; a narrow terminal drops
      // the columns at the right, so those are the public ones. Other metrics are public figures.
      const move = (e: (typeof rows)[number]) => (typeof e.move === 'number' ? (e.move > 0 ? `+${e.move}` : e.move === 0 ? '=' : String(e.move)) : '–');
      const publicCells = (e: (typeof rows)[number]) => [num(e.primary.mean), interval(e.primary.ci95), tieText(e.tied_with_leader, e.vs_leader, e.rank === 1)];
      printTable(
        closed
          ? ['final', 'participant', `${p} (private)`, '95% CI (private)', 'vs leader (private)', 'move', 'public rank', `${p} (public)`, '95% CI (public)', 'vs leader (public)', ...lb.columns.map((n) => `${n} (public)`), 'subs']
          : ['rank', 'participant', `${p} (public)`, '95% CI', 'vs leader', ...lb.columns, 'subs'],
        rows.map((e) => closed
          ? [e.private_rank as number, e.participant, num(e.private_mean), interval(e.private_ci95), tieText(e.private_tied_with_leader, e.private_vs_leader, e.private_rank === 1),
            move(e), e.rank, ...publicCells(e), ...lb.columns.map((n) => num(e.metrics[n])), e.submissions]
          : [e.rank, e.participant, ...publicCells(e), ...lb.columns.map((n) => num(e.metrics[n])), e.submissions]),
      );
      for (const s of [lb.significance, lb.private_significance] as ({ part?: string; method?: string; correction?: string } | undefined)[]) {
        if (s?.method) printWrapped(`${s.part ?? ''} ties: ${s.method}; ${s.correction ?? ''}`.trim());
      }
    });
}
