/**
 * Writes the sync report into its tab of the buyers spreadsheet
 * (SHEET_REPORT_TAB), through the official client, as a service account with
 * the `spreadsheets` scope (auth.ts writeCredentialsFromEnv).
 *
 * - The buyers tab's values are never written: every value request names the
 *   report tab; cell notes (SHEET_REPORT_NOTES) are `updateCells` with fields
 *   "note" only, and only notes starting with NOTE_PREFIX are ever changed.
 * - Cheap: the content is built from SQL first; when its hash is the one last
 *   written (report_state), nothing is written (one metadata read checks the
 *   tab still exists). Otherwise at most: one spreadsheets.batchUpdate to
 *   (re-)create the tab with its warning-only protection, one values.clear,
 *   one values.batchUpdate, one batchUpdate of notes. Every request waits for
 *   the credential's shared rate limiter (limiter.ts).
 * - The Drive version is asked right before and right after writing. When the
 *   sheet was unchanged since the last full sync read it (or since our own
 *   previous write), and the version moved by no more than one per write
 *   request, the new version is recorded as our own (report_state.own_version):
 *   the scheduled sync treats it as unchanged (buyer_sync.is_own_report_version).
 *   Anything else (a person's edit meanwhile) records nothing, and the next
 *   scheduled sync reads the sheet.
 * - A refused or failed write never throws into a sync: it is recorded
 *   (report_writes), raises report_write_failed once per condition, and is
 *   returned as `failed` with when to try again (the worker requeues the job).
 */
import { createHash, randomInt } from 'node:crypto';
import type { sheets_v4 } from '@googleapis/sheets';
import type pg from 'pg';
import { columnLetter, normaliseHeader, type Mapping } from '../mapping/mapping.ts';
import { printable } from '../printable.ts';
import { isGoogleSheetsAddress } from '../sheet/open.ts';
import { parseSheetAddress, quoteTab } from '../sheet/google/address.ts';
import { writeCredentialsFromEnv, type SheetsCredentials } from '../sheet/google/auth.ts';
import { fileVersion } from '../sheet/google/drive.ts';
import { describeFailure } from '../sheet/google/failure.ts';
import { limiterFor } from '../sheet/google/limiter.ts';
import { chooseTab } from '../sheet/google/source.ts';
import { lastFullRead } from '../sync/sql/runs.ts';
import { buildReport, contentHash, lastSyncOf, type Report } from './content.ts';
import { headerOf, tabGrid } from './format.ts';
import {
  failedReportWritesSinceWritten,
  raiseReportWriteFailed,
  recordReportWriteFailed,
  recordReportWritten,
  reportState,
  resolveReportWriteFailed,
  runById,
  saveReportSetting,
  saveReportState,
} from './sql.ts';

/** Notes buyer-sync writes start with this; no other note is ever changed or removed. */
export const NOTE_PREFIX = 'buyer-sync:';

type WriteCreds = Extract<SheetsCredentials, { kind: 'service_account' }>;

/** The configuration's report settings (config.ts reads them from the environment). */
export interface ReportSettings {
  sheetSource: string | null;
  sheetTab: string | null;
  /** SHEET_REPORT_TAB, or null: no report tab. */
  sheetReportTab: string | null;
  /** SHEET_REPORT_NOTES=1: notes on the failing cells too. */
  sheetReportNotes: boolean;
  dashboardPublicUrl: string | null;
  sheetsRootUrl: string | null;
  driveRootUrl: string | null;
  sheetsReadsPerMinute: number;
}

export interface ReportWriteOptions {
  config: ReportSettings;
  mapping: Mapping | null;
  credentials?: () => WriteCreds;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export type Failure = 'permission' | 'scope' | 'quota' | 'server' | 'network' | 'other';

export type ReportWriteResult =
  | { outcome: 'off'; why: string | null }
  | { outcome: 'unchanged'; target: string }
  | {
      outcome: 'written';
      target: string;
      lines: number;
      requests: number;
      recreated: boolean;
      notes: number;
      ownVersion: string | null;
    }
  | {
      outcome: 'failed';
      target: string;
      failure: Failure;
      status: number | null;
      message: string;
      retryInMs: number;
      alerted: boolean;
    };

/**
 * Why the report tab cannot be written with this configuration, in one line
 * (serve and sync print it at start); null when it can, or is not asked for.
 */
export function reportWriteProblem(
  config: Pick<ReportSettings, 'sheetReportTab' | 'sheetSource'>,
  env: NodeJS.ProcessEnv = process.env,
): string | null {
  if (config.sheetReportTab === null) return null;
  if (config.sheetSource === null || !isGoogleSheetsAddress(config.sheetSource)) {
    return `SHEET_REPORT_TAB is set, but the sheet is a CSV export: there is no spreadsheet to write the report to (buyer-sync report prints it: --format md, csv or json)`;
  }
  if (!env.GOOGLE_APPLICATION_CREDENTIALS?.trim()) {
    return env.GOOGLE_API_KEY?.trim()
      ? 'SHEET_REPORT_TAB is set, but an API key (GOOGLE_API_KEY) can only read: the report tab needs a service account (GOOGLE_APPLICATION_CREDENTIALS) with the spreadsheets scope, and the sheet shared with it as Editor'
      : 'SHEET_REPORT_TAB is set, but no service account is configured: set GOOGLE_APPLICATION_CREDENTIALS and share the sheet with its e-mail as Editor';
  }
  return null;
}

/** serve records whether a report tab is configured: finished runs then enqueue report__write (migration 068). */
export async function recordReportSetting(
  pool: pg.Pool,
  config: Pick<ReportSettings, 'sheetReportTab' | 'sheetSource'>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const tab = reportWriteProblem(config, env) === null ? config.sheetReportTab : null;
  await saveReportSetting(pool, tab);
}

class Refused extends Error {
  readonly status: number | null;
  readonly apiStatus: string | null;
  readonly retryAfterMs: number | null;
  readonly code: string | null;
  constructor(err: unknown) {
    const f = describeFailure(err);
    super(f.message);
    this.status = f.status;
    this.apiStatus = f.apiStatus;
    this.retryAfterMs = f.retryAfterMs;
    this.code = f.code;
  }
  get failure(): Failure {
    if (this.status === 401) return 'scope';
    if (this.status === 403) return /scope/i.test(this.message) ? 'scope' : 'permission';
    if (this.status === 429) return 'quota';
    if (this.status !== null && this.status >= 500) return 'server';
    if (this.status === null && this.code !== null) return 'network';
    return 'other';
  }
}

const FIX: Record<Failure, (email: string) => string> = {
  permission: (email) =>
    `share the spreadsheet with ${email} as Editor (Viewer is enough to sync, not to write the report)`,
  scope: () =>
    'use a service-account key (GOOGLE_APPLICATION_CREDENTIALS) whose token carries the spreadsheets scope; an API key cannot write',
  quota: () => "Google's write quota was exceeded: nothing to do, the worker tries again later",
  server: () => 'Google answered with a server error: nothing to do, the worker tries again later',
  network: () => 'Google could not be reached: the worker tries again later',
  other: () => 'see the message; the worker tries again later',
};

/** When to try again after a failure: the longer, the less likely waiting helps. */
function retryIn(f: Failure, consecutive: number, retryAfterMs: number | null): number {
  const base = f === 'permission' || f === 'scope' || f === 'other' ? 15 * 60_000 : 60_000;
  return Math.max(retryAfterMs ?? 0, Math.min(base * 2 ** Math.max(0, consecutive - 1), 60 * 60_000));
}

const digits = (v: string | null | undefined) => (v ? (/^(\d+)/.exec(v)?.[1] ?? null) : null);

export async function writeReportTab(pool: pg.Pool, o: ReportWriteOptions): Promise<ReportWriteResult> {
  const { config } = o;
  const env = o.env ?? process.env;
  if (config.sheetReportTab === null) return { outcome: 'off', why: null };
  const problem = o.credentials ? null : reportWriteProblem(config, env);
  if (problem !== null) return { outcome: 'off', why: problem };
  const address = parseSheetAddress(config.sheetSource!);
  const reportTab = config.sheetReportTab;
  const target = `gsheets:${address.spreadsheetId}!${reportTab}`;
  const report = await buildReport(pool);
  const notesWanted = config.sheetReportNotes;
  const hash = contentHash(report, { dashboard: config.dashboardPublicUrl });
  const state = await reportState(pool, target);

  let creds: WriteCreds;
  try {
    creds = (o.credentials ?? (() => writeCredentialsFromEnv(env)))();
  } catch (err) {
    return { outcome: 'off', why: (err as Error).message };
  }
  const limiter = limiterFor(creds.identity, config.sheetsReadsPerMinute);
  const { sheets: sheetsApi } = await import('@googleapis/sheets');
  const root = config.sheetsRootUrl;
  const api = sheetsApi({
    version: 'v4',
    auth: creds.client,
    ...(root ? { rootUrl: root.endsWith('/') ? root : `${root}/` } : {}),
  });
  const request = { timeout: o.timeoutMs ?? 60_000, retry: false };
  const id = address.spreadsheetId;
  let writes = 0;
  let requests = 0;
  const call = async <T>(write: boolean, fn: () => Promise<{ data: T }>): Promise<T> => {
    await limiter.acquire();
    requests++;
    if (write) writes++;
    try {
      return (await fn()).data;
    } catch (err) {
      const r = new Refused(err);
      // Google's Retry-After holds for every request of this credential; without one, the job's own later run is the pause.
      if (r.status === 429 && r.retryAfterMs !== null) limiter.pause(Math.min(r.retryAfterMs, 60_000));
      throw r;
    }
  };
  const driveVersion = async (): Promise<string | null> => {
    await limiter.acquire();
    try {
      return (await fileVersion(id, creds, { rootUrl: config.driveRootUrl ?? null, timeoutMs: 15_000 })).version;
    } catch {
      return null;
    }
  };

  try {
    const meta = await call(false, () =>
      api.spreadsheets.get(
        {
          spreadsheetId: id,
          includeGridData: false,
          fields: 'properties(timeZone),sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount)))',
        },
        request,
      ),
    );
    const tabs = (meta.sheets ?? []).map((s) => s.properties!).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    const existing = tabs.find((t) => t.title === reportTab);
    const buyers = chooseTab(tabs, address, config.sheetTab, reportTab);
    if (buyers.title === reportTab)
      throw new Error(`SHEET_REPORT_TAB "${printable(reportTab)}" is the buyers tab itself; name another tab`);

    // Notes first computed (reads only): what buyer-sync wants on the buyers tab.
    const notes =
      notesWanted || state?.notes_hash
        ? await noteChanges(report, o.mapping, notesWanted, buyers, call, api, id, request)
        : null;
    const notesHash = notesWanted
      ? createHash('sha256')
          .update(JSON.stringify(notes?.wanted ?? []))
          .digest('hex')
      : null;
    if (
      state &&
      state.content_hash === hash &&
      existing &&
      state.notes_hash === notesHash &&
      (notes === null || notes.updates.length === 0)
    ) {
      return { outcome: 'unchanged', target };
    }

    const before = await driveVersion();
    const timeZone = meta.properties?.timeZone ?? 'UTC';
    const since =
      (state && state.content_hash === hash && state.since_run_id
        ? lastSyncOf(await runById(pool, state.since_run_id))
        : null) ?? report.last_sync;
    const grid = tabGrid(report, {
      mapping: o.mapping,
      timeZone,
      buyersGid: buyers.sheetId ?? 0,
      since,
      dashboardUrl: config.dashboardPublicUrl,
    });
    const q = quoteTab(reportTab);
    let recreated = false;
    if (!existing) {
      const taken = new Set(tabs.map((t) => t.sheetId));
      let sheetId = randomInt(1, 2 ** 31 - 1);
      while (taken.has(sheetId)) sheetId = randomInt(1, 2 ** 31 - 1);
      await call(true, () =>
        api.spreadsheets.batchUpdate(
          {
            spreadsheetId: id,
            requestBody: {
              requests: [
                {
                  addSheet: {
                    properties: {
                      sheetId,
                      title: reportTab,
                      gridProperties: { rowCount: Math.max(100, grid.length + 10), columnCount: 8 },
                    },
                  },
                },
                {
                  addProtectedRange: {
                    protectedRange: {
                      range: { sheetId },
                      warningOnly: true,
                      description:
                        'Written by buyer-sync after each sync: edits here are overwritten. Fix rows on the buyers tab.',
                    },
                  },
                },
              ],
            },
          },
          request,
        ),
      );
      recreated = state !== null;
    }
    if (!(state && state.content_hash === hash && existing)) {
      await call(true, () => api.spreadsheets.values.clear({ spreadsheetId: id, range: q, requestBody: {} }, request));
      await call(true, () =>
        api.spreadsheets.values.batchUpdate(
          {
            spreadsheetId: id,
            requestBody: {
              valueInputOption: 'USER_ENTERED',
              data: [{ range: `${q}!A1`, majorDimension: 'ROWS', values: grid }],
            },
          },
          request,
        ),
      );
    }
    if (notes && notes.updates.length > 0) {
      await call(true, () =>
        api.spreadsheets.batchUpdate({ spreadsheetId: id, requestBody: { requests: notes.updates } }, request),
      );
    }
    const after = await driveVersion();

    // Our own write, from the version the last full sync read (or our previous write's)?
    const readVersion = digits((await lastFullRead(pool, `gsheets:${id}`))?.source_version ?? null);
    const fromRead = before !== null && readVersion !== null && before === readVersion;
    const fromOwn = before !== null && state?.read_version === readVersion && state?.own_version === before;
    const own = (fromRead || fromOwn) && after !== null && Number(after) - Number(before) <= writes ? after : null;
    const sinceRunId = state && state.content_hash === hash ? state.since_run_id : (since?.run_id ?? null);
    await saveReportState(pool, {
      target,
      contentHash: hash,
      sinceRunId,
      lines: report.lines.length,
      readVersion: own === null ? null : readVersion,
      ownVersion: own,
      notesHash,
    });
    await recordReportWritten(pool, {
      target,
      sinceRunId,
      lines: report.lines.length,
      requests,
      driveVersionBefore: before,
      driveVersionAfter: after,
    });
    await resolveReportWriteFailed(pool, target);
    return {
      outcome: 'written',
      target,
      lines: report.lines.length,
      requests,
      recreated,
      notes: notes?.updates.length ?? 0,
      ownVersion: own,
    };
  } catch (err) {
    const r = err instanceof Refused ? err : null;
    const failure: Failure = r ? r.failure : 'other';
    const message = printable((err as Error).message, 300);
    const prior = await failedReportWritesSinceWritten(pool, target);
    await recordReportWriteFailed(pool, {
      target,
      lines: report.lines.length,
      requests,
      httpStatus: r?.status ?? null,
      failure,
      message,
    });
    const fix = FIX[failure](creds.email);
    const alerted = await raiseReportWriteFailed(
      pool,
      `report_write_failed:${target}:${failure}`,
      `The sync report could not be written to tab "${printable(reportTab)}" of spreadsheet ${id} (${r?.status ?? failure}: ${message}): ${fix}. The sync itself is not affected.`,
      {
        target,
        spreadsheet_id: id,
        tab: reportTab,
        failure,
        http_status: r?.status ?? null,
        fix,
        service_account: creds.email,
      },
    );
    return {
      outcome: 'failed',
      target,
      failure,
      status: r?.status ?? null,
      message,
      retryInMs: retryIn(failure, prior + 1, r?.retryAfterMs ?? null),
      alerted,
    };
  }
}

type Call = <T>(write: boolean, fn: () => Promise<{ data: T }>) => Promise<T>;

/**
 * The note changes on the buyers tab: a note on each failing cell (its
 * column's cell of its row) saying what is wrong; buyer-sync's notes on cells
 * no longer failing removed. A person's note (anything not starting with
 * NOTE_PREFIX) is never changed or removed: that cell gets no note from us.
 * Reads the header row and the notes of the data rows (two reads).
 */
async function noteChanges(
  report: Report,
  mapping: Mapping | null,
  wanted: boolean,
  buyers: {
    sheetId?: number | null;
    title?: string | null;
    gridProperties?: { rowCount?: number | null; columnCount?: number | null } | null;
  },
  call: Call,
  api: sheets_v4.Sheets,
  id: string,
  request: { timeout: number; retry: boolean },
): Promise<{ updates: object[]; wanted: [number, number, string][] }> {
  const q = quoteTab(buyers.title!);
  const headerData = await call(false, () =>
    api.spreadsheets.values.get(
      { spreadsheetId: id, range: `${q}!1:1`, valueRenderOption: 'FORMATTED_VALUE' },
      request,
    ),
  );
  const header = ((headerData.values?.[0] ?? []) as unknown[]).map((v) => normaliseHeader(String(v ?? '')));
  const columnOf = (column: string | null): number =>
    column === null ? -1 : header.indexOf(normaliseHeader(headerOf(mapping, column)));
  const want = new Map<string, string>();
  const list: [number, number, string][] = [];
  if (wanted) {
    for (const l of report.lines) {
      if (l.kind !== 'row' || l.row_number === null) continue;
      const c = columnOf(l.column);
      if (c < 0) continue;
      const key = `${l.row_number - 1},${c}`;
      const text = `${NOTE_PREFIX} ${l.problem} (fixed rows lose this note at the next sync)`;
      want.set(key, want.has(key) ? `${want.get(key)}\n${text}` : text);
    }
    for (const [k, v] of want) {
      const [r, c] = k.split(',').map(Number);
      list.push([r!, c!, v]);
    }
  }
  const width = Math.max(header.length, 1);
  const rows = buyers.gridProperties?.rowCount ?? 1000;
  const data = await call(false, () =>
    api.spreadsheets.get(
      {
        spreadsheetId: id,
        ranges: [`${q}!A2:${columnLetter(width - 1)}${Math.max(2, rows)}`],
        includeGridData: false,
        fields: 'sheets(data(startRow,startColumn,rowData(values(note))))',
      },
      request,
    ),
  );
  const current = new Map<string, string>();
  for (const block of data.sheets?.[0]?.data ?? []) {
    const r0 = block.startRow ?? 0;
    const c0 = block.startColumn ?? 0;
    (block.rowData ?? []).forEach((row, i) =>
      (row.values ?? []).forEach((v, j) => {
        if (v.note) current.set(`${r0 + i},${c0 + j}`, v.note);
      }),
    );
  }
  const updates: object[] = [];
  const set = (key: string, note: string | null) => {
    const [rowIndex, columnIndex] = key.split(',').map(Number);
    updates.push({
      updateCells: {
        start: { sheetId: buyers.sheetId ?? 0, rowIndex, columnIndex },
        rows: [{ values: [note === null ? {} : { note }] }],
        fields: 'note',
      },
    });
  };
  for (const [key, note] of want) {
    const now = current.get(key);
    if (now === note) continue;
    if (now !== undefined && !now.startsWith(NOTE_PREFIX)) continue; // a person's note: left alone
    set(key, note);
  }
  for (const [key, now] of current) {
    if (now.startsWith(NOTE_PREFIX) && !want.has(key)) set(key, null);
  }
  return { updates, wanted: list };
}
