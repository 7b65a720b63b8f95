/**
 * The dashboard in a real browser: Debian's chromium, headless, driven by
 * playwright-core, against the real `buyer-sync serve` (its HTTP server and
 * worker) on a test database.
 * - Before any sync: the empty states say what to do.
 * - In a known state (a sync with failures on top of two weeks of history):
 *   the figures, the missing buyers and the charts are the database's.
 * - An operator enters the token by keyboard and asks for a sync: the job is
 *   enqueued and the worker runs it.
 * - On a phone-sized screen nothing overflows sideways.
 * - With the service gone, the page says so and keeps the last figures.
 * Screenshots go to test/output/ (dashboard.png, dashboard-phone.png).
 * No console errors along the way but the wrong token's 401 (a
 * content-security-policy violation would be one).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { HEADER } from '../src/sample/generate.ts';
import { createTestDatabase, runCli, spawnCli, waitFor, type CliProcess, type TestDatabase, writeCsv } from './helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = path.join(projectRoot, 'test', 'output');
const TOKEN = 'browser-test-token-0123456789';
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-browser-'));

let db: TestDatabase;
let browser: Browser;
let service: CliProcess;
let url: string;
let sheet: string;

const query = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) => (await db.pool.query<T>(sql, values)).rows;

function sheetRow(key: string, over: Record<number, string> = {}): string[] {
  return HEADER.map((h, i) => (i === 0 ? key : (over[i] ?? { Name: '山田 太郎', Phone: '090-1234-5678', 'Inquiry Date': '2024/04/01', Budget: '¥35,000,000' }[h] ?? '')));
}

/** Two weeks of earlier runs and errors, so the charts have days to show. */
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
    select 'H' || r.started_at::date || '-' || n, 2 + n, 'row ' || (2 + n) || ': seeded history', (array['data_type', 'field_length', 'constraint_violation'])[1 + n % 3], r.id, 'budget', r.started_at
      from runs r cross join generate_series(1, r.failed) n`);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  mkdirSync(OUTPUT, { recursive: true });
  db = await createTestDatabase();
  sheet = writeCsv(dir, [
    HEADER,
    ...Array.from({ length: 40 }, (_, i) => sheetRow(`B${String(i + 1).padStart(4, '0')}`)),
    ...Array.from({ length: 14 }, (_, i) => sheetRow(`M${String(i + 1).padStart(4, '0')}`, { 9: 'about 30M' })),
  ]);
  service = spawnCli(['serve'], { DATABASE_URL: db.url, SHEET_SOURCE: sheet, SYNC_CRON: '0 0 1 1 *', HEALTH_CRON: '0 0 1 1 *', DASHBOARD_OPERATOR_TOKEN: TOKEN, SHEET_ENCODING: undefined, ALERT_WEBHOOK_URL: undefined });
  url = await waitFor('the dashboard URL in the log', async () => /dashboard at (http:\/\/\S+\/) /.exec(service.output().stdout)?.[1], 60_000);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  if (service && service.child.exitCode === null) {
    service.child.kill('SIGTERM');
    await service.done;
  }
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const figure = (page: Page, name: string) => page.locator(`[data-figure="${name}"]`).first();

it('shows the empty states, then the known state\'s numbers and charts; an operator\'s "Sync now" runs a sync; readable on a phone; says so when the service is gone', async () => {
  // A browser far west of the database: the database's days must stay its days.
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'America/Los_Angeles' });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));

  // Nothing synced yet.
  await page.goto(url);
  await expect.poll(() => page.locator('#status').textContent()).toBe('Waiting for the first full sync');
  await expect.poll(() => page.locator('#runs').textContent()).toContain('No sync has run yet');
  expect(await page.locator('#missing').textContent()).toContain('None: every buyer number on the sheet');
  expect(await figure(page, 'lastSyncTime').textContent()).toBe('never');

  // A known state: history, then a sync in which 14 of 54 buyers fail (budget not an amount).
  await seedHistory();
  expect((await runCli(['sync', '--source', sheet], { DATABASE_URL: db.url, SHEET_ENCODING: undefined, ALERT_WEBHOOK_URL: undefined })).code).toBe(1);
  const [sql] = await query<Record<string, string | number>>('select * from buyer_sync.dashboard_summary');
  await page.keyboard.press('r');
  await expect.poll(() => figure(page, 'missingCount').textContent()).toBe('14');
  expect(sql).toMatchObject({ missing_count: 14, database_count: 40, spreadsheet_count: 54, retry_queue_size: 14 });
  expect(await figure(page, 'spreadsheetCount').textContent()).toBe('54');
  expect(await figure(page, 'databaseCount').textContent()).toBe('40');
  expect(await figure(page, 'errorRate').textContent()).toBe(`${sql!.error_rate} %`);
  expect(await figure(page, 'retryQueueSize').textContent()).toBe('14');
  expect(await figure(page, 'runs24H').textContent()).toBe(String(sql!.runs_24h));
  expect(await figure(page, 'openAlerts').textContent()).toBe(String(sql!.open_alerts));
  const missing = await page.locator('#missing tbody tr td:first-child').allTextContents();
  expect(missing).toEqual((await query<{ buyer_number: string }>('select buyer_number from buyer_sync.missing_buyers order by row_number')).map((r) => r.buyer_number));
  expect(await page.locator('#status').textContent()).toMatch(/open alert\(s\)$/);
  expect(await page.locator('#alerts li').count()).toBe(Number(sql!.open_alerts));
  // Both charts drew (15 days of runs, errors of three types).
  expect(await page.locator('.chart canvas').count()).toBe(2);
  expect(await page.locator('.caption').first().textContent()).toMatch(/^15 day\(s\) with syncs/);
  const [lastDay] = await query<{ label: string }>(`select to_char(max(day), 'Mon FMDD') as label from buyer_sync.daily_runs`);
  expect(await page.locator('.caption').first().textContent()).toContain(`on ${lastDay!.label} ${sql!.error_rate} %`);
  expect(await page.locator('.u-legend').textContent()).toMatch(/constraint_violation.*data_type.*field_length/);
  // Read-only: no operator buttons.
  expect(await page.locator('button:visible', { hasText: 'Sync now' }).count()).toBe(0);
  await page.screenshot({ path: path.join(OUTPUT, 'dashboard.png'), fullPage: true });

  // An operator, by keyboard: t opens the token dialog, a wrong token is refused in it, the right one turns the actions on.
  await page.keyboard.press('t');
  await page.keyboard.type('not-the-right-token-000000');
  await page.keyboard.press('Enter');
  await expect.poll(() => page.locator('dialog .field-error').textContent()).toBe('the operator token is wrong');
  await page.locator('#token').fill('');
  await page.keyboard.type(TOKEN);
  await page.keyboard.press('Enter');
  await expect.poll(() => page.locator('.notice').textContent()).toBe('Operator actions are on for this tab.');
  expect(await page.locator('#missing button').count()).toBe(14);
  const runsBefore = (await query<{ n: number }>('select count(*)::int as n from sync_runs'))[0]!.n;
  await page.locator('header button', { hasText: 'Sync now' }).click();
  await expect.poll(() => page.locator('.notice').textContent()).toMatch(/^Requested: a full sync runs as soon as the worker is free \(job \d+\)\.$/);
  const job = /job (\d+)/.exec((await page.locator('.notice').textContent())!)![1];
  // The worker of the same serve process runs it.
  await waitFor('the requested sync to run', async () => (await query<{ n: number }>(`select count(*)::int as n from sync_runs where status <> 'running'`))[0]!.n === runsBefore + 1, 30_000);
  expect(await query(`select mode, status, source from sync_runs order by started_at desc limit 1`)).toEqual([{ mode: 'full', status: 'succeeded', source: sheet }]);
  expect(Number(job)).toBeGreaterThan(0);

  // A phone: one column, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.keyboard.press('r');
  await page.waitForTimeout(300);
  expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
  await page.screenshot({ path: path.join(OUTPUT, 'dashboard-phone.png'), fullPage: true });
  // The one the browser logs for the wrong token's 401, and nothing else.
  expect(consoleErrors).toEqual(['Failed to load resource: the server responded with a status of 401 (Unauthorized)']);

  // The service stops: the page says so, with what to do, and keeps the figures it had.
  service.child.kill('SIGTERM');
  expect((await service.done).code).toBe(0);
  await page.keyboard.press('r');
  await expect.poll(() => page.locator('.banner').textContent()).toMatch(/^cannot reach the API at \/graphql .*Is buyer-sync serve running\? The page tries again every 15 s\. The figures below are from /);
  expect(await figure(page, 'missingCount').textContent()).toBe('14');
  await page.close();
}, 120_000);
