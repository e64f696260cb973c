/**
 * challenge.yaml cases: a built-in challenge's YAML, mutated with YAML's own hazards (alias
 * bombs and recursion, unknown and standard tags, duplicate keys, deep nesting, merge keys,
 * several documents, tabs) and with bad values (every spelling of NaN and infinity, huge,
 * negative and mixed-type numbers), then damaged at the byte level. Half the cases go through
 * parseChallengeText, half through loadChallenge on a file (which also sees invalid UTF-8).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, deriveSeed } from '../../compute/rng.ts';
import { byteMutation, pickByteMutation } from './bytes.ts';
import type { ChallengeCall, FuzzCase } from './cases.ts';
import { formatOfSeed } from './formats.ts';
import { ACCEPT, EITHER, afterBytes, reject, type Expect } from './oracle.ts';
import { chance, pick, utf8, weighted, type Rng } from './random.ts';

const CHALLENGES_DIR = fileURLToPath(new URL('../../challenges/', import.meta.url));
let bases: string[] | undefined;
function baseTexts(): string[] {
  bases ??= readdirSync(CHALLENGES_DIR)
    .sort()
    .map((d) => join(CHALLENGES_DIR, d, 'challenge.yaml'))
    .map((p) => readFileSync(p, 'utf8'));
  return bases;
}

/** Replaces the first line matching `re` (a whole `key: value` line) with `f(line)`; null when absent. */
function editLine(text: string, re: RegExp, f: (line: string, m: RegExpExecArray) => string): string | null {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = re.exec(lines[i]);
    if (m) {
      lines[i] = f(lines[i], m);
      return lines.join('\n');
    }
  }
  return null;
}

function aliasBomb(rng: Rng): string {
  const levels = pick(rng, [6, 9, 12]);
  const width = pick(rng, [9, 10]);
  const out = ['x0: &x0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let l = 1; l < levels; l++) out.push(`x${l}: &x${l} [${Array(width).fill(`*x${l - 1}`).join(', ')}]`);
  return `bomb:\n${out.map((s) => `  ${s}`).join('\n')}\n`;
}

const NONFINITE_YAML = ['.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '-.inf', '+.inf', '-.Inf', 'nan', 'NaN', 'inf', '-inf', 'Infinity', '-Infinity', '1e999', '-1e999'];

const CH_MUTATIONS = [
  'alias-bomb', 'alias-benign', 'alias-recursive', 'alias-undefined', 'tag-unknown', 'tag-std', 'duplicate-key', 'duplicate-nested-key',
  'deep-nesting', 'nonfinite', 'huge-number', 'negative-number', 'mixed-types', 'yaml11-bool', 'merge-key', 'multi-doc', 'tabs',
  'long-string', 'unicode', 'not-mapping', 'only-comments', 'null-value', 'unknown-key', 'empty-file', 'bytes', 'bytes',
] as const;

export async function challengeCase(seed: number): Promise<FuzzCase> {
  const format = formatOfSeed('challenge', seed);
  const via = format === 'yaml-file' ? 'load' : 'text';
  const rng = createRng(deriveSeed(seed, 'fuzz-challenge', format));
  let text = pick(rng, baseTexts());
  let bytes: Uint8Array | undefined;
  let expect: Expect = ACCEPT;
  const mutations: string[] = [];
  const set = (t: string | null, e: Expect, name: string) => {
    if (t === null) return; // the line to edit is not in this base
    text = t;
    expect = e;
    mutations.push(name);
  };

  const k = weighted(rng, [[0, 15], [1, 65], [2, 20]]);
  for (let j = 0; j < k; j++) {
    const m = pick(rng, CH_MUTATIONS);
    if (bytes && m !== 'bytes') continue; // text edits come before byte damage
    switch (m) {
      case 'alias-bomb':
        set(`${text}\n${aliasBomb(rng)}`, reject('a YAML alias bomb'), m);
        break;
      case 'alias-benign':
        set(editLine(text, /^(\s+seed:) (\d+)$/, (_l, mm) => `${mm[1]} &s ${mm[2]}`)?.replace(/^(bootstrap:\n(?:.*\n)*?\s+seed:) \d+$/m, '$1 *s') ?? null, EITHER, m);
        break;
      case 'alias-recursive':
        set(`${text}\nloop: &loop [*loop]\nloop2: &l2 { self: *l2 }\n`, EITHER, m);
        break;
      case 'alias-undefined':
        set(editLine(text, /^title: /, () => 'title: *nowhere'), reject('an alias to no anchor'), m);
        break;
      case 'tag-unknown': {
        const tag = pick(rng, ['!!js/function "function () { return 1 }"', '!evil x', '!<tag:example.com,2000:app/foo> x', '!!python/object/apply:os.system ["ls"]', '!!js/regexp /x/', '!!js/undefined ~', '!ruby/object:Gem::Installer {}']);
        set(editLine(text, /^title: /, () => `title: ${tag}`), reject('an unknown YAML tag'), m);
        break;
      }
      case 'tag-std': {
        const [re, rep] = pick(rng, [
          [/^version: /, 'version: !!int "1"'], [/^title: /, 'title: !!str 123'], [/^title: /, 'title: !!binary aGVsbG8='],
          [/^title: /, 'title: !!timestamp 2001-12-14'], [/^baselines: /, 'baselines: !!set { random: null }'],
          [/^version: /, 'version: !!float 1'], [/^task: /, 'task: !!str selection'], [/^title: /, 'title: !!null ~'],
        ] as [RegExp, string][]);
        set(editLine(text, re, () => rep), EITHER, m);
        break;
      }
      case 'duplicate-key': {
        const keys = text.split('\n').filter((l) => /^[a-z_]+: \S/.test(l));
        if (!keys.length) break;
        const line = pick(rng, keys);
        set(`${text}\n${line}\n`, reject(`key ${line.split(':')[0]} twice`), m);
        break;
      }
      case 'duplicate-nested-key':
        set(editLine(text, /^(\s+)(primary: .*)$/, (l, mm) => `${l}\n${mm[1]}${mm[2]}`), reject('a nested key twice'), m);
        break;
      case 'deep-nesting': {
        const d = pick(rng, [100, 1000, 10_000, 100_000]);
        const flow = chance(rng, 0.5) ? '['.repeat(d) + '1' + ']'.repeat(d) : '{a: '.repeat(d) + '1' + '}'.repeat(d);
        set(chance(rng, 0.5) ? `${text}\ndeep: ${flow}\n` : editLine(text, /^(\s+params: )/, (_l, mm) => `${mm[1]}{ l2: ${flow} }`), EITHER, m);
        break;
      }
      case 'nonfinite': {
        const v = pick(rng, NONFINITE_YAML);
        const [re, rep] = pick(rng, [
          [/^(\s+rows:) .*$/, `$1 ${v}`], [/^(\s+public_fraction:) .*$/, `$1 ${v}`], [/^(\s+samples:) .*$/, `$1 ${v}`],
          [/^(\s+seeds:) \[(\d+)/, `$1 [${v}`], [/^(version:) .*$/, `$1 ${v}`],
        ] as [RegExp, string][]);
        const isNumber = /^[-+]?\.(nan|inf)$/i.test(v) || /^-?1e999$/.test(v);
        set(editLine(text, re, (l) => l.replace(re, rep)), isNumber ? reject(`${v} as a count or fraction`) : EITHER, m);
        break;
      }
      case 'huge-number': {
        const v = pick(rng, ['1e308', '9007199254740993', '123456789012345678901234567890', '1e20', '0x7fffffffffffffff', '0o777777777777']);
        set(editLine(text, /^(\s+(rows|samples|submissions_per_day|max_iter):) .*$/, (_l) => _l.replace(/: .*$/, `: ${v}`)), EITHER, m);
        break;
      }
      case 'negative-number':
        set(editLine(text, /^(\s+(rows|samples|submissions_per_day|public_fraction|l2|max_iter):) .*$/, (l) => l.replace(/: .*$/, `: ${pick(rng, ['-1', '-0', '0', '-1e-300', '-.5'])}`)), EITHER, m);
        break;
      case 'mixed-types':
        set(editLine(text, /^(\s+seeds:) .*$/, (_l, mm) => `${mm[1]} [0, "1", 2.5, true, null, [3], {a: 4}]`), reject('seeds that are not integers'), m);
        break;
      case 'yaml11-bool':
        set(editLine(text, /^(\s+standardize:) .*$/, (_l, mm) => `${mm[1]} ${pick(rng, ['yes', 'no', 'on', 'off', 'y', 'n', 'True', 'TRUE'])}`), EITHER, m);
        break;
      case 'merge-key':
        set(`defaults: &d { samples: 10, seed: 0 }\n${text.replace(/^bootstrap:$/m, 'bootstrap:\n  <<: *d')}`, EITHER, m);
        break;
      case 'multi-doc':
        set(`---\n${text}\n---\n${text}`, EITHER, m);
        break;
      case 'tabs':
        set(text.replace(/^ {2}/gm, '\t'), EITHER, m);
        break;
      case 'long-string':
        set(editLine(text, /^title: /, () => `title: ${'x'.repeat(pick(rng, [10_000, 1_000_000]))}`), EITHER, m);
        break;
      case 'unicode':
        set(editLine(text, /^title: /, () => `title: ${pick(rng, ['Zürich 東京 😀', '\u202eevil', '"\\u0000nul"', '"\\ud800"', 'a\u2028b'])}`), EITHER, m);
        break;
      case 'not-mapping':
        set(pick(rng, ['- a\n- b\n', 'just a string\n', '42\n', 'null\n', '~\n', '[]\n', '"quoted"\n', '!!map {}\n']), reject('not a mapping'), m);
        break;
      case 'only-comments':
        set('# nothing here\n# at all\n', reject('no content'), m);
        break;
      case 'null-value':
        set(editLine(text, /^(task|pool|name):/, (l) => `${l.split(':')[0]}: ${pick(rng, ['~', 'null', '', '""'])}`), reject('a required field without a value'), m);
        break;
      case 'unknown-key':
        set(`${text}\n${pick(rng, ['extra: 1', '__proto__: { polluted: true }', 'constructor: x', 'Name: other'])}\n`, EITHER, m);
        break;
      case 'empty-file':
        set('', reject('an empty file'), m);
        break;
      case 'bytes': {
        const bm = j === 0 && chance(rng, 0.15) ? byteMutation(pick(rng, ['crlf', 'utf8-bom'])) : pickByteMutation(rng, 'text');
        bytes = bm.apply(rng, bytes ?? utf8(text));
        mutations.push(bm.name);
        const after = afterBytes(expect, bm, 'text', new Set(['crlf', 'utf8-bom', 'no-final-newline']));
        // parseChallengeText sees decoded text: invalid bytes have become U+FFFD by then.
        expect = via === 'text' && after.outcome === 'reject' && bm.mustReject ? EITHER : after;
        break;
      }
    }
  }
  const call: ChallengeCall = { kind: 'challenge', file: 'challenge.yaml', via };
  return {
    family: 'challenge',
    format,
    seed,
    mutations: mutations.length ? mutations : ['valid'],
    files: [{ name: 'challenge.yaml', bytes: bytes ?? utf8(text) }],
    call,
    expect,
  };
}
