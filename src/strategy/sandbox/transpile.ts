/**
 * Turns a strategy file into the one plain-JavaScript module the child runs, in the parent,
 * with esbuild: TypeScript types are stripped (not checked: run `tsc` yourself for that),
 * and a source map is inlined so stack traces name the strategy's own lines. A strategy is
 * one file: any import other than a Node built-in is refused here, with its line, because
 * the child may read nothing but its run directory. `import type` lines are erased and so
 * allowed. Built-ins are left to the permission model (node:fs reads only the context
 * directory, node:child_process cannot spawn, ...).
 *
 * Also bundles the child entry (child.ts with the helper library and the seeded RNG) into one
 * file, once per process.
 */
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message, type Plugin } from 'esbuild';
import { SieveError } from '../../util/errors.ts';

function describe(messages: Message[], file: string): string[] {
  return messages.slice(0, 10).map((m) => {
    const loc = m.location;
    return loc ? `${basename(file)}:${loc.line}:${loc.column + 1}: ${m.text}${loc.lineText ? ` (${loc.lineText.trim().slice(0, 120)})` : ''}` : m.text;
  });
}

const oneFileOnly: Plugin = {
  name: 'sieve-strategy-one-file',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      return {
        errors: [
          {
            text: `import of "${args.path}" is not allowed: a strategy is one file and may import only Node built-ins (the helper library is ctx.helpers)`,
          },
        ],
      };
    });
  },
};

/** The strategy's JavaScript (ESM), or a SieveError listing its syntax errors or refused imports. */
export async function transpileStrategy(path: string, text: string): Promise<string> {
  const ext = extname(path).toLowerCase();
  const loader = ext === '.ts' || ext === '.mts' ? 'ts' : 'js';
  // Nothing is resolved from it (only built-ins are allowed): an upload named by its file name alone gets any real directory.
  const dir = isAbsolute(path) ? dirname(path) : tmpdir();
  try {
    const r = await build({
      stdin: { contents: text, loader, sourcefile: basename(path), resolveDir: dir },
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      sourcesContent: false,
      plugins: [oneFileOnly],
      logLevel: 'silent',
      absWorkingDir: dir,
    });
    return r.outputFiles[0].text;
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    if (!errors?.length) throw err;
    const refused = errors.some((e) => e.text.startsWith('import of '));
    throw new SieveError(refused ? 'the strategy imports something other than a Node built-in' : 'the strategy does not compile', {
      where: path,
      examples: describe(errors, path),
      count: errors.length,
    });
  }
}

let childBundle: Promise<string> | undefined;

/**
 * child.ts and everything it imports, as one ESM file (built once per process). From the
 * compiled dist/ (the command; an installed package has no sources) this module is transpile.js
 * and the entry is child.js beside it; from the sources (tests) it is child.ts.
 */
export function bundledChild(): Promise<string> {
  const self = fileURLToPath(import.meta.url);
  childBundle ??= build({
    entryPoints: [join(dirname(self), self.endsWith('.ts') ? 'child.ts' : 'child.js')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
    external: ['node:*'],
  }).then((r) => r.outputFiles[0].text);
  return childBundle;
}
