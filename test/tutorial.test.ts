/**
 * docs/tutorial.md as written: every ```sh block, in order, run by bash in one working folder
 * (exported variables carry from block to block, as in one terminal), against a real
 * `sieve serve` on a random port. So the page cannot drift from what works.
 *
 * What the harness changes, and nothing else: `sieve` is the clone's bin/sieve.mjs (a wrapper
 * first on PATH, as `npm install -g` would give), port 8080 becomes a free port, and a command
 * line ending in `&` (the server) is started by the harness, which waits for its "listening
 * on" line and stops it at the end. A block right after `<!-- tutorial-test: skip -->` is not
 * run (installing sieve). `<!-- tutorial-test: expect REGEX -->` right after a block checks
 * that block's output.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

interface Block {
  /** 1-based line of the opening fence in the markdown. */
  line: number;
  code: string;
  expect: RegExp[];
}

/** The runnable blocks of a markdown page: ```sh fences, minus those marked skip, with their expectations. */
export function tutorialBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let skipNext = false;
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!--\s*tutorial-test:\s*(skip|expect\s+(.*?))\s*-->\s*$/.exec(lines[i]);
    if (marker) {
      if (marker[1] === 'skip') skipNext = true;
      else if (blocks.length) blocks[blocks.length - 1].expect.push(new RegExp(marker[2]));
      continue;
    }
    const fence = /^(```+|~~~+)(\S*)/.exec(lines[i]);
    if (!fence) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].startsWith(fence[1]); i++) body.push(lines[i]);
    if (fence[2] === 'sh' && !skipNext) blocks.push({ line: start + 1, code: body.join('\n'), expect: [] });
    skipNext = false;
  }
  return blocks;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((ok) => {
    const p = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    p.once('exit', (code) => ok({ code: code ?? 1, out }));
  });
}

const background: ChildProcess[] = [];
let work: string | undefined;

afterAll(async () => {
  for (const p of background) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const gone = new Promise((ok) => p.once('exit', ok));
    p.kill('SIGTERM');
    await gone;
  }
  if (work) await rm(work, { recursive: true, force: true });
});

describe('docs/tutorial.md', () => {
  it('finds the blocks it runs, the skipped one and the expectations', async () => {
    const blocks = tutorialBlocks(await readFile(join(ROOT, 'docs', 'tutorial.md'), 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    expect(blocks.some((b) => /sieve serve --init/.test(b.code))).toBe(true);
    expect(blocks.some((b) => /&\s*$/m.test(b.code))).toBe(true);
    expect(blocks.flatMap((b) => b.expect).length).toBeGreaterThanOrEqual(3);
    expect(blocks.some((b) => /npm (ci|install)/.test(b.code))).toBe(false); // installing is not run
    // The class ends as the page says: the organiser closes the challenge and the private board, with moves, is read.
    const close = blocks.findIndex((b) => /^sieve challenge close class-teach --token "\$ORGANISER_TOKEN"$/m.test(b.code));
    expect(close).toBeGreaterThan(0);
    expect(blocks[close].code).toMatch(/^sieve leaderboard class-teach$/m);
    expect(blocks[close].expect.map(String).join(' ')).toMatch(/move/);
    expect(tutorialBlocks('<!-- tutorial-test: skip -->\n```sh\nfalse\n```\n```sh\ntrue\n```\n<!-- tutorial-test: expect ^ok -->\n```text\nno\n```').map((b) => [b.code, b.expect.map(String)]))
      .toEqual([['true', ['/^ok/']]]);
  });

  it('runs as written, end to end, against a real server', async () => {
    const blocks = tutorialBlocks(await readFile(join(ROOT, 'docs', 'tutorial.md'), 'utf8'));
    work = await mkdtemp(join(tmpdir(), 'sieve-tutorial-'));
    const bin = join(work, '.bin');
    await mkdir(bin);
    await writeFile(join(bin, 'sieve'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin', 'sieve.mjs')}" "$@"\n`);
    await chmod(join(bin, 'sieve'), 0o755);
    const port = String(await freePort());
    const envFile = join(work, '.env.sh');
    await writeFile(envFile, '');
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, CI: '1' };
    for (const block of blocks) {
      const code = block.code.replace(/\b8080\b/g, port);
      const lines = code.split('\n');
      const servers = lines.filter((l) => /&\s*(#.*)?$/.test(l) && !/&&\s*(#.*)?$/.test(l));
      const rest = lines.filter((l) => !servers.includes(l)).join('\n');
      for (const line of servers) {
        const p = spawn('bash', ['-c', `set -a; . ${envFile}; set +a; exec ${line.replace(/&\s*(#.*)?$/, '')}`], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
        background.push(p);
        let log = '';
        await new Promise<void>((ok, fail) => {
          const timer = setTimeout(() => fail(new Error(`docs/tutorial.md:${block.line}: "${line}" did not start listening:\n${log}`)), 60_000);
          const watch = (d: Buffer) => {
            log += d.toString();
            if (/listening on http/.test(log)) { clearTimeout(timer); ok(); }
          };
          p.stdout!.on('data', watch);
          p.stderr!.on('data', watch);
          p.once('exit', (c) => { clearTimeout(timer); fail(new Error(`docs/tutorial.md:${block.line}: "${line}" exited ${c}:\n${log}`)); });
        });
        p.removeAllListeners('exit');
        p.stdout!.resume();
        p.stderr!.resume();
      }
      // One terminal: what earlier blocks exported is set again, and what this one exports is kept.
      const script = `set -euo pipefail\nset -a; . ${envFile}; set +a\n${rest}\n{ export -p | grep -E '^declare -x (SIEVE_|ORGANISER_)' || true; } > ${envFile}.new; mv ${envFile}.new ${envFile}\n`;
      const r = await bash(script, work, env);
      expect(r.code, `docs/tutorial.md:${block.line} failed:\n${code}\n--- output ---\n${r.out}`).toBe(0);
      for (const re of block.expect) expect(r.out, `docs/tutorial.md:${block.line}: output does not match ${re}`).toMatch(re);
    }
    expect(background.length).toBeGreaterThanOrEqual(1);
  }, 600_000);
});
