/**
 * The server's pages in a real browser (Debian's Chromium, driven by playwright-core) against
 * a real `sieve serve` (the built command, a random port, tiny challenges): register through
 * the form, submit a file through the form, watch the submission page reload itself until the
 * job is done, see the row appear on the leaderboard, open the submission page and check that
 * nothing overflows sideways (desktop and a 360 px phone), that every plot has a box, and that
 * markup typed as a name or carried in a file name renders as inert text. No request leaves
 * the server's origin, and the pages run no script at all. On both store backends
 * (test/server-backends.ts), one Chromium for both. Skips with a message when
 * /usr/bin/chromium is missing (.ci/run installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openPool, readSplit } from '../src/pool/read.ts';
import { spawnServe, type ServeChild } from './fixtures/spawn-serve.ts';
import { skipIfUnavailable, storeBackends } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`browser-server: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);

const XSS = '<img src=x onerror="window.xssFired=1">';

interface Layout {
  scrollWidth: number;
  clientWidth: number;
  plots: { caption: string; width: number; height: number; svgWidth: number; svgHeight: number; drawnWidth: number; marks: number }[];
  images: number;
  scripts: number;
  xssFired: unknown;
  /** Scrolling boxes whose content is wider than the box (cut at its right edge until scrolled): their first header cells. */
  cut: string[];
}

async function layout(page: Page): Promise<Layout> {
  return page.evaluate(() => {
    const box = (e: Element) => e.getBoundingClientRect();
    return {
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      plots: [...document.querySelectorAll('figure.plot')].map((f) => {
        const svg = f.querySelector('svg');
        return {
          caption: f.querySelector('figcaption')?.textContent ?? '',
          width: box(f).width, height: box(f).height,
          svgWidth: svg ? box(svg).width : 0, svgHeight: svg ? box(svg).height : 0,
          drawnWidth: svg ? Number(svg.getAttribute('width')) : 0,
          marks: svg ? svg.querySelectorAll('path, line, text, rect').length : 0,
        };
      }),
      images: document.querySelectorAll('img').length,
      scripts: document.querySelectorAll('script').length,
      xssFired: (window as unknown as { xssFired?: unknown }).xssFired,
      cut: [...document.querySelectorAll('.scroll')].filter((d) => d.scrollWidth > d.clientWidth + 1)
        .map((d) => `${[...d.querySelectorAll('th')].slice(0, 3).map((t) => t.textContent).join(' | ')}: ${d.scrollWidth} px in ${d.clientWidth}`),
    };
  });
}

/** `desktop`: at a desktop width no table may need sideways scrolling either (on a phone wide tables scroll in their box). */
function expectReadable(l: Layout, minPlots: number, desktop = true): void {
  expect(l.scrollWidth, 'horizontal overflow').toBeLessThanOrEqual(l.clientWidth);
  if (desktop) expect(l.cut, 'tables cut at the right edge').toEqual([]);
  expect(l.plots.length).toBeGreaterThanOrEqual(minPlots);
  for (const p of l.plots) {
    expect(p.svgWidth, p.caption).toBeGreaterThan(100);
    expect(p.svgHeight, p.caption).toBeGreaterThan(20);
    expect(p.width, p.caption).toBeLessThanOrEqual(l.clientWidth);
    // At the size it was drawn, on a phone too (its box scrolls): scaled down, its text is unreadable.
    expect(p.svgWidth, p.caption).toBeGreaterThanOrEqual(p.drawnWidth - 1);
    expect(p.marks, p.caption).toBeGreaterThan(5);
  }
  expect(l.images).toBe(0);
  expect(l.scripts).toBe(0);
  expect(l.xssFired).toBeUndefined();
}

const BACKENDS = await storeBackends('browser-server');

describe.skipIf(!hasChromium)('challenge server pages in Chromium', { timeout: 300_000 }, () => {
  let dir: string;
  let challenges: string;
  let browser: Browser;
  let selectIds: string[];
  let rankIds: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sieve-browser-server-'));
    challenges = join(dir, 'challenges');
    const tiny = await writeTinyChallenge(challenges, { name: 'tiny' });
    const rank = await writeTinyChallenge(challenges, { name: 'tiny-rank', task: 'ranking' });
    await writeFile(join(tiny.dir, 'README.md'), `# tiny\n\n**Story.** Choose at most 100 rows. ${XSS}\n\n| baseline | accuracy |\n| --- | --- |\n| random | 0.5 |\n`);
    selectIds = (await readSplit(await openPool(join(tiny.dir, 'pool')), 'train', { columns: [] })).ids;
    rankIds = (await readSplit(await openPool(join(rank.dir, 'pool')), 'train', { columns: [] })).ids;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (dir && !process.env.SIEVE_KEEP_SCREENSHOTS) await rm(dir, { recursive: true, force: true });
    else if (dir) console.log(`browser-server: screenshots kept in ${dir}`);
  });

  describe.each(BACKENDS)('$name', (b) => {
    if (skipIfUnavailable(b)) return;
    let server: ServeChild | undefined;
    let url: string;
    let context: BrowserContext;
    let page: Page;
    let organiserToken: string;
    const offsite: string[] = [];
    const consoleErrors: string[] = [];

    beforeAll(async () => {
      const db = await b.newDb('browser');
      const init = await run(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), 'serve', '--init', '--db', db], { cwd: dir, env: { ...process.env, CI: '1' } });
      organiserToken = /sieve_org_[0-9a-f]{24}_[A-Za-z0-9_-]{43}/.exec(init.stdout)![0];
      server = await spawnServe(db, ['--challenges', challenges, '--workers', '1'], dir);
      url = server.url;
      context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
      // Anything not from the server is refused and recorded.
      await context.route('**/*', (route) => {
        if (route.request().url().startsWith(url)) return route.continue();
        offsite.push(route.request().url());
        return route.abort();
      });
      page = await context.newPage();
      page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    }, 120_000);

    afterAll(async () => {
      await context?.close();
      await server?.stop();
    });

    it('registers through the form; markup typed as a name is refused and shown as text', async () => {
      await page.goto(`${url}/`);
      await page.getByRole('link', { name: 'register' }).click();
      await page.getByLabel('Name').fill(XSS);
      await page.getByRole('button', { name: 'Register' }).click();
      expect(await page.getByRole('alert').textContent()).toContain('a name of 1-64 letters');
      // The refusal is a 400 page, which Chromium logs; nothing else may be logged.
      expect(consoleErrors.splice(0)).toEqual([expect.stringMatching(/status of 400/)]);
      expect(await page.getByLabel('Name').inputValue()).toBe(XSS);
      expect((await layout(page)).xssFired).toBeUndefined();
      expect(await page.locator('img').count()).toBe(0);
      await page.getByLabel('Name').fill('ada lovelace');
      await page.getByRole('button', { name: 'Register' }).click();
      expect(await page.locator('h1').textContent()).toBe('Welcome, ada lovelace');
      const token = await page.locator('#token').textContent();
      expect(token).toMatch(/^sieve_par_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/);
      // The session cookie is HttpOnly (no script can read it) and SameSite=Strict.
      const session = (await context.cookies()).find((c) => c.name === 'sieve_session')!;
      expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', value: token });
      expect(await page.evaluate(() => document.cookie)).toBe('');
      expect(page.url()).not.toContain(token);
    });

    it('submits a file through the form, sees the job finish, the submission page and the leaderboard row', async () => {
      await page.goto(`${url}/challenges/tiny`);
      expectReadable(await layout(page), 0);
      await page.getByLabel('Submission file').setInputFiles({ name: `${XSS}.csv`, mimeType: 'text/csv', buffer: Buffer.from(`id\n${selectIds.slice(0, 90).join('\n')}\n`) });
      await page.getByRole('button', { name: 'Submit', exact: true }).click();
      await page.waitForURL(/\/submissions\/sub_[0-9a-f]+$/);
      const submissionUrl = page.url();
      // The page reloads itself (meta refresh, no script) until the job is done.
      await page.locator('[data-state="done"]').waitFor({ timeout: 120_000 });
      expect(await page.locator('h1').textContent()).toBe(`Submission ${XSS}.csv`);
      expect(await page.getByRole('row', { name: /accuracy \(primary\)/ }).textContent()).toMatch(/\[0\.\d{4}, [01]\.\d{4}\]/);
      const desktop = await layout(page);
      expectReadable(desktop, 2);
      expect(desktop.plots.map((p) => p.caption)).toContain('f1 per class, public test rows (95% intervals)');
      await page.screenshot({ path: join(dir, `${b.name}-submission.png`), fullPage: true });
      // A phone: still no sideways scrolling; plots shrink to the column.
      await page.setViewportSize({ width: 360, height: 780 });
      await page.reload();
      expectReadable(await layout(page), 2, false);
      await page.screenshot({ path: join(dir, `${b.name}-submission-phone.png`), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });

      // The audit of the submitted rows: the page reloads until it ends, then links its report.
      await page.reload();
      await page.getByRole('link', { name: 'The full audit report' }).waitFor({ timeout: 120_000 });
      await page.getByRole('link', { name: 'The full audit report' }).click();
      await page.waitForURL(/\/submissions\/sub_[0-9a-f]+\/audit$/);
      expect(await page.locator('h1').textContent()).toBe(`Audit of submission ${XSS}.csv`);
      await page.locator('.audit-report #analyser-label-errors').waitFor();
      const audit = await layout(page);
      expectReadable(audit, 2, false);
      expect(audit.xssFired).toBeUndefined();
      await page.screenshot({ path: join(dir, `${b.name}-audit.png`), fullPage: true });
      await page.setViewportSize({ width: 360, height: 780 });
      await page.reload();
      expect((await layout(page)).scrollWidth, 'horizontal overflow on a phone').toBeLessThanOrEqual((await layout(page)).clientWidth);
      await page.screenshot({ path: join(dir, `${b.name}-audit-phone.png`), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.goto(submissionUrl);

      await page.getByRole('link', { name: 'leaderboard' }).click();
      const row = page.locator('tr[data-participant="ada lovelace"]');
      expect(await row.textContent()).toContain('leader');
      expect(await row.getByRole('link', { name: 'ada lovelace' }).getAttribute('href')).toBe(new URL(submissionUrl).pathname);
      expectReadable(await layout(page), 1);
      await page.screenshot({ path: join(dir, `${b.name}-leaderboard.png`), fullPage: true });

      await row.getByRole('link', { name: 'ada lovelace' }).click();
      await page.waitForURL(submissionUrl);
      expect(await page.locator('h1').textContent()).toBe(`Submission ${XSS}.csv`);
      await page.goto(`${url}/me`);
      expect(await page.getByRole('link', { name: `${XSS}.csv` }).count()).toBe(1);
      expectReadable(await layout(page), 0);
    });

    it('draws the ranking curve of a ranking submission', async () => {
      await page.goto(`${url}/challenges/tiny-rank`);
      await page.getByLabel('Submission file').setInputFiles({ name: 'order.txt', mimeType: 'text/plain', buffer: Buffer.from(`${[...rankIds].reverse().join('\n')}\n`) });
      await page.getByRole('button', { name: 'Submit', exact: true }).click();
      await page.locator('[data-state="done"]').waitFor({ timeout: 120_000 });
      const l = await layout(page);
      expectReadable(l, 1);
      expect(l.plots.map((p) => p.caption).some((c) => c.startsWith('Ranking curve'))).toBe(true);
      // While open, how many wrong labels the ranking reached is withheld (a count of wrong
      // labels among the rows the entrant chose), and so are the fit counts that carry it.
      const body = (await page.textContent('body'))!;
      expect(body).toMatch(/how many of the \d+ rows with a wrong label it reached is shown after the challenge closes/);
      expect(body).not.toMatch(/The ranking reached \d+ of/);
      await page.screenshot({ path: join(dir, `${b.name}-ranking.png`), fullPage: true });
    });

    it('organiser: the queue and the log show names; closing shows the final ranking first, with its plot; no table is cut', async () => {
      const organiser = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
      const op = await organiser.newPage();
      try {
        await op.goto(`${url}/signin`);
        await op.getByLabel('API token').fill(organiserToken);
        await op.getByRole('button', { name: 'Sign in' }).click();
        // The nav names who is signed in and the organiser page, not "organiser organiser".
        const nav = (await op.getByRole('navigation', { name: 'site' }).textContent())!.replace(/\s+/g, ' ');
        expect(nav).toContain('signed in as organiser');
        expect(nav).toContain('organiser page');
        await op.getByRole('link', { name: 'organiser page' }).click();
        const queue = op.locator('table').filter({ hasText: 'attempts' });
        expect(await queue.textContent()).toContain('ada lovelace');
        expect(await queue.textContent()).not.toMatch(/par_[0-9a-f]{24}/);
        expectReadable(await layout(op), 0);
        await op.getByRole('button', { name: 'Close tiny now' }).click();
        await op.goto(`${url}/organiser`);
        const log = op.locator('table').filter({ hasText: 'action' }).last();
        expect(await log.textContent()).toContain('organiser');
        expect(await log.textContent()).not.toMatch(/org_[0-9a-f]{24}/);
        expectReadable(await layout(op), 0);
        await op.screenshot({ path: join(dir, `${b.name}-organiser.png`), fullPage: true });

        await op.goto(`${url}/challenges/tiny/leaderboard`);
        // The final ranking (private rows) comes first, its score next to the final rank, and has its own plot.
        expect(await op.locator('h2').first().textContent()).toBe('Final ranking (private test rows)');
        const finalHead = await op.locator('table').first().locator('th').allTextContents();
        expect(finalHead.slice(0, 4)).toEqual(['final rank', 'move', 'participant', 'accuracy (private)']);
        const l = await layout(op);
        expect(l.plots.map((p) => p.caption)).toEqual(['accuracy per entry, private test rows (95% intervals)', 'accuracy per entry, public test rows (95% intervals)']);
        expectReadable(l, 2);
        await op.screenshot({ path: join(dir, `${b.name}-closed-leaderboard.png`), fullPage: true });
        for (const path of ['/', '/challenges/tiny', '/challenges/tiny-rank/leaderboard', '/me']) {
          await op.goto(`${url}${path}`);
          expectReadable(await layout(op), 0);
        }
      } finally {
        await organiser.close();
      }
    });

    it('sent nothing off the server and logged no error', () => {
      expect(offsite).toEqual([]);
      expect(consoleErrors).toEqual([]);
    });
  });
});
