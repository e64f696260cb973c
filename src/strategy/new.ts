/**
 * `sieve strategy new`: writes a starting strategy file (src/strategy/template.ts) through a
 * temporary file and a rename, and never over an existing file.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { withFileAtomically } from '../util/atomic.ts';
import { SieveError } from '../util/errors.ts';
import { PACKAGE_ROOT } from '../util/package-root.ts';
import { strategyTemplate, type TemplateKind, type TemplateTask } from './template.ts';

const EXTENSION: Record<TemplateKind, string> = { sql: '.sql', ts: '.ts' };

/** Where `new NAME` writes: NAME.ext, or NAME itself when it already ends in the kind's extension. */
export function newStrategyPath(name: string, kind: TemplateKind): string {
  const ext = extname(name).toLowerCase();
  if (ext === EXTENSION[kind]) return resolve(name);
  if (ext === '.sql' || ext === '.ts' || ext === '.mts' || ext === '.mjs' || ext === '.js') {
    throw new SieveError(`"${name}" ends in ${ext}, but --kind ${kind} writes a ${EXTENSION[kind]} file`, {
      where: 'sieve strategy new',
      examples: [`sieve strategy new ${name.slice(0, -ext.length)} --kind ${kind}`],
    });
  }
  return resolve(name + EXTENSION[kind]);
}

/** The specifier of the package's src/strategy/context.ts from `dir`, when the sources are there. */
function contextImportFrom(dir: string): string | null {
  const context = join(PACKAGE_ROOT, 'src', 'strategy', 'context.ts');
  if (!existsSync(context)) return null;
  const rel = relative(dir, context).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

export async function writeNewStrategy(name: string, kind: TemplateKind, task: TemplateTask): Promise<{ path: string }> {
  const path = newStrategyPath(name, kind);
  const stem = basename(path, extname(path));
  if (!/^[A-Za-z0-9][\w.-]*$/.test(stem)) {
    throw new SieveError(`"${stem}" is not a usable strategy name`, { where: 'sieve strategy new', examples: ['letters, digits, "-", "_" and "."; starting with a letter or digit'] });
  }
  const refuse = () =>
    new SieveError(`${path} already exists; sieve strategy new never overwrites a file`, {
      where: 'sieve strategy new',
      examples: ['give another name, or remove the file first'],
    });
  if (existsSync(path)) throw refuse();
  const text = strategyTemplate(stem, kind, task, kind === 'ts' ? contextImportFrom(dirname(path)) : null);
  await withFileAtomically(
    path,
    async (tmp) => {
      // Checked again under the writer's lock: another process may have created it meanwhile.
      if (existsSync(path)) throw refuse();
      await writeFile(tmp, text, { flag: 'wx' });
    },
    { option: 'NAME' },
  );
  return { path };
}
