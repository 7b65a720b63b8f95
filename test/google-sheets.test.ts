/**
 * The Google Sheets source, through the real @googleapis/sheets client against
 * a local fake of the API (src/testing/fake-sheets.ts): the same sheet synced from the
 * API and from its CSV export gives identical buyers rows; faults are retried;
 * refusals are one line with what to do, and write nothing.
 */
import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { CannotRunError } from '../src/errors.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { HEADER } from '../src/sample/generate.ts';
import { CsvSheetSource } from '../src/sheet/csv/source.ts';
import { parseSheetAddress } from '../src/sheet/google/address.ts';
import { credentialsFromEnv, type SheetsCredentials } from '../src/sheet/google/auth.ts';
import { RateLimiter } from '../src/sheet/google/limiter.ts';
import { GoogleSheetSource, type GoogleSheetOptions } from '../src/sheet/google/source.ts';
import { syncBuyers } from '../src/sync/engine.ts';
import { sync } from '../src/index.ts';
import { verifyIntegrity } from '../src/verify/checker.ts';
import { FakeSheetsServer, num, text, type FakeCell } from '../src/testing/fake-sheets.ts';
import { readBuyers, recordedRuns, resetSyncState, runCli, useTestDatabase } from './helpers.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const fake = new FakeSheetsServer();
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-gsheets-'));
const db = useTestDatabase();
const ACCOUNT = 'buyer-sync@example-project.iam.gserviceaccount.com';
let keyFile = '';

beforeAll(async () => {
  await fake.start();
  keyFile = fake.serviceAccountKeyFile(ACCOUNT, path.join(dir, 'key.json'), { tokenUri: false });
});
afterAll(async () => {
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  // A run's copy of the sheet (personal data) goes with the run, success or failure.
  expect(readdirSync(snapshots)).toEqual([]);
});
beforeEach(() => {
  fake.afterRequest = null;
  fake.faults.length = 0;
  fake.requests.length = 0;
  return resetSyncState(db.pool);
});

const headerCells = HEADER.map(text);
let sheetN = 0;
function publish(
  rows: (FakeCell | null)[][],
  extra: { apiKeys?: string[]; sharedWith?: string[]; tabs?: { sheetId: number; title: string }[] } = {},
): string {
  const id = `sheet${String(sheetN++).padStart(8, '0')}xyz`;
  const tabs = [
    { sheetId: 0, title: 'Buyers 2024', rows: [headerCells, ...rows] },
    ...(extra.tabs ?? []).map((t) => ({ ...t, rows: [headerCells] })),
  ];
  fake.add({ id, tabs, apiKeys: extra.apiKeys ?? ['test-key'], sharedWith: extra.sharedWith ?? [ACCOUNT] });
  return id;
}

/** Where this file's sources keep their snapshots of a sheet: it must be empty after every sync, whatever the outcome. */
const snapshots = path.join(dir, 'snapshots');
mkdirSync(snapshots, { recursive: true });
const fast: GoogleSheetOptions = {
  backoff: { baseMs: 5, maxMs: 40, attempts: 6 },
  perMinute: 100_000,
  timeoutMs: 2_000,
  tempDir: snapshots,
};
const apiKey =
  (key = 'test-key'): (() => SheetsCredentials) =>
  () =>
    credentialsFromEnv({ GOOGLE_API_KEY: key });
const source = (id: string, opts: GoogleSheetOptions = {}) =>
  new GoogleSheetSource(
    { spreadsheetId: id, gid: null },
    { rootUrl: fake.url, credentials: apiKey(), ...fast, ...opts },
  );

/** The CSV export of a fake sheet: its displayed values. */
function csvExport(rows: (FakeCell | null)[][]): string {
  const width = HEADER.length;
  const file = path.join(dir, `export-${sheetN++}.csv`);
  const line = (cells: string[]) =>
    cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(',');
  const all = [HEADER, ...rows.map((r) => Array.from({ length: width }, (_, i) => r[i]?.formatted ?? ''))];
  while (all.length > 1 && all[all.length - 1]!.every((c) => c === '')) all.pop();
  writeFileSync(file, all.map(line).join('\r\n'));
  return file;
}

async function outcome() {
  const buyers = await readBuyers(db.pool);
  const { rows } = await db.pool.query(
    `select row_number, buyer_number, error_type from sync_error_log order by row_number`,
  );
  return { buyers: [...buyers].sort(), errors: rows };
}

// ---- generated sheets, typed as Google holds them ----
const pad2 = (n: number) => String(n).padStart(2, '0');
function isoOf(serial: number): string {
  const d = new Date(Date.UTC(1899, 11, 30) + serial * 86_400_000);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}
const keyCell = fc.oneof(
  fc.integer({ min: 1, max: 40 }).map((n) => num(n, String(n).padStart(5, '0'))), // number-formatted 00012
  fc.constantFrom('B-1', 'B-2', '東京-3').map(text),
  fc.constant(null),
);
const textCell = fc.oneof(
  fc.constant(null),
  fc.string({ unit: 'grapheme', maxLength: 12 }).map(text),
  fc.constantFrom('佐藤 太郎', 'a, "b"', ' pad ', '#N/A').map(text),
);
const dateCell = fc.oneof(
  fc.constant(null),
  fc
    .tuple(fc.integer({ min: 20000, max: 60000 }), fc.constantFrom('/', '-'), fc.boolean())
    .map(([s, sep, time]) => num(time ? s + 0.5 : s, isoOf(s).replaceAll('-', sep))),
  fc.constantFrom('2024-03-15', 'someday', '#REF!', '2024-02-30').map(text),
);
const budgetCell = fc.oneof(
  fc.constant(null),
  fc
    .tuple(fc.integer({ min: 0, max: 2_000_000_000 }), fc.constantFrom('plain', 'sep', 'yen'))
    .map(([n, f]) =>
      num(n, f === 'plain' ? String(n) : f === 'sep' ? n.toLocaleString('en-US') : `¥${n.toLocaleString('en-US')}`),
    ),
  fc.constantFrom('3500万円', '#VALUE!', '1.5').map(text),
);
const typedRow = fc.tuple(
  keyCell,
  ...HEADER.slice(1).map((h) =>
    h === 'Inquiry Date' || h === 'Next Follow-up' ? dateCell : h === 'Budget' ? budgetCell : textCell,
  ),
);

describe('a sheet read from Google and from its CSV export syncs identically', () => {
  it('property: identical buyers rows and identical failures, row by row', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(typedRow, { maxLength: 14 }), async (rows) => {
        const id = publish(rows);
        await resetSyncState(db.pool);
        const viaCsv = await sync(db.pool, { source: new CsvSheetSource(csvExport(rows)), mapping });
        const fromCsv = await outcome();
        await resetSyncState(db.pool);
        const viaApi = await sync(db.pool, { source: source(id), mapping });
        const fromApi = await outcome();
        expect(fromApi).toEqual(fromCsv);
        const same = { runId: '', source: '', durationMs: 0, rowsPerSecond: 0, encoding: null, alerts: [] };
        expect({ ...viaApi, ...same }).toEqual({ ...viaCsv, ...same });
        expect(viaApi.alerts.map((a) => a.type)).toEqual(viaCsv.alerts.map((a) => a.type));
        expect(viaApi.encoding).toBeNull();
        expect(viaCsv.encoding).toEqual({ label: 'UTF-8', how: 'detected' });
      }),
      // A run is two syncs of up to 14 typed rows, one through the Google client: 50 runs compare some 350 rows.
      { numRuns: 50 },
    );
  });

  it('property: a verification of the sheet through the API after its sync finds nothing, on the sync’s own copy and on a fresh read', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(typedRow, { maxLength: 14 }), async (rows) => {
        const id = publish(rows);
        await resetSyncState(db.pool);
        const kept = source(id);
        await syncBuyers(db.pool, { mode: 'full', source: kept, mapping, keepSource: true });
        const requests = fake.requests.length;
        try {
          const same = await verifyIntegrity(db.pool, {
            source: kept,
            mapping,
            sample: null,
            trigger: 'after_sync',
            keepSource: true,
          });
          expect(same.accuracy.mismatches).toEqual([]);
          // The sync's own copy: not one more request to Google.
          expect(fake.requests.length).toBe(requests);
        } finally {
          await kept.release?.();
        }
        const fresh = await verifyIntegrity(db.pool, { source: source(id), mapping, sample: null });
        expect(fresh.accuracy.mismatches).toEqual([]);
        expect(fresh.completeness.missingCount).toBe(
          (await db.pool.query('select count(*)::int as n from buyer_sync.missing_buyers')).rows[0].n,
        );
      }),
      // A run is a sync and two verifications through the Google client: 50 runs, some 350 rows.
      { numRuns: 50 },
    );
  });

  it('keeps a number-formatted 00123, reads dates and amounts unformatted, and asks for each the right way', async () => {
    const row: (FakeCell | null)[] = HEADER.map(() => null);
    row[0] = num(123, '00123');
    row[5] = num(45366, '2024/03/15');
    row[9] = num(35_000_000, '¥35,000,000');
    const id = publish([row]);
    await sync(db.pool, { source: source(id), mapping });
    const buyers = await readBuyers(db.pool);
    expect(buyers.get('00123')).toEqual([
      '00123',
      null,
      null,
      null,
      null,
      '2024-03-15',
      null,
      null,
      null,
      '35000000',
      null,
      null,
      null,
      null,
    ]);
    const batch = fake.requests.filter((r) => r.kind === 'batchGet');
    expect(batch.map((r) => r.valueRenderOption).sort()).toEqual(['FORMATTED_VALUE', 'UNFORMATTED_VALUE']);
    expect(batch.find((r) => r.valueRenderOption === 'UNFORMATTED_VALUE')!.ranges).toEqual([
      "'Buyers 2024'!F2:F1000",
      "'Buyers 2024'!J2:J1000",
      "'Buyers 2024'!M2:M1000",
      "'Buyers 2024'!A2:A1000", // the buyer numbers again: both requests must have seen the same rows
    ]);
  });
});

describe('faults are retried; a sheet that cannot be read writes nothing', () => {
  const rows = Array.from({ length: 30 }, (_, i) => [text(`B${i}`), text(`name ${i}`)]);

  it.each([
    ['a burst of 429s', { status: 429, times: 3 }],
    ['429 with Retry-After', { status: 429, times: 1, retryAfterSeconds: 0 }],
    ['503s', { status: 503, times: 2 }],
    ['500 and 504', { status: 500, times: 1 }],
    ['a slow response (timeout)', { delayMs: 600, times: 1 }],
    ['a connection reset mid-body', { resetMidBody: true, times: 2 }],
  ])('%s: retried, and the sync completes', async (_, fault) => {
    const id = publish(rows);
    fake.faults.push({ kind: 'batchGet', ...fault });
    const logs: string[] = [];
    const r = await sync(db.pool, { source: source(id, { timeoutMs: 300, log: (l) => logs.push(l) }), mapping });
    expect(r).toMatchObject({ inserted: 30, failed: 0 });
    expect(logs.some((l) => /retrying in \d+ ms/.test(l))).toBe(true);
  });

  it('a sheet that keeps failing: exit 3 after the last attempt, nothing written', async () => {
    const id = publish(rows);
    fake.faults.push({ kind: 'batchGet', status: 503, times: 100 });
    const err = await sync(db.pool, { source: source(id, { targetBytes: 200 }), mapping }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CannotRunError);
    expect((err as Error).message).toMatch(
      /Google Sheets kept failing while reading rows .* \(503 UNAVAILABLE\) after 6 attempts; nothing was written/,
    );
    expect((await db.pool.query('select count(*)::int as n from buyers')).rows[0].n).toBe(0);
    // Google being down is a failed run with its reason, not a quiet day.
    expect(await recordedRuns(db.pool)).toEqual([
      { status: 'failed', failure: 'sheet', error_type: 'transient', total_rows: 0, inserted: 0 },
    ]);
  });

  it('a refusal after the first chunks of a large sheet: nothing written (one snapshot, never half)', async () => {
    const big = Array.from({ length: 600 }, (_, i) => [text(`B${i}`), text('x'.repeat(50))]);
    const id = publish(big);
    fake.faults.push({ kind: 'batchGet', status: 404, times: 100, after: 4 });
    const err = await sync(db.pool, { source: source(id, { targetBytes: 2000 }), mapping }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CannotRunError);
    expect(fake.count('batchGet')).toBe(5);
    expect((await db.pool.query('select count(*)::int as n from buyers')).rows[0].n).toBe(0);
    expect(await recordedRuns(db.pool)).toEqual([
      { status: 'failed', failure: 'sheet', error_type: 'unknown', total_rows: 0, inserted: 0 },
    ]);
  });
});

describe('a sheet edited while it is being read', () => {
  const rowsOf = (n: number) =>
    Array.from({ length: n }, (_, i) => [
      text(`B${i}`),
      text(`n${i}`),
      null,
      null,
      null,
      num(45000 + i, isoOf(45000 + i)),
    ]);

  it('a row inserted between the two requests of a chunk is noticed, and the chunk read again', async () => {
    const rows = rowsOf(20);
    const id = publish(rows);
    const tab = fake.spreadsheets.get(id)!.tabs[0]!;
    fake.afterRequest = (n) => {
      if (n === 3) tab.rows.splice(5, 0, [text('NEW'), text('inserted'), null, null, null, num(44000, isoOf(44000))]);
    };
    const logs: string[] = [];
    const r = await sync(db.pool, { source: source(id, { log: (l) => logs.push(l) }), mapping });
    expect(r).toMatchObject({ inserted: 21, failed: 0 });
    const buyers = await readBuyers(db.pool);
    expect(buyers.get('NEW')![5]).toBe(isoOf(44000)); // its own date, not its neighbour's
    expect(buyers.get('B4')![5]).toBe(isoOf(45004));
  });

  it('rows removed after their chunk was read: the final check notices and the sheet is read again', async () => {
    const id = publish(rowsOf(300));
    const tab = fake.spreadsheets.get(id)!.tabs[0]!;
    let done = false;
    fake.afterRequest = () => {
      if (!done && fake.count('batchGet') === 4) {
        done = true;
        tab.rows.splice(2, 1); // B1 is deleted from the sheet
      }
    };
    const logs: string[] = [];
    const r = await sync(db.pool, { source: source(id, { targetBytes: 3000, log: (l) => logs.push(l) }), mapping });
    expect(logs.some((l) => /the sheet changed while it was being read .*reading it again/.test(l))).toBe(true);
    expect(r).toMatchObject({ inserted: 299, failed: 0 });
    expect((await readBuyers(db.pool)).has('B1')).toBe(false);
  });

  it('a sheet that keeps changing: exit 3, nothing written', async () => {
    const id = publish(rowsOf(50));
    const tab = fake.spreadsheets.get(id)!.tabs[0]!;
    let k = 0;
    fake.afterRequest = () => {
      tab.rows.splice(1, 0, [text(`X${k++}`)]);
    };
    const err = await sync(db.pool, { source: source(id), mapping }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CannotRunError);
    expect((err as Error).message).toMatch(/^the sheet kept changing while it was being read .*nothing was written/);
    expect((await db.pool.query('select count(*)::int as n from buyers')).rows[0].n).toBe(0);
  });
});

describe('refusals say what to do', () => {
  it('a sheet not shared with the service account names the account', async () => {
    const id = publish([[text('B1')]], { sharedWith: [] });
    const err = await source(id, { credentials: () => credentialsFromEnv({ GOOGLE_APPLICATION_CREDENTIALS: keyFile }) })
      .open()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CannotRunError);
    expect((err as Error).message).toBe(
      `Google refused access to spreadsheet ${id} (403 PERMISSION_DENIED): share the sheet (Viewer is enough) with the service account ${ACCOUNT}`,
    );
  });

  it('a service account the sheet is shared with reads it (self-signed JWT, signature checked by the fake)', async () => {
    const id = publish([[text('B1'), text('x')]]);
    const r = await sync(db.pool, {
      source: source(id, { credentials: () => credentialsFromEnv({ GOOGLE_APPLICATION_CREDENTIALS: keyFile }) }),
      mapping,
    });
    expect(r).toMatchObject({ inserted: 1 });
  });

  it('credentials Google does not accept (an unknown or deleted key) are 401, named, not retried', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const stranger = path.join(dir, 'stranger.json');
    writeFileSync(
      stranger,
      JSON.stringify({
        type: 'service_account',
        client_email: 'old@example-project.iam.gserviceaccount.com',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      }),
    );
    const id = publish([[text('B1')]]);
    const err = await source(id, {
      credentials: () => credentialsFromEnv({ GOOGLE_APPLICATION_CREDENTIALS: stranger }),
    })
      .open()
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `Google rejected the credentials (401 UNAUTHENTICATED) reading spreadsheet ${id}: check the key file of old@example-project.iam.gserviceaccount.com (it may have been deleted or disabled)`,
    );
    expect(fake.count()).toBe(1);
  });

  it('a key file that is not a service-account key says so', () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ type: 'authorized_user' }));
    expect(() => credentialsFromEnv({ GOOGLE_APPLICATION_CREDENTIALS: bad })).toThrow(/is not a service-account key/);
    expect(() => credentialsFromEnv({ GOOGLE_APPLICATION_CREDENTIALS: path.join(dir, 'none.json') })).toThrow(
      /is not a readable service-account key file/,
    );
  });

  it('an API key for a sheet not shared by link says to share it', async () => {
    const id = publish([[text('B1')]], { apiKeys: ['other-key'] });
    const err = await source(id)
      .open()
      .catch((e: unknown) => e);
    expect((err as Error).message).toContain('share the sheet with "Anyone with the link" (Viewer)');
  });

  it('an unknown spreadsheet is 404 with what to check, without retries', async () => {
    const err = await source('doesnotexist0000000')
      .open()
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'spreadsheet doesnotexist0000000 was not found (404 NOT_FOUND): check the URL or id in SHEET_SOURCE',
    );
    expect(fake.count()).toBe(1);
  });

  it('a missing tab lists the tabs there are', async () => {
    const id = publish([[text('B1')]], { tabs: [{ sheetId: 77, title: 'Archive' }] });
    const err = await source(id, { tab: 'Buyers 2025' })
      .open()
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `spreadsheet ${id} has no tab named "Buyers 2025" (SHEET_TAB); its tabs are "Buyers 2024", "Archive"`,
    );
    const byGid = await new GoogleSheetSource(
      { spreadsheetId: id, gid: 5 },
      { rootUrl: fake.url, credentials: apiKey(), ...fast },
    )
      .open()
      .catch((e: unknown) => e);
    expect((byGid as Error).message).toMatch(/has no tab with gid 5; its tabs are/);
  });

  it('SHEET_TAB and the URL gid pick the tab', async () => {
    const id = publish([[text('B1')]], { tabs: [{ sheetId: 77, title: 'Archive' }] });
    const sheet = new GoogleSheetSource(parseSheetAddress(`https://docs.google.com/spreadsheets/d/${id}/edit#gid=77`), {
      rootUrl: fake.url,
      credentials: apiKey(),
      ...fast,
    });
    const reader = await sheet.open();
    expect(fake.requests.at(-1)!.ranges[0]).toMatch(/^'Archive'!/);
    expect(reader.header).toEqual(HEADER);
    // The snapshot stays for the run (a second open reads it again), and goes when the run lets go of it.
    expect(readdirSync(snapshots)).toHaveLength(1);
    await sheet.release();
    expect(readdirSync(snapshots)).toEqual([]);
  });

  it('no credentials at all: exit 3 with both ways to provide them', () => {
    expect(() => credentialsFromEnv({})).toThrow(
      /set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file .* or GOOGLE_API_KEY/,
    );
  });
});

describe('addresses', () => {
  it.each([
    [
      'https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOp/edit#gid=123',
      { spreadsheetId: '1AbCdEfGhIjKlMnOp', gid: 123 },
    ],
    [
      'https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOp/edit?usp=sharing',
      { spreadsheetId: '1AbCdEfGhIjKlMnOp', gid: null },
    ],
    [
      'https://docs.google.com/spreadsheets/u/0/d/1AbCdEfGhIjKlMnOp/edit#gid=0',
      { spreadsheetId: '1AbCdEfGhIjKlMnOp', gid: 0 },
    ],
    ['gsheets:1AbCdEfGhIjKlMnOp', { spreadsheetId: '1AbCdEfGhIjKlMnOp', gid: null }],
    ['gsheets:1AbCdEfGhIjKlMnOp#gid=9', { spreadsheetId: '1AbCdEfGhIjKlMnOp', gid: 9 }],
  ])('%s', (spec, want) => {
    expect(parseSheetAddress(spec)).toEqual(want);
  });

  it.each([
    'https://example.com/spreadsheets/d/1AbCdEfGhIjKlMnOp',
    'gsheets:short',
    'https://docs.google.com/document/d/1AbCdEfGhIjKlMnOp',
  ])('rejects %s', (spec) => {
    expect(() => parseSheetAddress(spec)).toThrow();
  });
});

describe('the shared rate limiter', () => {
  it("lets a minute's quota through at once, then spaces requests out", async () => {
    vi.useFakeTimers();
    try {
      const limiter = new RateLimiter(60);
      let granted = 0;
      for (let i = 0; i < 62; i++) void limiter.acquire().then(() => granted++);
      await vi.advanceTimersByTimeAsync(10);
      expect(granted).toBe(60);
      await vi.advanceTimersByTimeAsync(1000);
      expect(granted).toBe(61);
      await vi.advanceTimersByTimeAsync(1000);
      expect(granted).toBe(62);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a 429 pauses every request of that credential', async () => {
    vi.useFakeTimers();
    try {
      const limiter = new RateLimiter(60);
      await limiter.acquire();
      limiter.pause(5000);
      let granted = false;
      void limiter.acquire().then(() => (granted = true));
      await vi.advanceTimersByTimeAsync(4000);
      expect(granted).toBe(false);
      await vi.advanceTimersByTimeAsync(2500);
      expect(granted).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the command line', () => {
  it('`sync --source <URL> --json` through 429s and 503s syncs exactly what the CSV export syncs', async () => {
    const rows = Array.from({ length: 250 }, (_, i) => {
      const r: (FakeCell | null)[] = HEADER.map(() => null);
      r[0] = num(i + 1, String(i + 1).padStart(6, '0'));
      r[1] = text(`佐藤 ${i}`);
      r[5] = i % 17 === 0 ? text('someday') : num(45000 + i, isoOf(45000 + i).replaceAll('-', '/'));
      r[9] = num(1_000_000 * i, `¥${(1_000_000 * i).toLocaleString('en-US')}`);
      return r;
    });
    const id = publish(rows);
    const env = {
      DATABASE_URL: db.url,
      GOOGLE_SHEETS_ROOT_URL: fake.url,
      GOOGLE_API_KEY: 'test-key',
      GOOGLE_SHEETS_BACKOFF_MS: '5',
      GOOGLE_SHEETS_READS_PER_MINUTE: '100000',
      GOOGLE_APPLICATION_CREDENTIALS: undefined,
    };
    const viaCsv = JSON.parse((await runCli(['sync', '--source', csvExport(rows), '--json'], env)).stdout);
    const fromCsv = await outcome();
    await resetSyncState(db.pool);
    fake.faults.push(
      { kind: 'batchGet', status: 429, times: 2 },
      { kind: 'meta', status: 503, times: 1 },
      { kind: 'batchGet', status: 503, times: 1 },
    );
    const r = await runCli(
      ['sync', '--source', `https://docs.google.com/spreadsheets/d/${id}/edit#gid=0`, '--json'],
      env,
    );
    expect(r.code).toBe(1); // the 'someday' rows fail, as they do from the CSV
    const viaApi = JSON.parse(r.stdout);
    expect(await outcome()).toEqual(fromCsv);
    for (const k of ['total_rows', 'blank_rows', 'inserted', 'updated', 'unchanged', 'failed', 'errors_by_type'])
      expect(viaApi[k]).toEqual(viaCsv[k]);
    expect(viaApi.source).toBe(`gsheets:${id}#gid=0`);
    expect(r.stderr).toMatch(/Google Sheets: 429 while reading/);
  });

  it('`missing --source gsheets:<id>` diffs the live sheet against the database', async () => {
    const id = publish([[text('B1')], [text('B2')], [null, text('no number')]]);
    await db.pool.query(`insert into buyers (buyer_number) values ('B1'), ('OLD')`);
    const r = await runCli(['missing', '--source', `gsheets:${id}`, '--json'], {
      DATABASE_URL: db.url,
      GOOGLE_SHEETS_ROOT_URL: fake.url,
      GOOGLE_API_KEY: 'test-key',
      GOOGLE_APPLICATION_CREDENTIALS: undefined,
    });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ spreadsheet_count: 2, database_count: 2, missing: ['B2'], extra: ['OLD'] });
  });

  it('an unshared sheet: exit 3, what to do, nothing written', async () => {
    const id = publish([[text('B1')]], { sharedWith: [] });
    const r = await runCli(['sync', '--source', `gsheets:${id}`], {
      DATABASE_URL: db.url,
      GOOGLE_SHEETS_ROOT_URL: fake.url,
      GOOGLE_APPLICATION_CREDENTIALS: keyFile,
      GOOGLE_API_KEY: undefined,
    });
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toBe(
      `buyer-sync: Google refused access to spreadsheet ${id} (403 PERMISSION_DENIED): share the sheet (Viewer is enough) with the service account ${ACCOUNT}`,
    );
    expect((await db.pool.query('select count(*)::int as n from buyers')).rows[0].n).toBe(0);
  });
});
