/**
 * A job child whose parent dies (a SIGKILLed server or worker) ends at once, even with its main
 * thread busy (it used to run on for ~25 s: the IPC disconnect waits for a free main thread).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

it('a job child with a busy main thread dies when the pipe from its parent closes', async () => {
  const childModule = join(import.meta.dirname, '..', 'src', 'util', 'parent-watchdog.ts');
  const script = `import { watchParent } from ${JSON.stringify(childModule)}; watchParent(); process.send?.('ready'); setTimeout(() => { for (;;) {} }, 50);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit', 'ipc', 'pipe'] });
  await new Promise<void>((ok) => child.once('message', () => ok()));
  await new Promise((r) => setTimeout(r, 300)); // its main thread is spinning now
  expect(alive(child.pid!)).toBe(true);
  const gone = new Promise<string | null>((ok) => child.once('exit', (_code, signal) => ok(signal)));
  const t0 = Date.now();
  (child.stdio[4] as NodeJS.WritableStream & { destroy(): void }).destroy();
  expect(await gone).toBe('SIGKILL');
  expect(Date.now() - t0).toBeLessThan(2000);
}, 30_000);
