/**
 * The "done when" check of the audit report: `sieve audit <built-in pool> --html FILE` writes a
 * file that a real browser (Debian's Chromium, driven by playwright-core) opens offline and
 * renders: verdict headings, SVG plots with a size, thumbnails that decoded, no horizontal
 * overflow, no axis label cut with "…", each analyser's plots inside its own section, and not a
 * single network request. Pools: fashion-mnist (pixels), german-credit (tabular) and an
 * Adult-like census file imported on the spot. Skips with a message when /usr/bin/chromium is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { adultLikeRecords, ADULT_COLUMNS } from './fixtures/adult-like.ts';
import { openPool, readSplit } from '../src/pool/read.ts';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`browser-report: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

interface PageFacts {
  verdictHeadings: string[];
  sectionHeadings: string[];
  svgs: { width: number; height: number; marks: number; drawnWidth: number }[];
  /** Plot figures whose box is empty or that sit outside an analyser section. */
  badFigures: string[];
  overflow: { scrollWidth: number; clientWidth: number };
  cutLabels: string[];
  thumbs: { naturalWidth: number; naturalHeight: number; complete: boolean }[];
  requests: string[];
  failed: string[];
  cspViolations: number;
  consoleErrors: string[];
}

async function openReport(browser: Browser, file: string, screenshot: string, width = 1280): Promise<PageFacts> {
  // A fresh context per report: no cache, no service workers, nothing shared between pages.
  const context = await browser.newContext({ viewport: { width, height: 900 }, serviceWorkers: 'block' });
  const page = await context.newPage();
  const url = pathToFileURL(file).href;
  const requests: string[] = [];
  const failed: string[] = [];
  const consoleErrors: string[] = [];
  page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });
  page.on('requestfailed', (r) => failed.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  // Anything that is not the report itself is refused and recorded, so an attempted fetch fails the test.
  await context.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
  await page.addInitScript(() => {
    (window as unknown as { __csp: number }).__csp = 0;
    document.addEventListener('securitypolicyviolation', () => { (window as unknown as { __csp: number }).__csp++; });
  });
  await page.goto(url, { waitUntil: 'load' });
  // Everything a reader can open is opened (the figures tables sit in <details>): nothing may overflow then either.
  await page.evaluate(() => { for (const d of document.querySelectorAll('details')) d.open = true; });
  const facts = await page.evaluate(() => {
    const box = (e: Element) => e.getBoundingClientRect();
    return {
      verdictHeadings: [...document.querySelectorAll('section.analyser > h2')].map((h) => h.textContent ?? ''),
      sectionHeadings: [...document.querySelectorAll('h2')].map((h) => h.textContent ?? ''),
      svgs: [...document.querySelectorAll('figure.plot svg')].map((s) => ({
        width: box(s).width, height: box(s).height, marks: s.querySelectorAll('path, rect, line, text').length,
        drawnWidth: Number(s.getAttribute('width')),
      })),
      badFigures: [...document.querySelectorAll('figure.plot')]
        .filter((f) => { const b = box(f); const svg = f.querySelector('svg'); return !(b.width > 0 && b.height > 0 && svg && box(svg).width > 0 && box(svg).height > 0) || !(f.closest('section.analyser') || f.closest('#summary')); })
        .map((f) => f.querySelector('figcaption')?.textContent ?? '?'),
      overflow: { scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth },
      cutLabels: [...document.querySelectorAll('svg text')].map((t) => t.textContent ?? '').filter((t) => t.endsWith('…')),
      thumbs: [...document.querySelectorAll('img')].map((i) => ({
        naturalWidth: (i as HTMLImageElement).naturalWidth,
        naturalHeight: (i as HTMLImageElement).naturalHeight,
        complete: (i as HTMLImageElement).complete,
      })),
      cspViolations: (window as unknown as { __csp: number }).__csp,
    };
  });
  await page.screenshot({ path: screenshot, fullPage: true });
  await context.close();
  return { ...facts, requests, failed, consoleErrors };
}

describe.skipIf(!hasChromium)('HTML audit report in Chromium', { timeout: 600_000 }, () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    dir = await mkdtemp(join(tmpdir(), 'sieve-browser-'));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    // Keep the screenshots for a look when SIEVE_KEEP_SCREENSHOTS is set.
    if (dir && !process.env.SIEVE_KEEP_SCREENSHOTS) await rm(dir, { recursive: true, force: true });
    else if (dir) console.log(`browser-report: screenshots kept in ${dir}`);
  });

  function expectReadable(facts: PageFacts): void {
    expect(facts.overflow.scrollWidth).toBeLessThanOrEqual(facts.overflow.clientWidth);
    expect(facts.badFigures).toEqual([]);
    expect(facts.cutLabels).toEqual([]);
    // Plots at the size they were drawn, on a phone too (their box scrolls): scaled to a 360 px
    // column their text was 4 to 6 px tall.
    for (const s of facts.svgs) expect(s.width).toBeGreaterThanOrEqual(s.drawnWidth - 1);
    expect(facts.sectionHeadings[0]).toBe('Summary');
  }

  async function audit(pool: string, extra: string[] = [], name = pool): Promise<string> {
    const html = join(dir, `${name}.html`);
    await run(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), 'audit', pool, '--html', html, ...extra], {
      cwd: dir, env: { ...process.env, CI: '1' }, maxBuffer: 64 * 1024 * 1024,
    });
    expect((await stat(html)).size).toBeGreaterThan(10_000);
    return html;
  }

  it('renders the fashion-mnist report with plots and image thumbnails, offline', async () => {
    const facts = await openReport(browser, await audit('fashion-mnist'), join(dir, 'fashion-mnist.png'));
    expectReadable(facts);
    expect(facts.verdictHeadings.length).toBeGreaterThanOrEqual(4);
    expect(facts.verdictHeadings.some((h) => /label errors/i.test(h))).toBe(true);
    expect(facts.verdictHeadings.some((h) => /imbalance/i.test(h))).toBe(true);
    expect(facts.svgs.length).toBeGreaterThanOrEqual(3);
    for (const s of facts.svgs) {
      expect(s.width).toBeGreaterThan(50);
      expect(s.height).toBeGreaterThan(20);
      expect(s.marks).toBeGreaterThan(3);
    }
    expect(facts.thumbs.length).toBeGreaterThanOrEqual(10);
    for (const t of facts.thumbs) expect(t).toEqual({ naturalWidth: 28, naturalHeight: 28, complete: true });
    expect(facts.requests).toEqual([]);
    expect(facts.failed).toEqual([]);
    expect(facts.cspViolations).toBe(0);
    expect(facts.consoleErrors).toEqual([]);
  });

  it('renders the german-credit report with per-group figures and row values, offline', async () => {
    const facts = await openReport(browser, await audit('german-credit'), join(dir, 'german-credit.png'));
    expectReadable(facts);
    expect(facts.verdictHeadings.some((h) => /fairness/i.test(h))).toBe(true);
    expect(facts.svgs.length).toBeGreaterThanOrEqual(3);
    for (const s of facts.svgs) {
      expect(s.width).toBeGreaterThan(50);
      expect(s.height).toBeGreaterThan(20);
    }
    expect(facts.thumbs).toEqual([]); // no pixels: label-error suspects are shown as feature values
    expect(facts.requests).toEqual([]);
    expect(facts.failed).toEqual([]);
    expect(facts.cspViolations).toBe(0);
    expect(facts.consoleErrors).toEqual([]);
    // On a 360 px phone, with every figures table open, nothing overflows sideways either.
    expectReadable(await openReport(browser, join(dir, 'german-credit.html'), join(dir, 'german-credit-360.png'), 360));
  });

  it('renders a subset report (whole pool and subset side by side) on a desktop and a 360 px phone', async () => {
    const train = await readSplit(await openPool('german-credit'), 'train');
    const ids = join(dir, 'ids60.csv');
    await writeFile(ids, ['id', ...Array.from({ length: 60 }, (_, i) => train.ids[(i * 37) % train.n])].join('\n') + '\n');
    const html = await audit('credit-fair', ['--subset', ids], 'subset');
    for (const width of [1280, 360]) {
      const facts = await openReport(browser, html, join(dir, `subset-${width}.png`), width);
      expectReadable(facts);
      expect(facts.requests).toEqual([]);
      expect(facts.consoleErrors).toEqual([]);
    }
  });

  it('renders an Adult-like census pool (long category names, 40 countries) without overflow or cut labels', async () => {
    const rows = adultLikeRecords({ rows: 2500, seed: 11, duplicates: 5 });
    const csv = [['id', ...ADULT_COLUMNS.map((c) => (c === 'income' ? 'label' : c))].join(','),
      ...rows.map((r, i) => [`a${i}`, ...r.map((v) => (v === '?' ? '' : v))].join(','))].join('\n') + '\n';
    await writeFile(join(dir, 'adult.csv'), csv);
    await run(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), 'pool', 'import', join(dir, 'adult.csv'), '--out', join(dir, 'adult'), '--group-columns', 'sex,race', '--test-fraction', '0.2'], {
      cwd: dir, env: { ...process.env, CI: '1' }, maxBuffer: 64 * 1024 * 1024,
    });
    const html = await audit(join(dir, 'adult'), ['--group-columns', 'sex,race,native-country'], 'adult-like');
    const facts = await openReport(browser, html, join(dir, 'adult-like.png'));
    expectReadable(facts);
    expectReadable(await openReport(browser, html, join(dir, 'adult-like-360.png'), 360));
    expect(facts.verdictHeadings.some((h) => /fairness/i.test(h))).toBe(true);
    expect(facts.svgs.length).toBeGreaterThanOrEqual(8);
    expect(facts.requests).toEqual([]);
    expect(facts.consoleErrors).toEqual([]);
  });
});
