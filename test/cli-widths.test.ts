/**
 * Printed prose fits 120 columns in a pipe (the width tables are fitted to): help texts (Commander
 * wraps descriptions at the terminal width, or 120), the `variants` line of `sieve evaluate`,
 * the `pool list` footer. Long lines are wrapped with printWrapped, never cut.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { commands } from '../src/cli/commands.ts';
import { openPool, readSplit } from '../src/pool/read.ts';

const dir = mkdtempSync(join(tmpdir(), 'sieve-widths-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
delete env.COLUMNS;
const sieve = (...args: string[]) =>
  spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sieve.mjs'), ...args], { encoding: 'utf8', env });

function expectNarrow(out: string, what: string): void {
  for (const line of out.split('\n')) expect([...line].length, `${what}: ${line}`).toBeLessThanOrEqual(120);
}

describe('printed prose fits 120 columns', () => {
  it('help of every command', () => {
    // The launcher sets the help width (src/cli/main.ts) ...
    const root = sieve('--help');
    expect(root.status).toBe(0);
    expectNarrow(root.stdout, 'sieve --help');
    expect(root.stdout).toMatch(/^ {2}baselines /m);
    // ... and every command's help, after-texts included, fits it (in-process: one spawn per command is slow).
    const program = new Command('sieve').configureHelp({ helpWidth: 120 });
    for (const register of commands) register(program);
    const walk = (cmd: Command, path: string): number => {
      let text = '';
      cmd.configureOutput({ writeOut: (s) => { text += s; }, writeErr: (s) => { text += s; } });
      cmd.outputHelp();
      expectNarrow(text, `${path} --help`);
      return 1 + cmd.commands.reduce((n, c) => n + walk(c, `${path} ${c.name()}`), 0);
    };
    expect(walk(program, 'sieve')).toBeGreaterThan(20);
  });

  it('the pool list footer and the variants note of sieve evaluate (wrapped, words intact)', async () => {
    const list = sieve('pool', 'list');
    expect(list.status, list.stderr).toBe(0);
    expectNarrow(list.stdout, 'pool list');
    expect(list.stdout.replace(/\s+/g, ' ')).toContain('`sieve pool import FILE --name NAME` adds to the first workspace; --json gives every directory');

    const train = await readSplit(await openPool('synth-teach'), 'train', { columns: [] });
    const ids = join(dir, 'ids.txt');
    writeFileSync(ids, train.ids.slice(0, 200).join('\n') + '\n');
    const r = sieve('evaluate', 'synth-teach', ids);
    expect(r.status, r.stderr).toBe(0);
    expectNarrow(r.stdout, 'evaluate');
    expect(r.stdout).toMatch(/^variants {4}\S/m);
    expect(r.stdout).toMatch(/^ {12}\S/m); // the note goes on under its label
  });
});
