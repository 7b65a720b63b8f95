/**
 * The dashboard in a real browser: Debian's chromium, headless, driven by
 * playwright-core, against the real `buyer-sync serve` (its HTTP server and
 * worker) on a test database. The page opens with the verdict
 * (buyer_sync_api.verdict): what is wrong, since when, what to do.
 * - Before any sync: "unknown", the sheet has not been read yet; no panel
 *   claims what was never checked.
 * - A clean sheet synced and checked: "ok".
 * - The bad day of issue 17: the sheet's "Buyer Number" header renamed,
 *   three syncs fail, the health check is unhealthy: the page says
 *   "failing" first, with the reason, at desktop and phone widths, in light
 *   and dark schemes; no text overflows its box, the verdict and what to do
 *   are on the first screen.
 * - A known state (a sync with failures on top of two weeks of history): the
 *   figures, the missing buyers and the charts are the database's, and the
 *   error-rate card agrees with the chart's latest day.
 * - An operator enters the token by keyboard and asks for a sync: the job is
 *   enqueued and the worker runs it.
 * - With the service gone, the page says so and keeps the last figures.
 * Screenshots: docs/dashboard-healthy.png, docs/dashboard-failing.png and
 * their -phone variants (light scheme, the first screen); every variant
 * (dark too, full page) under the OS temp dir, buyer-sync-dashboard/.
 * No console errors along the way but the wrong token's 401.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { HEADER } from '../src/sample/generate.ts';
import { runCli, spawnCli, useTestDatabase, waitFor, writeCsv, type CliProcess } from './helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DOCS = path.join(projectRoot, 'docs');
const SHOTS = path.join(os.tmpdir(), 'buyer-sync-dashboard');
const TOKEN = 'browser-test-token-0123456789';
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-browser-'));

const db = useTestDatabase();
const { query } = db;
let browser: Browser;
let service: CliProcess;
let url: string;
/** The sheet serve reads (SHEET_SOURCE): what the page's "Sync now" syncs. */
let serveSheet: string;

const cliEnv = () => ({ DATABASE_URL: db.url, SHEET_ENCODING: undefined, ALERT_WEBHOOK_URL: undefined });

function sheetRow(key: string, over: Record<number, string> = {}): string[] {
  return HEADER.map((h, i) =>
    i === 0
      ? key
      : (over[i] ??
        { Name: '山田 太郎', Phone: '090-1234-5678', 'Inquiry Date': '2024/04/01', Budget: '¥35,000,000' }[h] ??
        ''),
  );
}
const clean = Array.from({ length: 40 }, (_, i) => sheetRow(`B${String(i + 1).padStart(4, '0')}`));
const failing = Array.from({ length: 14 }, (_, i) =>
  sheetRow(`M${String(i + 1).padStart(4, '0')}`, { 9: 'about 30M' }),
);

/** Two weeks of earlier runs and errors, so the charts have days to show; each buyer fails twice a day (a retry), counted once. */
async function seedHistory(): Promise<void> {
  await db.pool.query(`
    with days as (select d, now() - make_interval(days => d) as at from generate_series(1, 14) d),
    runs as (
      insert into sync_runs (started_at, finished_at, status, mode, source, batch_size, total_rows, blank_rows, inserted, updated, unchanged, failed, duration_ms, rows_per_second)
      select at, at + interval '3 seconds', 'succeeded', 'full', 'history.csv', 100, 4155, 18, 0, 3 + d % 4, 4155 - 18 - (3 + d % 4) - (20 + (d * 7) % 23), 20 + (d * 7) % 23, 3000, 1385
        from days
      returning id, started_at, failed
    )
    insert into sync_error_log (buyer_number, row_number, error_message, error_type, run_id, column_name, created_at)
    select 'H' || r.started_at::date || '-' || n, 2 + n, 'row ' || (2 + n) || ': seeded history', (array['data_type', 'field_length', 'constraint_violation'])[1 + n % 3], r.id, 'budget', r.started_at + make_interval(mins => k)
      from runs r cross join generate_series(1, r.failed) n cross join generate_series(0, 1) k`);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  mkdirSync(SHOTS, { recursive: true });
  // A skipped run (a sheet found unchanged) just now: serve enqueues no first sync, so the page starts with nothing read.
  await db.pool.query(
    `insert into sync_runs (started_at, finished_at, status, mode, source, batch_size, total_rows, blank_rows, inserted, updated, unchanged, failed, errors_by_type, skipped_kind, skipped_because)
     values (now(), now(), 'skipped', 'full', 'seeded', 100, 0, 0, 0, 0, 0, 0, '{}', 'unchanged', 'seeded by the test: no first sync')`,
  );
  serveSheet = writeCsv(dir, [HEADER, ...clean]);
  service = spawnCli(['serve'], {
    ...cliEnv(),
    SHEET_SOURCE: serveSheet,
    SYNC_CRON: '0 0 1 1 *',
    HEALTH_CRON: '0 0 1 1 *',
    DASHBOARD_OPERATOR_TOKEN: TOKEN,
  });
  url = await waitFor(
    'the dashboard URL in the log',
    async () => /dashboard at (http:\/\/\S+\/) /.exec(service.output().stdout)?.[1],
    60_000,
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  if (service && service.child.exitCode === null) {
    service.child.kill('SIGTERM');
    await service.done;
  }
  rmSync(dir, { recursive: true, force: true });
});

const figure = (page: Page, name: string) => page.locator(`[data-figure="${name}"]`).first();

/** Every visible element inside the viewport's width, and no text cut by its own box. */
async function overflowing(page: Page): Promise<string[]> {
  // Runs in the page (a string: this file is type-checked without the DOM's types).
  return page.evaluate<string[]>(`(() => {
    const width = document.documentElement.clientWidth;
    const bad = [];
    for (const el of document.querySelectorAll('#app *')) {
      if (el.closest('.u-wrap, .skip') || el.offsetParent === null) continue;
      const r = el.getBoundingClientRect();
      const name = el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ').join('.') : '') + ' "' + (el.textContent || '').slice(0, 40) + '"';
      if (r.width > 0 && (r.right > width + 1 || r.left < -1)) bad.push(name + ' spans ' + Math.round(r.left) + '..' + Math.round(r.right) + ' of ' + width);
      else if (getComputedStyle(el).overflowX !== 'auto' && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1 && !['TABLE', 'TBODY', 'THEAD', 'TR'].includes(el.tagName))
        bad.push(name + ' holds ' + el.scrollWidth + ' px in ' + el.clientWidth);
    }
    return bad;
  })()`);
}

/** The README's pictures are taken again only when asked (UPDATE_SCREENSHOTS=1): a test run never changes the tree. */
const UPDATE_DOCS = process.env.UPDATE_SCREENSHOTS === '1';

async function shoot(page: Page, name: string, docs: boolean): Promise<void> {
  if (docs && UPDATE_DOCS) await page.screenshot({ path: path.join(DOCS, `${name}.png`) });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/**
 * Refreshes (r) until the figure reads `want`: the server shares an answer for
 * a second or two (src/http/query-cache.ts), so a change made by the command
 * line shows at the first refresh after that.
 */
async function refreshUntil(page: Page, name: string, want: string): Promise<void> {
  await expect
    .poll(
      async () => {
        await page.keyboard.press('r');
        await page.waitForTimeout(250);
        return figure(page, name).textContent();
      },
      { timeout: 15_000, interval: 500 },
    )
    .toBe(want);
}

/** The page at a size and scheme, refreshed, settled. */
async function view(page: Page, size: { width: number; height: number }, colorScheme: 'light' | 'dark'): Promise<void> {
  await page.setViewportSize(size);
  await page.emulateMedia({ colorScheme });
  await page.keyboard.press('r');
  await page.waitForTimeout(400);
}

it('opens with the verdict: unknown before the first read, ok when in step, failing first with the reason on the bad day, at desktop and phone widths in both schemes', async () => {
  const page = await browser.newPage({ viewport: DESKTOP, locale: 'en-US', timezoneId: 'America/Los_Angeles' });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));

  // Nothing read, nothing synced: unknown, and no panel claims what was never checked.
  await page.goto(url);
  await expect.poll(() => figure(page, 'verdictLevel').textContent()).toBe('unknown');
  expect(await figure(page, 'verdictHeadline').textContent()).toBe('Waiting for the first sync');
  expect(await figure(page, 'verdictReason').textContent()).toBe('the sheet has not been read yet');
  expect(await page.locator('#status').textContent()).toBe('Not known yet');
  expect(await page.locator('#missing').textContent()).toContain('Not checked: the sheet has not been read yet');
  expect(await page.locator('#missing').textContent()).not.toContain('every buyer');
  expect(await figure(page, 'missingCount').textContent()).toBe('–');
  expect(await figure(page, 'lastSuccessAt').textContent()).toBe('never');
  // serve recorded its schedule (SYNC_CRON here: once a year) and its worker is alive: the next sync is known.
  expect(await figure(page, 'nextSyncAt').textContent()).toMatch(/\(schedule 0 0 1 1 \* UTC\)$/);
  // No report tab configured: the page says where the same report comes from.
  expect(await figure(page, 'reportStatus').textContent()).toContain('npx buyer-sync report --format md');

  // A clean sheet, synced and checked: ok.
  await seedHistory();
  const sheet = writeCsv(dir, [HEADER, ...clean]);
  expect((await runCli(['sync', '--source', sheet], cliEnv())).code).toBe(0);
  expect((await runCli(['health', '--source', sheet], cliEnv())).code).toBe(0);
  await refreshUntil(page, 'verdictLevel', 'ok');
  expect(await figure(page, 'verdictHeadline').textContent()).toBe(
    'In step: every buyer on the sheet is in the database',
  );
  for (const [size, scheme, name] of [
    [DESKTOP, 'light', 'dashboard-healthy'],
    [PHONE, 'light', 'dashboard-healthy-phone'],
    [DESKTOP, 'dark', 'dashboard-healthy-dark'],
    [PHONE, 'dark', 'dashboard-healthy-phone-dark'],
  ] as const) {
    await view(page, size, scheme);
    expect(await overflowing(page), `${name}`).toEqual([]);
    await shoot(page, name, scheme === 'light');
  }

  // The bad day: the key column's header renamed; three syncs fail; the health check is unhealthy.
  const broken = writeCsv(dir, [HEADER.map((h) => (h === 'Buyer Number' ? 'Buyer No.' : h)), ...clean]);
  for (let i = 0; i < 3; i++) expect((await runCli(['sync', '--source', broken], cliEnv())).code).toBe(3);
  // The health check cannot read the sheet either: unhealthy (exit 3: could not run).
  expect((await runCli(['health', '--source', broken], cliEnv())).code).not.toBe(0);
  const [sql] = await query<{ level: string; reason: string; headline: string }>(
    'select level, reason, headline from buyer_sync.verdict',
  );
  expect(sql).toMatchObject({ level: 'failing', headline: 'Failing: the latest sync failed' });
  expect(sql!.reason).not.toContain(dir);
  await refreshUntil(page, 'verdictLevel', 'failing');
  for (const [size, scheme, name] of [
    [DESKTOP, 'light', 'dashboard-failing'],
    [PHONE, 'light', 'dashboard-failing-phone'],
    [DESKTOP, 'dark', 'dashboard-failing-dark'],
    [PHONE, 'dark', 'dashboard-failing-phone-dark'],
  ] as const) {
    await view(page, size, scheme);
    await expect.poll(() => figure(page, 'verdictLevel').textContent()).toBe('failing');
    // Failing, first: the verdict comes before anything else in the page, and says why, since when and what to do.
    const first = await page.evaluate<string>(`document.querySelector('main').firstElementChild.id`);
    expect(first).toBe('verdict');
    expect(await page.locator('#status').textContent()).toBe('Failing');
    expect(await figure(page, 'verdictHeadline').textContent()).toBe(sql!.headline);
    expect(await figure(page, 'verdictReason').textContent()).toBe(sql!.reason);
    expect(await page.locator('#verdict').textContent()).toMatch(
      /Since .*What to do: .*Runbook: docs\/runbooks\.md#verdict-sync-failed/,
    );
    expect(await page.locator('#verdict').textContent()).not.toContain(dir);
    // On the first screen: the verdict with what to do, then the last attempt (failed).
    const todo = (await page.locator('.verdict-todo').boundingBox())!;
    expect(todo.y + todo.height, name).toBeLessThanOrEqual(size.height);
    expect(await figure(page, 'lastAttemptAt').textContent()).toMatch(/failed$/);
    expect(await overflowing(page), name).toEqual([]);
    // A light scheme is light and a dark one dark.
    const bg = await page.evaluate<string>(`getComputedStyle(document.body).backgroundColor`);
    expect(bg).toBe(scheme === 'dark' ? 'rgb(17, 20, 23)' : 'rgb(246, 247, 249)');
    await shoot(page, name, scheme === 'light');
  }
  expect(consoleErrors).toEqual([]);
  await page.close();
}, 180_000);

it('a known state: the figures, missing buyers and charts are the database\'s; an operator\'s "Sync now" runs a sync; long tables page; says so when the service is gone', async () => {
  const page = await browser.newPage({ viewport: DESKTOP, locale: 'en-US', timezoneId: 'America/Los_Angeles' });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(url);

  // A sync in which 14 of 54 buyers fail (budget not an amount), of the sheet serve reads: the operator's "Sync now"
  // below syncs the same rows, so the figures stay what they are whenever the page last refreshed.
  copyFileSync(writeCsv(dir, [HEADER, ...clean, ...failing]), serveSheet);
  expect((await runCli(['sync', '--source', serveSheet], cliEnv())).code).toBe(1);
  const [sql] = await query<Record<string, string | number>>('select * from buyer_sync.dashboard_summary');
  const [verdict] = await query<{ level: string; latest_error_rate: string }>('select * from buyer_sync.verdict');
  await refreshUntil(page, 'missingCount', '14');
  expect(sql).toMatchObject({ missing_count: 14, database_count: 40, spreadsheet_count: 54, retry_queue_size: 14 });
  expect(await figure(page, 'spreadsheetCount').textContent()).toBe('54');
  expect(await figure(page, 'databaseCount').textContent()).toBe('40');
  expect(await figure(page, 'errorRate').textContent()).toBe(`${verdict!.latest_error_rate} %`);
  expect(await figure(page, 'retryQueueSize').textContent()).toBe('14');
  expect(await figure(page, 'runs24H').textContent()).toBe(String(sql!.runs_24h));
  expect(await figure(page, 'openAlerts').textContent()).toBe(String(sql!.open_alerts));
  expect(await figure(page, 'verdictLevel').textContent()).toBe(verdict!.level);
  // The missing buyers: the first page of 10, the rest behind "Show all".
  const all = (
    await query<{ buyer_number: string }>('select buyer_number from buyer_sync.missing_buyers order by row_number')
  ).map((r) => r.buyer_number);
  expect(await page.locator('#missing tbody tr:visible td:first-child').allTextContents()).toEqual(all.slice(0, 10));
  await page.locator('#missing .show-all').click();
  expect(await page.locator('#missing tbody tr:visible td:first-child').allTextContents()).toEqual(all);
  expect(await page.locator('#alerts li').count()).toBe(Number(sql!.open_alerts));
  // Both charts drew; the error rate's latest day is the card's figure.
  expect(await page.locator('.chart canvas').count()).toBe(2);
  const [lastDay] = await query<{ label: string; error_rate: string }>(
    `select to_char(max(day), 'Mon FMDD') as label, (array_agg(error_rate order by day desc))[1] as error_rate from buyer_sync.daily_error_rate`,
  );
  expect(lastDay!.error_rate).toBe(verdict!.latest_error_rate);
  expect(await page.locator('.caption').first().textContent()).toContain(
    `On ${lastDay!.label} ${verdict!.latest_error_rate} %`,
  );
  expect(await page.locator('.u-legend').textContent()).toMatch(/constraint_violation.*data_type.*field_length/);
  const [buyersToday] = await query<{ n: number }>(
    `select count(distinct coalesce('b:' || buyer_number, 'r:' || row_number))::int as n from sync_error_log where created_at::date = now()::date`,
  );
  expect(await page.locator('.caption').nth(1).textContent()).toContain(`${buyersToday!.n} distinct buyer(s) failed`);
  expect(await page.locator('button:visible', { hasText: 'Sync now' }).count()).toBe(0);

  // An operator, by keyboard: t opens the token dialog, a wrong token is refused in it, the right one turns the actions on.
  await page.keyboard.press('t');
  await page.keyboard.type('not-the-right-token-000000');
  await page.keyboard.press('Enter');
  await expect.poll(() => page.locator('dialog .field-error').textContent()).toBe('the operator token is wrong');
  await page.locator('#token').fill('');
  await page.keyboard.type(TOKEN);
  await page.keyboard.press('Enter');
  await expect.poll(() => page.locator('.notice').textContent()).toBe('Operator actions are on for this tab.');
  expect(await page.locator('#missing button', { hasText: 'Sync now' }).count()).toBe(14);
  const runsBefore = (await query<{ n: number }>('select count(*)::int as n from sync_runs'))[0]!.n;
  await page.locator('header button', { hasText: 'Sync now' }).click();
  await expect
    .poll(() => page.locator('.notice').textContent())
    .toMatch(/^Requested: a full sync runs as soon as the worker is free \(job \d+\)\.$/);
  await waitFor(
    'the requested sync to run',
    async () =>
      (await query<{ n: number }>(`select count(*)::int as n from sync_runs where status <> 'running'`))[0]!.n ===
      runsBefore + 1,
    30_000,
  );
  expect((await query(`select mode, status from sync_runs order by started_at desc limit 1`))[0]).toMatchObject({
    mode: 'full',
  });

  // A phone: the Recent errors stack under their column names; nothing wider than the screen.
  await view(page, PHONE, 'light');
  expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
  const cell = (await page.locator('#errors tbody tr:visible td').last().boundingBox())!;
  expect(cell.width).toBeGreaterThan(PHONE.width / 2);
  expect(await overflowing(page)).toEqual([]);
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-known-phone.png'), fullPage: true });
  expect(consoleErrors).toEqual(['Failed to load resource: the server responded with a status of 401 (Unauthorized)']);

  // The service stops: the page says so, with what to do, and keeps the figures it had.
  service.child.kill('SIGTERM');
  expect((await service.done).code).toBe(0);
  await page.keyboard.press('r');
  await expect
    .poll(() => page.locator('.banner').textContent())
    .toMatch(
      /^cannot reach the API at \/graphql .*Is buyer-sync serve running\? The page tries again every 15 s\. The figures below are from /,
    );
  expect(await figure(page, 'missingCount').textContent()).toBe('14');
  await page.close();
}, 120_000);
