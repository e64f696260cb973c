import { describe, expect, it } from 'vitest';
import { inflateSync } from 'node:zlib';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHtmlReport, scopeSvgIds, writeHtmlReport } from '../src/report/html.ts';
import { makeSplit, reportFor, subsetOf, SIDE } from './report-fixtures.ts';

/** Grey 8-bit PNG → pixels (the report's own encoder writes filter 0 lines). */
function greyPixels(dataUri: string): { width: number; height: number; pixels: Uint8Array } {
  const png = Buffer.from(dataUri.replace('data:image/png;base64,', ''), 'base64');
  const width = png.readUInt32BE(16), height = png.readUInt32BE(20);
  const idatLen = png.readUInt32BE(33);
  const raw = inflateSync(png.subarray(41, 41 + idatLen));
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) pixels.set(raw.subarray(y * (width + 1) + 1, (y + 1) * (width + 1)), y * width);
  return { width, height, pixels };
}

describe('HTML report', () => {
  const fx = makeSplit();

  it('puts a summary first, then each analyser with its verdict, plots and rows together', async () => {
    const { html, warnings } = await renderHtmlReport({ pool: reportFor(fx) });
    expect(warnings).toEqual([]);
    const at = (s: string) => html.indexOf(s);
    expect(at('<h2>Summary</h2>')).toBeGreaterThan(0);
    const titles = ['Label errors', 'Class imbalance', 'Duplicates and leakage', 'Fairness across groups'];
    for (const t of titles) {
      expect(html).toContain(`<h2>${t}</h2>`);
      expect(at('<h2>Summary</h2>')).toBeLessThan(at(`<h2>${t}</h2>`));
    }
    // Each analyser's plots and rows sit inside its own section, after its verdict.
    const sections = html.split('<section class="analyser').slice(1);
    const sectionOf = (t: string) => sections.find((x) => x.includes(`<h2>${t}</h2>`))!;
    expect(sectionOf('Label errors')).toContain('<h3>Most likely label errors</h3>');
    expect(sectionOf('Duplicates and leakage')).toContain('Cluster 0: 3 rows');
    expect(sectionOf('Fairness across groups').indexOf('verdict-text')).toBeLessThan(sectionOf('Fairness across groups').indexOf('<svg '));
    expect(sections.reduce((n, x) => n + (x.match(/<svg /g)?.length ?? 0), 0)).toBe(3);
    expect(html).toContain('Outliers</b>: not run, skipped in this fixture');
    expect(html).toContain('leakage was not checked');
    // One SVG per analyser plot (class imbalance, duplicates, fairness).
    expect(html.match(/<svg /g)?.length).toBe(3);

    // Every flagged label error is shown, highest score first, with the pixels of that very row.
    const cards = [...html.matchAll(/<img class="thumb" src="(data:image\/png;base64,[^"]+)"[^>]*alt="row (r\d+), labelled (\w+)"/g)];
    const flaggedIds = [...fx.flipped].sort((a, b) => a - b).map((r) => fx.split.ids[r]);
    const suspectIds = cards.map((m) => m[2]).slice(0, flaggedIds.length);
    expect(suspectIds).toEqual(flaggedIds); // scores fall with the row index in the fixture
    for (const m of cards.slice(0, flaggedIds.length)) {
      const row = fx.split.ids.indexOf(m[2]);
      const img = greyPixels(m[1]);
      expect([img.width, img.height]).toEqual([SIDE, SIDE]);
      expect(Buffer.from(img.pixels).equals(Buffer.from(fx.split.pixels!.data.subarray(row * SIDE * SIDE, (row + 1) * SIDE * SIDE)))).toBe(true);
      expect(m[3]).toBe(fx.split.classNames[fx.split.labels[row]]);
    }
    expect(html).toContain('<span class="given" title="given label">circle</span> → <span class="suggested" title="suggested label">cross</span>');
    // Duplicate clusters: the planted ones, largest first, the relabelled copy marked as a conflict.
    expect(html).toContain('Cluster 0: 3 rows</h4>');
    expect(html).toMatch(/Cluster 1: 2 rows <span class="badge sev-problem">labels conflict/);
    // Clusters whose labels conflict come first.
    expect(html.indexOf('Cluster 1: 2 rows')).toBeLessThan(html.indexOf('Cluster 0: 3 rows'));
  });

  it("counts flagged rows against the audited rows, not the analyser's findings", async () => {
    const report = reportFor(fx);
    const { html } = await renderHtmlReport({ pool: report });
    const sections = html.split('<section class="analyser').slice(1);
    for (const r of report.results.filter((x) => x.findings.length)) {
      const flagged = r.findings.filter((f) => f.flagged).length;
      const section = sections.find((x) => x.includes(`<h2>${r.title}</h2>`))!;
      expect(section, r.name).toContain(`${flagged} of ${report.rows} rows flagged`);
    }
    // Duplicates list only the rows in clusters: the old denominator was the findings' count.
    const dup = report.results.find((x) => x.name === 'duplicates')!;
    expect(dup.findings.length).toBeLessThan(report.rows);
  });

  it('says when many flagged rows share the top score (their order among themselves says nothing)', async () => {
    const report = reportFor(fx);
    const le = report.results.find((x) => x.name === 'label-errors')!;
    const plain = await renderHtmlReport({ pool: report });
    expect(plain.html).not.toContain('share the top score');
    const flagged = le.findings.filter((f) => f.flagged);
    expect(flagged.length).toBeGreaterThanOrEqual(5);
    const tied = { ...report, results: report.results.map((r) => (r === le ? { ...le, findings: le.findings.map((f) => (f.flagged ? { ...f, score: 0.99545 } : f)) } : r)) };
    const { html } = await renderHtmlReport({ pool: tied });
    expect(html).toContain(`${flagged.length} flagged rows share the top score (within 0.0001): their order among themselves says nothing.`);
  });

  it('is self-contained: no scripts, no external URLs, unique element ids', async () => {
    const { html } = await renderHtmlReport({ pool: reportFor(fx) });
    expect(html).not.toMatch(/<script|<link|<iframe|@import/i);
    const refs = [...html.matchAll(/\s(?:src|href|xlink:href)="([^"]*)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.filter((r) => !r.startsWith('data:') && !r.startsWith('#'))).toEqual([]);
    expect([...html.matchAll(/url\(([^)]*)\)/g)].map((m) => m[1]).filter((u) => !u.startsWith('#'))).toEqual([]);
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(html).toContain("default-src 'none'");
  });

  it('renders the same bytes twice', async () => {
    const a = await renderHtmlReport({ pool: reportFor(fx) });
    const b = await renderHtmlReport({ pool: reportFor(fx) });
    expect(a.html).toBe(b.html);
  });

  it('escapes analyser text', async () => {
    const report = reportFor(fx);
    report.results[0].summary.verdict = '<script>alert("x")</script> & more';
    report.results[0].summary.figures['<b>'] = '"quoted"';
    const { html } = await renderHtmlReport({ pool: report });
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more');
    expect(html).toContain('&lt;b&gt;');
    expect(html).not.toContain('<script>');
  });

  it('shows subset and pool side by side', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => i * 2);
    const { html } = await renderHtmlReport({ pool: reportFor(fx), subset: reportFor(fx, 'subset', subsetOf(fx.split, rows)) });
    expect(html).toContain('Subset: picked.csv, 30 of 60 rows');
    expect(html).toContain('<tr><th>figure</th><th>whole pool</th><th>subset</th></tr>');
    // Every plot appears for both scopes.
    expect(html.match(/<svg /g)?.length).toBe(6);
    expect(html.match(/<h3 class="scope">Whole pool<\/h3>/g)!.length).toBeGreaterThanOrEqual(4 + 3);
    // Only the flagged rows that the subset contains (r010, r042 are even rows) are its suspects.
    const subsetPart = html.slice(html.indexOf('<h3>Most likely label errors: subset</h3>'), html.indexOf('<h2>', html.indexOf('<h3>Most likely label errors: subset</h3>')));
    expect([...subsetPart.matchAll(/id (r\d+) ·/g)].map((m) => m[1])).toEqual(['r010', 'r042']);
  });

  it('shows feature values for pools without pixels, and draws a class histogram when no analyser did', async () => {
    const tab = makeSplit(60, 7, false);
    const report = reportFor(tab);
    report.results = report.results.filter((r) => r.name !== 'class-imbalance');
    const { html } = await renderHtmlReport({ pool: report });
    expect(html).not.toContain('<img');
    // Every field: the group column, each numeric value, the category set in the one-hot block.
    expect(html).toContain('<p class="rowtext"><span class="field"><b>site</b> south</span> <span class="field"><b>age</b> 2.142857</span> <span class="field"><b>amount</b> 2.2857144</span> <span class="field"><b>purpose</b> car</span></p>');
    expect(html).toContain('<figcaption>Rows per class</figcaption>');
    expect(html.match(/<svg /g)?.length).toBe(3);
  });

  it('reports a plot that cannot render instead of fetching its data', async () => {
    const report = reportFor(fx);
    report.results[1].plots = [{ title: 'Remote', vegaLite: { data: { url: 'https://example.com/x.json' }, mark: 'bar' } }];
    const { html, warnings } = await renderHtmlReport({ pool: report });
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/Remote.*inline their data/);
    expect(html).toContain('figure class="plot failed"');
  });

  it('writes the file atomically', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sieve-html-'));
    const path = join(dir, 'report.html');
    const { html } = await writeHtmlReport(path, { pool: reportFor(fx) });
    expect(await readFile(path, 'utf8')).toBe(html);
    expect(await readdir(dir)).toEqual(['report.html']);
  });

  it('scopes SVG ids and references', () => {
    const svg = '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"><use href="#clip1"/></g></svg>';
    expect(scopeSvgIds(svg, 'p3')).toBe('<svg><defs><clipPath id="p3-clip1"><rect/></clipPath></defs><g clip-path="url(#p3-clip1)"><use href="#p3-clip1"/></g></svg>');
  });
});

describe('row cards', () => {
  it('show feature values as stored (the shortest decimal that reads back to the float32), not rounded', async () => {
    const { storedValue } = await import('../src/report/html.ts');
    expect(storedValue(Math.fround(47857.1))).toBe('47857.1');
    expect(storedValue(Math.fround(30534.9))).toBe('30534.9');
    expect(storedValue(48521)).toBe('48521');
    expect(storedValue(Math.fround(0.1))).toBe('0.1');
    expect(storedValue(Math.fround(-1.5e-7))).toBe('-1.5e-7');
    for (const x of [Math.fround(Math.PI), Math.fround(1 / 3), Math.fround(123456.789)]) expect(Math.fround(Number(storedValue(x)))).toBe(x);
  });
});
