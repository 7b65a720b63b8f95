/**
 * The live buyers sheet, read through the official client (@googleapis/sheets).
 *
 * - Metadata first (tabs, grid size, locale, time zone); the tab is the URL's
 *   gid, SHEET_TAB, or the first one.
 * - Rows are read in chunks with values.batchGet, sized so each response stays
 *   near `targetBytes` (well under Google's ~2 MB advice), adapting to what the
 *   previous response weighed.
 * - Values as people typed them: text and the buyer number as displayed
 *   (FORMATTED_VALUE keeps a number-formatted 00123), dates and amounts
 *   unformatted (serial day numbers and plain numbers, whatever the locale).
 * - 429, 5xx and network failures are retried with truncated exponential
 *   backoff and full jitter; every request waits for the credential's shared
 *   rate limiter; 400/401/403/404 are reported at once with what to do.
 * - One consistent snapshot: the whole sheet is read (into a temporary file)
 *   before the first row is handed to the sync, so a sheet that cannot be read
 *   to the end writes nothing. Opening again in the same run reuses it;
 *   release() (the run is over) removes it.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { sheets_v4 } from '@googleapis/sheets';
import { CannotRunError, SourceUnavailableError } from '../../errors.ts';
import { columnLetter } from '../../mapping/mapping.ts';
import { printable, printableList } from '../../printable.ts';
import type { OpenHint, SheetReader, SheetRow, SheetSource, SourceVersion } from '../source.ts';
import { accessAdvice, credentialsFromEnv, type SheetsCredentials } from './auth.ts';
import { describeFailure, type HttpFailure } from './failure.ts';
import { quoteTab, type SheetAddress } from './address.ts';
import { fileVersion } from './drive.ts';
import { limiterFor, type RateLimiter } from './limiter.ts';

export interface GoogleSheetOptions {
  /** SHEET_TAB: a tab by name (the URL's gid wins when both are given). */
  tab?: string | null;
  /** SHEET_REPORT_TAB: the sync report's tab, never read as the buyers sheet. */
  reportTab?: string | null;
  /** GOOGLE_SHEETS_ROOT_URL: the API's base URL (tests, proxies). */
  rootUrl?: string | null;
  /** GOOGLE_DRIVE_ROOT_URL: Drive's base URL (tests, proxies), for the sheet's version. */
  driveRootUrl?: string | null;
  credentials?: () => SheetsCredentials;
  /** Per-request timeout (Google's own limit is 180 s). */
  timeoutMs?: number;
  /** Backoff: first delay, cap, and attempts per request. */
  backoff?: { baseMs: number; maxMs: number; attempts: number };
  /** Read requests per minute per credential (Google: 60 per user). */
  perMinute?: number;
  /** Aim for responses of about this many bytes. */
  targetBytes?: number;
  /** Where the run's snapshot of the sheet is kept while the run lasts (default: the system's temp directory). */
  tempDir?: string;
  log?: (line: string) => void;
}

export interface ReadStats {
  requests: number;
  retries: number;
  bytes: number;
  rows: number;
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'EPIPE',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

function isRetryable(f: HttpFailure, err: unknown): boolean {
  if (f.status !== null) return RETRYABLE_STATUS.has(f.status);
  if (f.code !== null && NETWORK_CODES.has(f.code)) return true;
  const name = (err as { name?: string }).name;
  return (
    name === 'AbortError' || name === 'TimeoutError' || /timeout|socket hang up|terminated|premature/i.test(f.message)
  );
}

/** Snapshots not released yet: removed when the process exits, as a last resort (a run releases its own). */
const snapshots = new Set<string>();
process.on('exit', () => {
  for (const dir of snapshots) rmSync(dir, { recursive: true, force: true });
});

/** A request Google refused for good: one line with what to do. */
function refusal(id: string, what: string, f: HttpFailure, creds: SheetsCredentials): CannotRunError {
  const why = `${f.status ?? ''}${f.apiStatus ? ` ${f.apiStatus}` : ''}`.trim();
  switch (f.status) {
    case 401:
      return new CannotRunError(
        `Google rejected the credentials (${why}) reading spreadsheet ${id}: ${creds.kind === 'service_account' ? `check the key file of ${creds.email} (it may have been deleted or disabled)` : 'check GOOGLE_API_KEY'}`,
      );
    case 403:
      return new CannotRunError(`Google refused access to spreadsheet ${id} (${why}): ${accessAdvice(creds)}`);
    case 404:
      return new CannotRunError(`spreadsheet ${id} was not found (${why}): check the URL or id in SHEET_SOURCE`);
    case 400:
      return new CannotRunError(
        `Google Sheets rejected the request for ${what} of spreadsheet ${id} (${why}): ${printable(f.message, 200)}`,
      );
    default:
      return new CannotRunError(
        `reading ${what} of spreadsheet ${id} failed (${why || f.code || 'error'}): ${printable(f.message, 200)}`,
      );
  }
}

export class GoogleSheetSource implements SheetSource {
  description: string;
  readonly stats: ReadStats = { requests: 0, retries: 0, bytes: 0, rows: 0 };
  private readonly address: SheetAddress;
  private readonly options: ReadOptions;
  private snapshot: { dir: string; file: string; header: string[] } | null = null;

  constructor(address: SheetAddress, options: GoogleSheetOptions = {}) {
    this.address = address;
    this.options = {
      timeoutMs: 60_000,
      backoff: { baseMs: 1000, maxMs: 32_000, attempts: 8 },
      perMinute: 60,
      targetBytes: 1 << 20,
      ...options,
    };
    this.description = `gsheets:${address.spreadsheetId}${address.gid !== null ? `#gid=${address.gid}` : ''}`;
  }

  async open(hint?: OpenHint): Promise<SheetReader> {
    if (!this.snapshot) this.snapshot = await this.readAll(hint);
    const { file, header } = this.snapshot;
    async function* rows(): AsyncGenerator<SheetRow[]> {
      const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
      let rowNumber = 1;
      let chunk: SheetRow[] = [];
      for await (const line of lines) {
        chunk.push({ rowNumber: ++rowNumber, cells: JSON.parse(line) as string[] });
        if (chunk.length === 1000) {
          yield chunk;
          chunk = [];
        }
      }
      if (chunk.length > 0) yield chunk;
    }
    return {
      header: [...header],
      rows: rows(),
      format: { encoding: null, dateSerials: true },
      warnings: [],
      close: async () => undefined,
    };
  }

  /**
   * Drive's version of the spreadsheet, with the tab it selects ("7 (first
   * tab)"): one request (through the same rate limiter), no retries. Anything but a version (Drive refusing, the Drive
   * API not enabled, no answer) is `unknown` with the reason: the caller
   * then reads the sheet in full.
   */
  async version(): Promise<SourceVersion> {
    try {
      const creds = (this.options.credentials ?? credentialsFromEnv)();
      await limiterFor(creds.identity, this.options.perMinute).acquire();
      this.stats.requests++;
      const v = await fileVersion(this.address.spreadsheetId, creds, {
        rootUrl: this.options.driveRootUrl ?? null,
        timeoutMs: 15_000,
      });
      // Drive versions the file; which tab is read is part of what was read.
      const tab =
        this.address.gid !== null
          ? `gid ${this.address.gid}`
          : this.options.tab
            ? `tab ${JSON.stringify(this.options.tab)}`
            : 'first tab';
      return { version: `${v.version} (${tab})`, modifiedTime: v.modifiedTime };
    } catch (err) {
      const f = describeFailure(err);
      return {
        unknown: `Drive did not give the sheet's version (${f.status !== null ? `HTTP ${f.status}: ` : ''}${printable(f.message, 160)})`,
      };
    }
  }

  /**
   * The run is over: its snapshot of the sheet (personal data, on disk) goes
   * now, not when the process exits. A long-running worker would otherwise
   * pile up a copy of the sheet every few minutes.
   */
  async release(): Promise<void> {
    if (this.snapshot === null) return;
    rmSync(this.snapshot.dir, { recursive: true, force: true });
    snapshots.delete(this.snapshot.dir);
    this.snapshot = null;
  }

  /**
   * Reads the whole tab into a temporary file: the run's snapshot of the sheet.
   * The Sheets API has no snapshot reads, so the read checks itself: both
   * requests of a chunk must agree on the buyer numbers, and at the end the
   * header and the whole buyer-number column are read again and must match what
   * was stored. A sheet edited meanwhile (rows added, removed, sorted) is read
   * again from the start, once; if it keeps changing, nothing is written.
   */
  private async readAll(hint?: OpenHint): Promise<{ dir: string; file: string; header: string[] }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.readOnce(hint);
      } catch (err) {
        if (!(err instanceof SheetChanged)) throw err;
        if (attempt >= 2) {
          throw new SourceUnavailableError(
            `the sheet kept changing while it was being read (${err.message}); nothing was written, run the sync again when it is not being edited`,
          );
        }
        this.options.log?.(
          `Google Sheets: the sheet changed while it was being read (${err.message}); reading it again`,
        );
      }
    }
  }

  /** One read of the whole tab into a snapshot file, checked as readAll says. */
  private async readOnce(hint?: OpenHint): Promise<{ dir: string; file: string; header: string[] }> {
    const id = this.address.spreadsheetId;
    const read = await TabRead.start(id, this.options, this.stats, hint?.signal);
    const tab = await read.tab(this.address, this.options.tab, this.options.reportTab);
    this.description = `gsheets:${id}#gid=${tab.sheetId}`;
    const q = quoteTab(tab.title!);
    const header = await read.headerRow(q, 'the header row');
    const layout = rowLayout(header, hint);
    const snapshot = new SnapshotFile(this.options.tempDir);
    try {
      const keyCells = await read.rowsInto(snapshot, q, layout, tab.gridProperties?.rowCount ?? 0);
      await snapshot.finish();
      await read.checkUnchanged(q, header, layout.keyIndex, keyCells);
    } catch (err) {
      snapshot.discard();
      throw err;
    }
    return { dir: snapshot.dir, file: snapshot.file, header };
  }
}

/**
 * The buyers tab: the URL's gid, SHEET_TAB (by name, else ignoring case and
 * surrounding spaces), or the first that is not the report's (SHEET_REPORT_TAB).
 * The sync reads it; the report writer finds it (for cell notes) the same way.
 */
export function chooseTab(
  tabs: sheets_v4.Schema$SheetProperties[],
  address: SheetAddress,
  tabName: string | null | undefined,
  reportTab: string | null | undefined,
): sheets_v4.Schema$SheetProperties {
  const id = address.spreadsheetId;
  const names = printableList(
    tabs.map((t) => t.title ?? ''),
    20,
  );
  let tab: sheets_v4.Schema$SheetProperties | undefined;
  if (address.gid !== null) {
    tab = tabs.find((t) => t.sheetId === address.gid);
    if (!tab) throw new CannotRunError(`spreadsheet ${id} has no tab with gid ${address.gid}; its tabs are ${names}`);
  } else if (tabName) {
    tab =
      tabs.find((t) => t.title === tabName) ??
      tabs.find((t) => t.title?.trim().toLowerCase() === tabName.trim().toLowerCase());
    if (!tab)
      throw new CannotRunError(
        `spreadsheet ${id} has no tab named "${printable(tabName)}" (SHEET_TAB); its tabs are ${names}`,
      );
  } else {
    // The sync report's tab is never read as the buyers sheet, even when it is the first tab.
    tab = tabs.find((t) => t.title !== reportTab);
    if (!tab)
      throw new CannotRunError(
        `spreadsheet ${id} has no tabs${reportTab ? ` but the report tab "${printable(reportTab)}"` : ''}`,
      );
  }
  return tab;
}

/** Where the header puts what a read needs: how wide a row is, the typed columns (read unformatted) and the buyer number. */
interface RowLayout {
  width: number;
  lastCol: string;
  /** The date and amount columns: read unformatted, whatever the sheet's locale shows. */
  typed: number[];
  /** The buyer-number column, or -1 when the mapping does not say which it is. */
  keyIndex: number;
}

function rowLayout(header: string[], hint?: OpenHint): RowLayout {
  const width = Math.max(header.length, 1);
  const types = hint?.columnTypes?.(header) ?? header.map(() => null);
  return {
    width,
    lastCol: columnLetter(width - 1),
    typed: types.flatMap((t, i) => (t === 'date' || t === 'bigint' ? [i] : [])),
    keyIndex: hint?.isKey ? header.findIndex((h) => hint.isKey!(h)) : -1,
  };
}

/**
 * The run's snapshot of the sheet on disk (personal data): one JSON array of
 * cells a line, removed when the run releases it, or as the process exits.
 */
class SnapshotFile {
  readonly dir: string;
  readonly file: string;
  private readonly out: WriteStream;
  /** A write still in flight when a failed read destroys the stream reports here, not as an uncaught error. */
  private writeError: Error | null = null;

  constructor(tempDir: string | undefined) {
    this.dir = mkdtempSync(path.join(tempDir ?? os.tmpdir(), 'buyer-sync-sheet-'));
    snapshots.add(this.dir);
    this.file = path.join(this.dir, 'rows.jsonl');
    this.out = createWriteStream(this.file, { encoding: 'utf8' });
    this.out.on('error', (err) => (this.writeError ??= err));
  }

  async write(text: string): Promise<void> {
    if (this.writeError) throw this.writeError;
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  async finish(): Promise<void> {
    this.out.end();
    await once(this.out, 'finish');
  }

  /** A read that failed leaves nothing behind. */
  discard(): void {
    this.out.destroy();
    rmSync(this.dir, { recursive: true, force: true });
    snapshots.delete(this.dir);
  }
}

/** A row's cells as displayed, its typed cells as their unformatted values, without trailing empty cells. */
function rowCells(row: unknown[] | undefined, columns: unknown[][], typed: number[], r: number): string[] {
  const cells = ((row ?? []) as unknown[]).map(cellText);
  typed.forEach((c, k) => {
    const v = columns[k]![r];
    if (v === undefined || v === '') return;
    while (cells.length <= c) cells.push('');
    cells[c] = cellText(v);
  });
  while (cells.length > 0 && cells[cells.length - 1] === '') cells.pop();
  return cells;
}

/** The snapshot's lines, chunk by chunk. Blank rows count only where data follows them, as in the sheet's CSV export. */
class SnapshotLines {
  /** The buyer-number cell of every stored row, in order: what the final check compares. */
  readonly keyCells: string[] = [];
  private pendingBlank = 0;
  private readonly layout: RowLayout;
  private readonly stats: ReadStats;

  constructor(layout: RowLayout, stats: ReadStats) {
    this.layout = layout;
    this.stats = stats;
  }

  /** The lines of a chunk's `count` rows (blank ones held back until data follows). */
  add(values: unknown[][], columns: unknown[][], count: number): string {
    const { typed, keyIndex } = this.layout;
    let text = '';
    for (let r = 0; r < count; r++) {
      const cells = rowCells(values[r], columns, typed, r);
      if (cells.length === 0) {
        this.pendingBlank++;
        continue;
      }
      text += '[]\n'.repeat(this.pendingBlank);
      for (let b = 0; b < this.pendingBlank; b++) this.keyCells.push('');
      this.keyCells.push(keyIndex >= 0 ? (cells[keyIndex] ?? '') : '');
      this.stats.rows += this.pendingBlank + 1;
      this.pendingBlank = 0;
      // readline also ends lines at U+2028/U+2029, which JSON leaves unescaped.
      text += `${JSON.stringify(cells).replace(/[\u2028\u2029]/g, (ch) => (ch === '\u2028' ? '\\u2028' : '\\u2029'))}\n`;
    }
    return text;
  }
}

/** The source's options, its defaults filled in. */
type ReadOptions = Required<
  Omit<GoogleSheetOptions, 'tab' | 'reportTab' | 'rootUrl' | 'driveRootUrl' | 'credentials' | 'log' | 'tempDir'>
> &
  GoogleSheetOptions;

/**
 * One read of the spreadsheet: its requests (each waiting for the
 * credential's rate limiter, retried with backoff) and the checks that prove
 * the rows did not move while they were read.
 */
class TabRead {
  private readonly id: string;
  private readonly api: sheets_v4.Sheets;
  private readonly creds: SheetsCredentials;
  private readonly limiter: RateLimiter;
  private readonly options: ReadOptions;
  private readonly stats: ReadStats;
  private readonly signal: AbortSignal | undefined;
  private readonly request: { timeout: number; retry: false };

  private constructor(
    id: string,
    client: { api: sheets_v4.Sheets; creds: SheetsCredentials; limiter: RateLimiter },
    options: ReadOptions,
    stats: ReadStats,
    signal: AbortSignal | undefined,
  ) {
    this.id = id;
    this.api = client.api;
    this.creds = client.creds;
    this.limiter = client.limiter;
    this.options = options;
    this.stats = stats;
    this.signal = signal;
    this.request = { timeout: options.timeoutMs, retry: false };
  }

  static async start(id: string, o: ReadOptions, stats: ReadStats, signal: AbortSignal | undefined): Promise<TabRead> {
    const creds = (o.credentials ?? credentialsFromEnv)();
    const limiter = limiterFor(creds.identity, o.perMinute);
    // The client is loaded on first use: a run that reads a CSV export never pays for it.
    const { sheets: sheetsApi } = await import('@googleapis/sheets');
    const api = sheetsApi({
      version: 'v4',
      auth: creds.kind === 'api_key' ? creds.key : creds.client,
      ...(o.rootUrl ? { rootUrl: o.rootUrl.endsWith('/') ? o.rootUrl : `${o.rootUrl}/` } : {}),
    });
    return new TabRead(id, { api, creds, limiter }, o, stats, signal);
  }

  /** One request, retried on a passing failure (429, 5xx, the network); one Google refuses for good ends the run at once. */
  private async call<T>(what: string, fn: () => Promise<{ data: T; headers?: unknown }>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.signal?.throwIfAborted();
      await this.limiter.acquire();
      this.stats.requests++;
      try {
        const res = await fn();
        const length = Number((res.headers as Headers | undefined)?.get?.('content-length') ?? NaN);
        this.stats.bytes += Number.isFinite(length) ? length : JSON.stringify(res.data).length;
        return res.data;
      } catch (err) {
        await this.afterFailure(what, err, attempt);
      }
    }
  }

  /**
   * A failed request: refused for good, given up after the last attempt, or
   * waited for before the next one (truncated exponential backoff with full
   * jitter; a 429 also holds the credential's other requests back).
   */
  private async afterFailure(what: string, err: unknown, attempt: number): Promise<void> {
    const o = this.options;
    const f = describeFailure(err);
    if (!isRetryable(f, err)) throw refusal(this.id, what, f, this.creds);
    if (attempt >= o.backoff.attempts) {
      throw new SourceUnavailableError(
        `Google Sheets kept failing while reading ${what} (${f.status ?? f.code ?? 'network error'}${f.apiStatus ? ` ${f.apiStatus}` : ''}) after ${attempt} attempts; nothing was written, try again later`,
        { cause: err },
      );
    }
    const backoff = Math.random() * Math.min(o.backoff.maxMs, o.backoff.baseMs * 2 ** (attempt - 1));
    const wait = f.status === 429 ? Math.max(backoff, f.retryAfterMs ?? 0) : backoff;
    if (f.status === 429) this.limiter.pause(wait);
    this.stats.retries++;
    o.log?.(
      `Google Sheets: ${f.status ?? f.code ?? 'network error'} while reading ${what}; retrying in ${Math.round(wait)} ms (attempt ${attempt + 1} of ${o.backoff.attempts})`,
    );
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wait);
      this.signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }

  /** The spreadsheet's tabs (metadata only), and the one to read. */
  async tab(
    address: SheetAddress,
    tabName: string | null | undefined,
    reportTab: string | null | undefined,
  ): Promise<sheets_v4.Schema$SheetProperties> {
    const meta = await this.call('the spreadsheet metadata', () =>
      this.api.spreadsheets.get(
        {
          spreadsheetId: this.id,
          includeGridData: false,
          fields:
            'spreadsheetId,properties(title,locale,timeZone),sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount)))',
        },
        this.request,
      ),
    );
    const tabs = (meta.sheets ?? []).map((s) => s.properties!).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return chooseTab(tabs, address, tabName, reportTab);
  }

  async headerRow(q: string, what: string): Promise<string[]> {
    const data = await this.call(what, () =>
      this.api.spreadsheets.values.get(
        { spreadsheetId: this.id, range: `${q}!1:1`, valueRenderOption: 'FORMATTED_VALUE' },
        this.request,
      ),
    );
    return ((data.values?.[0] ?? []) as unknown[]).map((v) => String(v ?? ''));
  }

  /** Reads the data rows into the snapshot, each chunk sized by what the previous response weighed; returns the buyer-number cells stored. */
  async rowsInto(snapshot: SnapshotFile, q: string, layout: RowLayout, rowCount: number): Promise<string[]> {
    const o = this.options;
    const lines = new SnapshotLines(layout, this.stats);
    let rows = Math.max(100, Math.min(20_000, Math.floor(o.targetBytes / (layout.width * 40))));
    for (let start = 2; start <= rowCount;) {
      const end = Math.min(rowCount, start + rows - 1);
      const before = this.stats.bytes;
      const { values, columns } = await this.chunk(q, layout, start, end);
      await snapshot.write(lines.add(values, columns, end - start + 1));
      const weight = Math.max(1, this.stats.bytes - before);
      rows = Math.max(100, Math.min(50_000, Math.floor(rows * Math.min(4, o.targetBytes / weight))));
      start = end + 1;
    }
    return lines.keyCells;
  }

  /**
   * Rows start to end, as displayed, and their typed columns unformatted.
   * The unformatted request also brings the buyer numbers, to prove both
   * requests saw the same rows; asked again, up to three times, until they do.
   */
  private async chunk(
    q: string,
    { lastCol, typed, keyIndex }: RowLayout,
    start: number,
    end: number,
  ): Promise<{ values: unknown[][]; columns: unknown[][] }> {
    for (let tries = 1; ; tries++) {
      const formatted = await this.call(`rows ${start}-${end}`, () =>
        this.api.spreadsheets.values.batchGet(
          {
            spreadsheetId: this.id,
            ranges: [`${q}!A${start}:${lastCol}${end}`],
            valueRenderOption: 'FORMATTED_VALUE',
            majorDimension: 'ROWS',
          },
          this.request,
        ),
      );
      const unformattedColumns = keyIndex >= 0 ? [...typed, keyIndex] : typed;
      const unformatted =
        typed.length === 0
          ? null
          : await this.call(`rows ${start}-${end}`, () =>
              this.api.spreadsheets.values.batchGet(
                {
                  spreadsheetId: this.id,
                  ranges: unformattedColumns.map((c) => `${q}!${columnLetter(c)}${start}:${columnLetter(c)}${end}`),
                  valueRenderOption: 'UNFORMATTED_VALUE',
                  dateTimeRenderOption: 'SERIAL_NUMBER',
                  majorDimension: 'COLUMNS',
                },
                this.request,
              ),
            );
      const values = (formatted.valueRanges?.[0]?.values ?? []) as unknown[][];
      const columns = unformattedColumns.map((_, k) => (unformatted?.valueRanges?.[k]?.values?.[0] ?? []) as unknown[]);
      if (unformatted === null || keyIndex < 0) return { values, columns };
      const keys = columns[typed.length]!;
      const moved = Array.from({ length: end - start + 1 }, (_, r) => r).find(
        (r) => !sameKey(cellText(values[r]?.[keyIndex]), keys[r]),
      );
      if (moved === undefined) return { values, columns };
      if (tries >= 3) throw new SheetChanged(`row ${start + moved} changed between two requests`);
    }
  }

  /**
   * The final check: the header and every buyer number as stored, read again.
   * One row more than was stored: a row inserted above pushes the last one
   * down, an appended row lands there.
   */
  async checkUnchanged(q: string, header: string[], keyIndex: number, keyCells: string[]): Promise<void> {
    const again = await this.headerRow(q, 'the header row (check)');
    if (again.join('\u0000') !== header.join('\u0000')) throw new SheetChanged('the header row changed');
    if (keyIndex < 0) return;
    const col = columnLetter(keyIndex);
    const expected = [...keyCells, ''];
    for (let from = 0; from < expected.length; from += 50_000) {
      const to = Math.min(expected.length, from + 50_000);
      const data = await this.call(`buyer numbers ${from + 2}-${to + 1} (check)`, () =>
        this.api.spreadsheets.values.get(
          {
            spreadsheetId: this.id,
            range: `${q}!${col}${from + 2}:${col}${to + 1}`,
            valueRenderOption: 'FORMATTED_VALUE',
            majorDimension: 'COLUMNS',
          },
          this.request,
        ),
      );
      const now = ((data.values?.[0] ?? []) as unknown[]).map(cellText);
      for (let i = from; i < to; i++) {
        if ((now[i - from] ?? '') !== expected[i])
          throw new SheetChanged(`row ${i + 2} changed while the sheet was being read`);
      }
    }
  }
}

/** Raised when the sheet was edited while it was being read. */
class SheetChanged extends Error {}

/** Whether a displayed buyer number and its unformatted value are the same cell (00123 is 123). */
function sameKey(formatted: string, value: unknown): boolean {
  if (value === undefined || value === null || value === '') return formatted === '';
  if (typeof value === 'number') return formatted !== '' && Number(formatted.replace(/[,\s]/g, '')) === value;
  return cellText(value) === formatted;
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'number') return Number.isInteger(v) ? v.toFixed(0) : String(v);
  return String(v);
}
