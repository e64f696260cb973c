/**
 * The parts of the docs that list the fixed models, generated from the model registry
 * (evaluator/models/registry.ts): each model's parameter table in docs/evaluator.md, between
 * `<!-- params: KIND -->` and `<!-- /params -->`, the `model.kind` row of docs/challenges.md and
 * the `--model` choices in docs/audit.md. test/models-registry.test.ts fails when the docs
 * differ; `npm run docs:models` rewrites them.
 *
 *   node --import tsx scripts/model-docs.ts          # rewrite the docs
 *   node --import tsx scripts/model-docs.ts --check  # exit 1 when they are out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getModel, MODEL_KINDS } from '../evaluator/models/registry.ts';
import type { Model, ParamSpec } from '../evaluator/types.ts';

const DOCS = new URL('../docs/', import.meta.url);

const cell = (s: string): string => s.replace(/\|/g, '\\|');

function allowed(p: ParamSpec): string {
  switch (p.type) {
    case 'boolean': return '`true`, `false`';
    case 'choice': return p.values.map((v) => `\`${v}\``).join(', ');
    case 'number': {
      const kind = p.integer ? 'integer ' : 'number ';
      const lo = p.min === undefined ? undefined : `${p.exclusiveMin ? '>' : '≥'} ${p.min}`;
      if (lo !== undefined && p.max !== undefined) return `${kind}${lo}, ≤ ${p.max}`;
      if (lo !== undefined) return `${kind}${lo}`;
      if (p.max !== undefined) return `${kind}≤ ${p.max}`;
      return kind.trim();
    }
  }
}

function shownDefault(p: ParamSpec): string {
  return p.type === 'choice' ? `\`${p.default}\`` : String(p.default);
}

/** The parameter table of one model (what its file declares). */
export function paramTable(model: Model): string {
  const rows = Object.entries(model.params).map(([name, p]) => `| \`${name}\` | ${shownDefault(p)} | ${cell(allowed(p))} | ${cell(p.doc)} |`);
  return ['| param | default | allowed | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** One row per model: what the registry knows of it besides its parameters. */
export function modelsTable(): string {
  const params = (p: Record<string, unknown>) => Object.entries(p).map(([k, v]) => `${k} ${v}`).join(', ');
  const rows = MODEL_KINDS.map((kind) => {
    const m = getModel(kind);
    return `| \`${kind}\` | ${m.title} | ${m.seedless ? 'no' : 'yes'} | ${m.warmStarts ? 'yes' : 'no (cold refits)'} | ` +
      `${m.iterationLimit === undefined ? '–' : `\`${m.iterationLimit}\``} | ${cell(params(m.auditDefaults.tabular))} | ${cell(params(m.auditDefaults.vectors))} |`;
  });
  return [
    '| kind | model | uses the seed | ranking curve warm-starts | iteration limit (stops early otherwise) | audit default, tabular | audit default, pixels / embeddings |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** `logistic-regression` \| `knn` \| `mlp`: the kinds as a table cell. */
export function kindsCell(): string {
  return MODEL_KINDS.map((k) => `\`${k}\``).join(' \\| ');
}

function replaceBetween(text: string, open: string, body: string): string {
  const at = text.indexOf(open);
  if (at < 0) throw new Error(`docs/evaluator.md has no "${open}" marker`);
  const close = text.indexOf('<!-- /models -->', at);
  if (close < 0) throw new Error(`docs/evaluator.md: "${open}" is not closed by <!-- /models -->`);
  return `${text.slice(0, at + open.length)}\n${body}\n${text.slice(close)}`;
}

interface DocEdit { file: string; apply(text: string): string }

const EDITS: DocEdit[] = [
  {
    file: 'evaluator.md',
    apply: (text) => {
      let out = replaceBetween(text, '<!-- models -->', modelsTable());
      for (const kind of MODEL_KINDS) {
        const open = `<!-- params: ${kind} -->`;
        const at = out.indexOf(open);
        if (at < 0) throw new Error(`docs/evaluator.md has no "${open}" marker for the model ${kind}`);
        const close = out.indexOf('<!-- /params -->', at);
        if (close < 0) throw new Error(`docs/evaluator.md: "${open}" is not closed by <!-- /params -->`);
        out = `${out.slice(0, at + open.length)}\n${paramTable(getModel(kind))}\n${out.slice(close)}`;
      }
      return out;
    },
  },
  {
    file: 'challenges.md',
    apply: (text) => text.replace(/^\| `model\.kind` \| [^\n]*? \| the fixed model/m, `| \`model.kind\` | ${kindsCell()} | the fixed model`),
  },
  {
    file: 'audit.md',
    apply: (text) => text.replace(/\[--model [a-z|-]+\]/, `[--model ${MODEL_KINDS.join('|')}]`),
  },
];

/** Each doc file with its current text and the text the registry gives. */
export function modelDocs(): { file: string; current: string; expected: string }[] {
  return EDITS.map((e) => {
    const current = readFileSync(new URL(e.file, DOCS), 'utf8');
    return { file: `docs/${e.file}`, current, expected: e.apply(current) };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const d of modelDocs()) {
    if (d.current === d.expected) continue;
    stale++;
    if (check) console.error(`${d.file} is out of date with the model registry (npm run docs:models)`);
    else { writeFileSync(new URL(d.file.slice('docs/'.length), DOCS), d.expected); console.log(`wrote ${d.file}`); }
  }
  if (check && stale) process.exit(1);
}
