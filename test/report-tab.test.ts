/**
 * The sync report tab (issue 19), written through the real @googleapis/sheets
 * client into the local fake (src/testing/fake-sheets.ts) as a service account with
 * the spreadsheets scope: its lines are exactly the failing rows; unchanged
 * content writes nothing; a deleted tab is re-created; refused writes are
 * recorded, alerted once and never change a sync; notes come and go and a
 * person's note stays; the buyers tab's values never change; the Drive
 * version of our own write is told apart from a person's edit.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot, readConfig } from '../src/config.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { TAB_HEADER_ROWS } from '../src/report/format.ts';
import { isOwnReportWrite } from '../src/report/own-version.ts';
import { NOTE_PREFIX, reportWriteProblem, writeReportTab, type ReportWriteOptions } from '../src/report/tab.ts';
import { HEADER } from '../src/sample/generate.ts';
import { credentialsFromEnv, writeCredentialsFromEnv } from '../src/sheet/google/auth.ts';
import { GoogleSheetSource } from '../src/sheet/google/source.ts';
import { syncBuyers } from '../src/sync/engine.ts';
import { processRetryQueue } from '../src/sync/retry-round.ts';
import { FakeSheetsServer, num, text, WRITE_KINDS, type FakeCell, type FakeTab } from '../src/testing/fake-sheets.ts';
import { resetSyncState, useTestDatabase } from './helpers.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const fake = new FakeSheetsServer();
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-report-'));
const ACCOUNT = 'report-writer@example-project.iam.gserviceaccount.com';
const REPORT = 'buyer-sync report';
const db = useTestDatabase();
let keyFile = '';

beforeAll(async () => {
  await fake.start();
  keyFile = fake.serviceAccountKeyFile(ACCOUNT, path.join(dir, 'key.json'));
});
afterAll(async () => {
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  fake.faults.length = 0;
  fake.requests.length = 0;
  fake.afterRequest = null;
  await resetSyncState(db.pool);
  await db.pool.query('delete from buyer_sync_private.report_writes; delete from buyer_sync_private.report_state');
});

const headerCells = HEADER.map(text);
let sheetN = 0;
/** A spreadsheet whose first tab is the report tab (left by an earlier write), then the buyers tab. */
function publish(rows: (FakeCell | null)[][], o: { editor?: boolean; reportFirst?: boolean } = {}): string {
  const id = `report${String(sheetN++).padStart(8, '0')}xyz`;
  const tabs: FakeTab[] = [{ sheetId: 7, title: 'Buyers', rows: [headerCells, ...rows] }];
  if (o.reportFirst) tabs.unshift({ sheetId: 99, title: REPORT, rows: [[text('Buyer Number')], [text('B-1')]] });
  fake.add({ id, tabs, sharedWith: [ACCOUNT], editors: o.editor === false ? [] : [ACCOUNT], apiKeys: ['k'] });
  return id;
}

const env = () => ({ GOOGLE_APPLICATION_CREDENTIALS: keyFile });
const fast = { backoff: { baseMs: 5, maxMs: 40, attempts: 3 }, perMinute: 100_000, timeoutMs: 5_000 };
const source = (id: string) =>
  new GoogleSheetSource(
    { spreadsheetId: id, gid: null },
    {
      rootUrl: fake.url,
      driveRootUrl: fake.url,
      reportTab: REPORT,
      credentials: () => credentialsFromEnv(env()),
      ...fast,
    },
  );

function options(id: string, extra: Partial<ReportWriteOptions['config']> = {}): ReportWriteOptions {
  const config = readConfig({
    SHEET_SOURCE: `gsheets:${id}`,
    SHEET_REPORT_TAB: REPORT,
    GOOGLE_SHEETS_ROOT_URL: fake.url,
    GOOGLE_DRIVE_ROOT_URL: fake.url,
    GOOGLE_SHEETS_READS_PER_MINUTE: '100000',
  });
  return { config: { ...config, ...extra }, mapping, env: env(), timeoutMs: 5_000 };
}

async function sync(id: string) {
  const s = source(id);
  const version = await s.version();
  const r = await syncBuyers(db.pool, {
    mode: 'full',
    source: s,
    mapping,
    sourceVersion: 'version' in version ? `${version.version}; x` : null,
  });
  await s.release?.();
  return r;
}

const tab = (id: string, title: string) => fake.spreadsheets.get(id)!.tabs.find((t) => t.title === title);
const cellText = (c: FakeCell | null | undefined) => (c ? String(c.formatted).replace(/^'/, '') : '');
/** The report tab's failing-row lines: [row, buyer number, column header]. */
function tabLines(id: string): [number, string, string][] {
  const t = tab(id, REPORT)!;
  return t.rows
    .slice(TAB_HEADER_ROWS)
    .filter((r) => cellText(r[7]) === 'failing row')
    .map((r) => [Number(/"(\d+)"\)$/.exec(cellText(r[0]))![1]), cellText(r[1]), cellText(r[2])]);
}
const writesSince = (n: number) => fake.requests.slice(n).filter((r) => WRITE_KINDS.includes(r.kind));
const values = (t: FakeTab) => JSON.stringify(t.rows);

// Hostile sheets: bad dates and amounts, duplicates, missing buyer numbers, formula-like buyer numbers.
const key = fc.oneof(
  fc.integer({ min: 1, max: 12 }).map((n) => num(n, String(n).padStart(5, '0'))),
  fc.constantFrom('=A1', '+1', "'x", 'B,1', '"q"').map(text),
  fc.constant(null),
);
const cell = fc.oneof(fc.constant(null), fc.constantFrom('ok', '佐藤', '#N/A').map(text));
const date = fc.oneof(
  fc.constant(null),
  fc.constant(num(45000, '2023-03-15')),
  fc.constantFrom('someday', '2024-02-30').map(text),
);
const budget = fc.oneof(fc.constant(null), fc.constant(num(1000)), fc.constantFrom('3500万円', '#VALUE!').map(text));
const row = fc.tuple(
  key,
  ...HEADER.slice(1).map((h) =>
    h === 'Inquiry Date' || h === 'Next Follow-up' ? date : h === 'Budget' ? budget : cell,
  ),
);

describe('the report tab', () => {
  it('property: its lines are exactly the failing rows; the buyers tab never changes; the report tab is never read as the sheet', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 14 }), async (rows) => {
        await resetSyncState(db.pool);
        await db.pool.query(
          'delete from buyer_sync_private.report_writes; delete from buyer_sync_private.report_state',
        );
        const id = publish(rows as (FakeCell | null)[][], { reportFirst: true });
        const buyersBefore = values(tab(id, 'Buyers')!);
        await sync(id);
        const w = await writeReportTab(db.pool, options(id));
        expect(w.outcome).toBe('written');
        await sync(id); // the report tab is the first tab: the source must still read Buyers
        expect((await writeReportTab(db.pool, options(id))).outcome).toBe('unchanged');
        const { rows: failing } = await db.pool.query<{
          row_number: number;
          buyer_number: string | null;
          column_name: string | null;
        }>(
          `select e.row_number, e.buyer_number, e.column_name from public.sync_error_log e
            where e.run_id = (select id from public.sync_runs where mode = 'full' and status = 'succeeded' order by started_at desc limit 1)
              and e.row_number is not null
            order by e.row_number, e.buyer_number collate "C", e.column_name collate "C"`,
        );
        const header = (c: string | null) => mapping.columns.find((m) => m.column === c)?.header ?? c ?? '';
        expect(tabLines(id)).toEqual(failing.map((f) => [f.row_number, f.buyer_number ?? '', header(f.column_name)]));
        expect(values(tab(id, 'Buyers')!)).toBe(buyersBefore);
        expect(
          fake.requests.filter(
            (r) => WRITE_KINDS.includes(r.kind) && JSON.stringify(r.body ?? {}).includes("'Buyers'"),
          ),
        ).toEqual([]);
      }),
      { numRuns: 8 },
    );
  });

  it('writes nothing when the content did not change, re-creates a deleted tab with its warning-only protection, and cuts nothing short under 10,000 lines', async () => {
    const id = publish([[text('B-1'), text('a'), null, null, null, text('someday')], [text('B-2')]]);
    await sync(id);
    const first = await writeReportTab(db.pool, options(id));
    expect(first).toMatchObject({ outcome: 'written', recreated: false });
    const kinds = writesSince(0).map((r) => r.kind);
    expect(kinds.filter((k) => k === 'clear')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'valuesBatchUpdate')).toHaveLength(1);
    expect(tab(id, REPORT)!.protectedRanges).toEqual([expect.objectContaining({ warningOnly: true })]);
    const n = fake.requests.length;
    await sync(id);
    expect((await writeReportTab(db.pool, options(id))).outcome).toBe('unchanged');
    expect(writesSince(n)).toEqual([]);
    // Someone deletes the tab: the next write puts it back.
    const sheet = fake.spreadsheets.get(id)!;
    sheet.tabs = sheet.tabs.filter((t) => t.title !== REPORT);
    fake.touch(id);
    expect(await writeReportTab(db.pool, options(id))).toMatchObject({ outcome: 'written', recreated: true });
    expect(tabLines(id)).toEqual([[2, 'B-1', 'Inquiry Date']]);
    expect(tab(id, REPORT)!.protectedRanges).toHaveLength(1);
  });

  it('a refused write (403 not an editor, 429 quota) is recorded, alerted once, retried, and leaves the sync as it was', async () => {
    const id = publish([[text('B-1'), null, null, null, null, text('someday')]], { editor: false });
    const result = await sync(id);
    const runBefore = (await db.pool.query(`select * from public.sync_runs where id = $1`, [result.runId])).rows[0];
    const a = await writeReportTab(db.pool, options(id));
    expect(a).toMatchObject({ outcome: 'failed', failure: 'permission', status: 403, alerted: true });
    const b = await writeReportTab(db.pool, options(id));
    expect(b).toMatchObject({ outcome: 'failed', failure: 'permission', alerted: false });
    expect(b.outcome === 'failed' && b.retryInMs).toBeGreaterThan(a.outcome === 'failed' ? a.retryInMs - 1 : 0);
    const alerts = await db.pool.query(
      `select message, details from public.sync_alerts where type = 'report_write_failed' and resolved_at is null and resolves is null`,
    );
    expect(alerts.rows).toHaveLength(1);
    expect(alerts.rows[0].message).toContain(`share the spreadsheet with ${ACCOUNT} as Editor`);
    expect((await db.pool.query(`select * from public.sync_runs where id = $1`, [result.runId])).rows[0]).toEqual(
      runBefore,
    );

    // Shared as Editor now, but Google's quota is exhausted once: recorded as quota, then written.
    fake.spreadsheets.get(id)!.editors = [ACCOUNT];
    fake.faults.push({ kind: 'valuesBatchUpdate', times: 1, status: 429, retryAfterSeconds: 1 });
    expect(await writeReportTab(db.pool, options(id))).toMatchObject({
      outcome: 'failed',
      failure: 'quota',
      status: 429,
      alerted: true,
    });
    expect(await writeReportTab(db.pool, options(id))).toMatchObject({ outcome: 'written' });
    const { rows: log } = await db.pool.query(
      `select outcome, failure, http_status from buyer_sync_private.report_writes order by id`,
    );
    expect(log).toEqual([
      { outcome: 'failed', failure: 'permission', http_status: 403 },
      { outcome: 'failed', failure: 'permission', http_status: 403 },
      { outcome: 'failed', failure: 'quota', http_status: 429 },
      { outcome: 'written', failure: null, http_status: null },
    ]);
    const open = await db.pool.query(
      `select 1 from public.sync_alerts where type = 'report_write_failed' and resolved_at is null and resolves is null`,
    );
    expect(open.rows).toEqual([]);
  });

  it('an API key cannot write, and says so in one line; a CSV source has no tab', () => {
    expect(
      reportWriteProblem({ sheetReportTab: REPORT, sheetSource: 'gsheets:abcdefghijkl' }, { GOOGLE_API_KEY: 'k' }),
    ).toMatch(/API key.*can only read/);
    expect(reportWriteProblem({ sheetReportTab: REPORT, sheetSource: 'buyers.csv' }, {})).toMatch(/CSV export/);
    expect(reportWriteProblem({ sheetReportTab: null, sheetSource: 'buyers.csv' }, {})).toBeNull();
    expect(reportWriteProblem({ sheetReportTab: REPORT, sheetSource: 'gsheets:abcdefghijkl' }, env())).toBeNull();
    expect(() => writeCredentialsFromEnv({ GOOGLE_API_KEY: 'k' })).toThrow(/API key/);
  });

  it("notes: one on each failing cell, gone when the row syncs; a person's note is never touched; values untouched", async () => {
    const id = publish([
      [text('B-1'), null, null, null, null, text('someday')],
      [text('B-2'), null, null, null, null, null, null, null, null, text('3500万円')],
    ]);
    const buyers = tab(id, 'Buyers')!;
    buyers.notes = { '2,9': 'call the buyer first (person)' }; // row 3, Budget
    const before = values(buyers);
    await sync(id);
    const o = options(id, { sheetReportNotes: true });
    expect(await writeReportTab(db.pool, o)).toMatchObject({ outcome: 'written' });
    expect(buyers.notes['1,5']).toMatch(new RegExp(`^${NOTE_PREFIX} .*Inquiry Date`));
    expect(buyers.notes['2,9']).toBe('call the buyer first (person)');
    const noteWrites = fake.requests.filter(
      (r) => r.kind === 'batchUpdate' && JSON.stringify(r.body).includes('updateCells'),
    );
    for (const w of noteWrites)
      for (const req of (w.body as { requests: { updateCells: { fields: string } }[] }).requests)
        expect(req.updateCells.fields).toBe('note');
    // The row is fixed on the sheet and synced: its note goes, the person's stays.
    buyers.rows[1]![5] = text('2024-03-15');
    fake.touch(id);
    await sync(id);
    expect(await writeReportTab(db.pool, o)).toMatchObject({ outcome: 'written' });
    expect(buyers.notes['1,5']).toBeUndefined();
    expect(buyers.notes['2,9']).toBe('call the buyer first (person)');
    buyers.rows[1]![5] = text('someday'); // back as it was, to compare values
    expect(values(buyers)).toBe(before);
  });

  it('a retry that fixes a row takes it off the list', async () => {
    const id = publish([[text('B-1'), null, null, null, null, text('someday')]]);
    await sync(id);
    await writeReportTab(db.pool, options(id));
    expect(tabLines(id)).toHaveLength(1);
    tab(id, 'Buyers')!.rows[1]![5] = text('2024-03-15');
    fake.touch(id);
    await db.pool.query(`update public.retry_queue set next_retry_at = now() - interval '1 second'`);
    const s = source(id);
    await processRetryQueue(db.pool, { mapping, limit: 10, sourceFor: () => s, batchSize: 100 });
    await s.release?.();
    expect(await writeReportTab(db.pool, options(id))).toMatchObject({ outcome: 'written' });
    expect(tabLines(id)).toEqual([]);
  });

  it('the Drive version our own write produced is ours; an edit racing the write is not', async () => {
    const id = publish([[text('B-1'), null, null, null, null, text('someday')]]);
    await sync(id);
    const w = await writeReportTab(db.pool, options(id));
    expect(w.outcome === 'written' && w.ownVersion).toBe(String(fake.spreadsheets.get(id)!.version));
    const read = (
      await db.pool.query(
        `select source_version from public.sync_runs where mode = 'full' order by started_at desc limit 1`,
      )
    ).rows[0].source_version as string;
    const own = async () =>
      (
        await db.pool.query(`select buyer_sync.is_own_report_version($1, $2, $3) as own`, [
          id,
          /^\d+/.exec(read)![0],
          String(fake.spreadsheets.get(id)!.version),
        ])
      ).rows[0].own;
    expect(await own()).toBe(true);
    // What unchanged.ts asks (with the change proposed for it): our version is unchanged, the read one's tail must match.
    const now = `${fake.spreadsheets.get(id)!.version}${read.replace(/^\d+/, '')}`;
    expect(await isOwnReportWrite(db.pool, `gsheets:${id}#gid=7`, read, now)).toBe(true);
    expect(await isOwnReportWrite(db.pool, `gsheets:${id}#gid=7`, read, `${now}-other mapping`)).toBe(false);

    // A person edits while the next write is under way: the version it ends at is not ours.
    tab(id, 'Buyers')!.rows.push([text('B-9'), null, null, null, null, text('later')]);
    await db.pool
      .query(`insert into public.sync_error_log (run_id, row_number, buyer_number, error_type, column_name, error_message, retryable)
      select id, 9, 'B-X', 'data_type', 'budget', 'row 9: column "Budget" (budget) is not an integer amount', false from public.sync_runs where mode = 'full' order by started_at desc limit 1`);
    fake.afterRequest = () => {
      const last = fake.requests[fake.requests.length - 1]!;
      if (last.kind === 'clear') fake.touch(id);
    };
    const raced = await writeReportTab(db.pool, options(id));
    expect(raced).toMatchObject({ outcome: 'written', ownVersion: null });
    expect(await own()).toBe(false);
  });
});
