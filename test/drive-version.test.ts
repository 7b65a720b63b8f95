/**
 * An unchanged Google sheet costs a scheduled sync one request: the worker's
 * full-sync task asks Drive for the file's version (the real @googleapis/drive
 * client against the local fake's files.get), and when it is the version the
 * last full read saw, records the run as skipped with why and reads nothing.
 * It reads in full when the sheet changed, when the last full read is older
 * than SHEET_FULL_READ_MINUTES, when Drive refuses, and whenever the sync was
 * requested rather than scheduled. A skipped run keeps stale_sync quiet and
 * counts in no error rate.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { HEADER } from '../src/sample/generate.ts';
import { setWorkerContext } from '../src/worker/context.ts';
import { fullSync } from '../src/worker/jobs.ts';
import { FakeSheetsServer, text, type FakeCell } from '../src/testing/fake-sheets.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, useTestDatabase, writeCsv } from './helpers.ts';

const SHEET = 'driveVersionSheet000000000000000000000000001';
const fake = new FakeSheetsServer();
const db = useTestDatabase();
const { query } = db;
const logged: string[] = [];
const saved = { key: process.env.GOOGLE_API_KEY, creds: process.env.GOOGLE_APPLICATION_CREDENTIALS };

const rows: (FakeCell | null)[][] = [
  HEADER.map(text),
  ...Array.from({ length: 30 }, (_, i) =>
    HEADER.map((h, c) => (c === 0 ? text(`D${String(i + 1).padStart(3, '0')}`) : h === 'Status' ? text('新規') : null)),
  ),
];

/** The version a run records: Drive's, the tab, and what else decides what a read writes (the mapping, buyer-sync's version). */
const version = (drive: string) =>
  expect.stringMatching(
    new RegExp(`^${drive.replace(/[()"]/g, '\\$&')}; mapping [0-9a-f]{12}, buyer-sync \\d+\\.\\d+\\.\\d+$`),
  );
const latestRun = async () =>
  (
    await query<{ status: string; source_version: string | null; skipped_because: string | null; total_rows: number }>(
      'select status, source_version, skipped_because, total_rows from sync_runs order by started_at desc limit 1',
    )
  )[0]!;

function useContext(env: Record<string, string> = {}): void {
  const config = readConfig({
    DATABASE_URL: db.url,
    SHEET_SOURCE: `gsheets:${SHEET}`,
    GOOGLE_SHEETS_ROOT_URL: fake.url,
    GOOGLE_DRIVE_ROOT_URL: fake.url,
    GOOGLE_SHEETS_BACKOFF_MS: '5',
    VERIFY_SAMPLE: '5',
    GOOGLE_SHEETS_READS_PER_MINUTE: '6000',
    ...env,
  });
  setWorkerContext({
    pool: db.pool,
    config,
    mapping: loadMapping(config.mappingFile),
    engine: {},
    log: (l) => logged.push(l),
  });
}

/** The requests one scheduled (or requested) full sync makes, by kind. */
async function requestsOf(scheduled: boolean): Promise<Record<string, number>> {
  fake.requests.length = 0;
  await fullSync(undefined, { scheduled });
  const byKind: Record<string, number> = {};
  for (const r of fake.requests) byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
  return byKind;
}

beforeAll(async () => {
  fake.add({ id: SHEET, tabs: [{ sheetId: 0, title: 'Buyers', rows }], apiKeys: ['drive-test-key'] });
  await fake.start();
  process.env.GOOGLE_API_KEY = 'drive-test-key';
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
});
afterAll(async () => {
  setWorkerContext(null);
  if (saved.key === undefined) delete process.env.GOOGLE_API_KEY;
  else process.env.GOOGLE_API_KEY = saved.key;
  if (saved.creds !== undefined) process.env.GOOGLE_APPLICATION_CREDENTIALS = saved.creds;
  await fake.stop();
});
beforeEach(() => {
  logged.length = 0;
  useContext();
});

describe('a scheduled full sync of a Google sheet', () => {
  it("reads it in full the first time (recording Drive's version), then, while nothing changes, costs one request and records why it skipped", async () => {
    const first = await requestsOf(true);
    expect(first.drive).toBe(1);
    expect((first.meta ?? 0) + (first.batchGet ?? 0) + (first.get ?? 0)).toBeGreaterThan(1);
    expect(await latestRun()).toMatchObject({
      status: 'succeeded',
      source_version: version('1 (first tab)'),
      total_rows: 30,
    });
    const reports = (await query<{ n: number }>('select count(*)::int as n from buyer_sync.verification_reports'))[0]!
      .n;

    for (let i = 0; i < 2; i++) {
      expect(await requestsOf(true)).toEqual({ drive: 1 });
      const run = await latestRun();
      expect(run.status).toBe('skipped');
      expect(run.source_version).toEqual(version('1 (first tab)'));
      expect(run.skipped_because).toMatch(
        /^unchanged: version 1 \(first tab\) \(modified [^)]+\) is the one run [0-9a-f-]{36} read in full 0 min ago$/,
      );
      expect(logged.at(-1)).toMatch(
        /^sync run [0-9a-f-]{36} \(full\) of "gsheets:driveVersionSheet[^"]+": skipped, unchanged: version 1 \(first tab\)/,
      );
    }
    // Nothing read, nothing verified, nothing counted as a sync.
    expect((await query<{ n: number }>('select count(*)::int as n from buyer_sync.verification_reports'))[0]!.n).toBe(
      reports,
    );
    expect(
      await query(`select status, count(*)::int as n from buyer_sync.run_stats group by status order by status`),
    ).toEqual([
      { status: 'skipped', n: 2 },
      { status: 'succeeded', n: 1 },
    ]);
    expect(await query(`select total_rows from buyer_sync.last_full_sync`)).toEqual([{ total_rows: 30 }]);
  });

  it('reads it in full once the sheet changed (a new Drive version), and the change is synced', async () => {
    rows[1]![HEADER.indexOf('Status')] = text('商談中');
    fake.touch(SHEET);
    const r = await requestsOf(true);
    expect(r.drive).toBe(1);
    expect(r.batchGet).toBeGreaterThan(0);
    expect(await latestRun()).toMatchObject({ status: 'succeeded', source_version: version('2 (first tab)') });
    expect(await query(`select status from buyers where buyer_number = 'D001'`)).toEqual([{ status: '商談中' }]);
    expect(await requestsOf(true)).toEqual({ drive: 1 });
  });

  it('reads it in full when the last full read is older than SHEET_FULL_READ_MINUTES, and says why', async () => {
    await db.pool.query(
      `update sync_runs set started_at = started_at - interval '61 minutes' where status = 'succeeded'`,
    );
    const r = await requestsOf(true);
    expect(r.batchGet).toBeGreaterThan(0);
    expect(await latestRun()).toMatchObject({ status: 'succeeded', source_version: version('2 (first tab)') });
    expect(logged).toContainEqual(
      expect.stringMatching(
        /^the sheet is unchanged since run [0-9a-f-]{36}, read in full 61 min ago: reading it in full again \(SHEET_FULL_READ_MINUTES=60\)$/,
      ),
    );
    useContext({ SHEET_FULL_READ_MINUTES: '1' });
    await db.pool.query(
      `update sync_runs set started_at = started_at - interval '2 minutes' where status = 'succeeded'`,
    );
    expect((await requestsOf(true)).batchGet).toBeGreaterThan(0);
  });

  it('reads it in full when another tab is configured (the version names the tab it selects)', async () => {
    useContext({ SHEET_TAB: 'Buyers' });
    expect((await requestsOf(true)).batchGet).toBeGreaterThan(0);
    expect(await latestRun()).toMatchObject({ status: 'succeeded', source_version: version('2 (tab "Buyers")') });
    expect(await requestsOf(true)).toEqual({ drive: 1 });
  });

  it('reads it in full when Drive refuses or answers something unexpected, saying so', async () => {
    fake.faults.push({ kind: 'drive', times: 1, status: 403 });
    const refused = await requestsOf(true);
    expect(refused.drive).toBe(1);
    expect(refused.batchGet).toBeGreaterThan(0);
    expect(await latestRun()).toMatchObject({ status: 'succeeded', source_version: null });
    expect(logged).toContainEqual(
      expect.stringMatching(/^Drive did not give the sheet's version \(HTTP 403: .+\): reading the sheet in full$/),
    );
    // The next one has a version again, but the last full read recorded none: it reads, then skips.
    expect((await requestsOf(true)).batchGet).toBeGreaterThan(0);
    expect(await requestsOf(true)).toEqual({ drive: 1 });
    fake.faults.push({ kind: 'drive', times: 1, status: 500 });
    expect((await requestsOf(true)).batchGet).toBeGreaterThan(0);
  });

  it('a requested sync (the dashboard, SQL, the command line) always reads, and records the version it read, so the next scheduled one can skip', async () => {
    const r = await requestsOf(false);
    expect(r.drive).toBe(1);
    expect(r.batchGet).toBeGreaterThan(0);
    expect(await latestRun()).toMatchObject({ status: 'succeeded', source_version: version('2 (first tab)') });
    expect(await requestsOf(false)).toMatchObject({ drive: 1, meta: 1 });
    expect(await requestsOf(true)).toEqual({ drive: 1 });
  });
});

describe('skipped runs in the health views', () => {
  it('a sheet seen unchanged is not stale; without that, stale_sync holds', async () => {
    const stale = async () =>
      (
        await query<{ active: boolean }>(`select active from buyer_sync.health_conditions() where type = 'stale_sync'`)
      )[0]!.active;
    await db.pool.query(`delete from sync_runs`);
    await db.pool.query(
      `insert into sync_runs (started_at, finished_at, status, mode, source, batch_size) values (now() - interval '3 hours', now() - interval '3 hours', 'succeeded', 'full', 's', 100)`,
    );
    expect(await stale()).toBe(true);
    await db.pool.query(
      `insert into sync_runs (started_at, finished_at, status, mode, source, batch_size, source_version, skipped_because) values (now(), now(), 'skipped', 'full', 's', 100, '7', 'unchanged')`,
    );
    expect(await stale()).toBe(false);
    // A skipped run is no sync: the error rate and the last full sync stay the succeeded one's.
    expect(
      await query(`select finished_at < now() - interval '2 hours' as old from buyer_sync.last_full_sync`),
    ).toEqual([{ old: true }]);
    await expect(
      db.pool.query(`insert into sync_runs (status, mode, source, batch_size) values ('skipped', 'full', 's', 100)`),
    ).rejects.toThrow(/sync_runs_skipped_says_why/);
  });
});

describe("sync --if-changed (cron without serve): a CSV export's version is a hash of its bytes", () => {
  it('reads the first time; skips while the file is byte for byte the same (exit 1 while rows of that read still fail); reads once it changed; not with --only', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-ifchanged-'));
    try {
      await db.pool.query(`delete from sync_runs`);
      const good = (k: string) => HEADER.map((h, i) => (i === 0 ? k : h === 'Inquiry Date' ? '2024/04/01' : ''));
      const file = writeCsv(dir, [
        HEADER,
        good('C001'),
        good('C002'),
        HEADER.map((h, i) => (i === 0 ? 'C003' : h === 'Budget' ? 'lots' : '')),
      ]);
      const env = { DATABASE_URL: db.url, SHEET_ENCODING: undefined, ALERT_WEBHOOK_URL: undefined };
      const sync = async () => {
        const r = await runCli(['sync', '--source', file, '--if-changed', '--json'], env);
        return { code: r.code, body: JSON.parse(r.stdout) as Record<string, unknown> };
      };
      const first = await sync();
      expect(first).toMatchObject({ code: 1, body: { inserted: 2, failed: 1 } });
      const second = await sync();
      expect(second.code).toBe(1);
      expect(second.body).toMatchObject({
        status: 'skipped',
        still_failing: 1,
        skipped_because: expect.stringMatching(
          /^unchanged: version sha256 [0-9a-f]{32}, \d+ bytes is the one run [0-9a-f-]{36} read in full 0 min ago$/,
        ),
      });
      expect(await latestRun()).toMatchObject({ status: 'skipped', total_rows: 0 });
      writeFileSync(file, `${HEADER.join(',')}\r\n${good('C001').join(',')}\r\n${good('C002').join(',')}\r\n`);
      expect(await sync()).toMatchObject({ code: 0, body: { unchanged: 2, failed: 0 } });
      expect(await sync()).toMatchObject({ code: 0, body: { status: 'skipped', still_failing: 0 } });
      const usage = await runCli(['sync', '--source', file, '--if-changed', '--only', 'C001'], env);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('--if-changed is for a full sync: not with --only or --dry-run');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
