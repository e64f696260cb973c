/**
 * The operating-system layer of the code sandbox. Node 20's permission model stops file,
 * process, worker and addon access but not sockets (nor signals to other processes), so the
 * child also runs in fresh Linux namespaces made by util-linux's `unshare`:
 *   --net   a network namespace holding only a loopback device that is down: no socket can
 *           reach any host, 127.0.0.1 included;
 *   --pid   a PID namespace (with --fork): the child cannot signal processes outside it
 *           (no `process.kill(-1)`, no killing sieve);
 *   --ipc, --uts  no System V IPC or hostname shared with the host.
 * As root `unshare` makes them directly; otherwise through a user namespace (--map-root-user,
 * the child is "root" only inside it). Each candidate is probed once by running Node inside
 * it and checking that it sees no network interface. Where none works the runner refuses
 * untrusted code unless the user passes --allow-network-unsandboxed (src/strategy/code.ts).
 * The resource limits (prlimit) come from the same util-linux.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface IsolationLayer {
  name: 'unshare';
  /** What it isolates, for messages and result records. */
  description: string;
  /** argv prefix: the layer's program and flags; the command follows. */
  prefix: string[];
}

/** First executable `name` in PATH or the usual system directories. */
export function findProgram(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return null;
}

const NAMESPACES = ['--net', '--pid', '--fork', '--kill-child', '--ipc', '--uts'];

/** Probe: inside the namespace Node must see no network interface with an address. */
const PROBE = "const i=Object.values(require('os').networkInterfaces()).flat();process.exit(i.length===0?0:3)";

let cached: { layer: IsolationLayer | null; reason: string } | undefined;

/** The OS layer this machine supports (probed once per process), or null with the reason. */
export function detectLayer(): { layer: IsolationLayer | null; reason: string } {
  if (cached) return cached;
  const unshare = findProgram('unshare');
  if (process.platform !== 'linux') return (cached = { layer: null, reason: `no network namespaces on ${process.platform}` });
  if (!unshare) return (cached = { layer: null, reason: 'util-linux `unshare` is not installed' });
  const candidates: { flags: string[]; description: string }[] = [];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) candidates.push({ flags: NAMESPACES, description: 'unshare: network, PID, IPC and UTS namespaces' });
  candidates.push({ flags: ['--map-root-user', ...NAMESPACES], description: 'unshare: user, network, PID, IPC and UTS namespaces' });
  const failures: string[] = [];
  for (const c of candidates) {
    const prefix = [unshare, ...c.flags, '--'];
    const r = spawnSync(prefix[0], [...prefix.slice(1), process.execPath, '-e', PROBE], { encoding: 'utf8', timeout: 15_000, env: {} });
    if (r.status === 0) return (cached = { layer: { name: 'unshare', description: c.description, prefix }, reason: '' });
    const why = r.status === 3 ? 'a network interface is still visible' : (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0];
    failures.push(`unshare ${c.flags.join(' ')}: ${why}`);
  }
  return (cached = { layer: null, reason: failures.join('; ') });
}
