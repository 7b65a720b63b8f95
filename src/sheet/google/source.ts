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
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
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
import { quoteTab, type SheetAddress } from './address.ts';
import { fileVersion } from './drive.ts';
import { limiterFor } from './limiter.ts';

export interface GoogleSheetOptions {
  /** SHEET_TAB: a tab by name (the URL's gid wins when both are given). */
  tab?: string | null;
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
const NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'ENOTFOUND', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);

interface HttpFailure {
  status: number | null;
  code: string | null;
  apiStatus: string | null;
  message: string;
  retryAfterMs: number | null;
}

function describeFailure(err: unknown): HttpFailure {
  const e = err as {
    status?: number;
    code?: string | number;
    message?: string;
    response?: { status?: number; data?: { error?: { message?: string; status?: string } }; headers?: Headers | Record<string, string> };
    cause?: { code?: string };
  };
  const status = e.status ?? e.response?.status ?? (typeof e.code === 'number' ? e.code : null) ?? null;
  const body = e.response?.data?.error;
  const headers = e.response?.headers;
  const retryAfter = headers instanceof Headers ? headers.get('retry-after') : headers?.['retry-after'];
  const code = typeof e.code === 'string' ? e.code : (e.cause?.code ?? null);
  return {
    status: typeof status === 'number' ? status : null,
    code: code && !/^\d+$/.test(code) ? code : null,
    apiStatus: body?.status ?? null,
    message: (body?.message ?? e.message ?? String(err)).split('\n')[0]!,
    retryAfterMs: retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : null,
  };
}

function isRetryable(f: HttpFailure, err: unknown): boolean {
  if (f.status !== null) return RETRYABLE_STATUS.has(f.status);
  if (f.code !== null && NETWORK_CODES.has(f.code)) return true;
  const name = (err as { name?: string }).name;
  return name === 'AbortError' || name === 'TimeoutError' || /timeout|socket hang up|terminated|premature/i.test(f.message);
}

/** Snapshots not released yet: removed when the process exits, as a last resort (a run releases its own). */
const snapshots = new Set<string>();
process.on('exit', () => {
  for (const dir of snapshots) rmSync(dir, { recursive: true, force: true });
});

export class GoogleSheetSource implements SheetSource {
  description: string;
  readonly stats: ReadStats = { requests: 0, retries: 0, bytes: 0, rows: 0 };
  private readonly address: SheetAddress;
  private readonly options: Required<Omit<GoogleSheetOptions, 'tab' | 'rootUrl' | 'driveRootUrl' | 'credentials' | 'log' | 'tempDir'>> & GoogleSheetOptions;
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
    return { header: [...header], rows: rows(), format: { encoding: null, dateSerials: true }, warnings: [], close: async () => undefined };
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
      const v = await fileVersion(this.address.spreadsheetId, creds, { rootUrl: this.options.driveRootUrl ?? null, timeoutMs: 15_000 });
      // Drive versions the file; which tab is read is part of what was read.
      const tab = this.address.gid !== null ? `gid ${this.address.gid}` : this.options.tab ? `tab ${JSON.stringify(this.options.tab)}` : 'first tab';
      return { version: `${v.version} (${tab})`, modifiedTime: v.modifiedTime };
    } catch (err) {
      const f = describeFailure(err);
      return { unknown: `Drive did not give the sheet's version (${f.status !== null ? `HTTP ${f.status}: ` : ''}${printable(f.message, 160)})` };
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
        this.options.log?.(`Google Sheets: the sheet changed while it was being read (${err.message}); reading it again`);
      }
    }
  }

  private async readOnce(hint?: OpenHint): Promise<{ dir: string; file: string; header: string[] }> {
    const o = this.options;
    const creds = (o.credentials ?? credentialsFromEnv)();
    const limiter = limiterFor(creds.identity, o.perMinute);
    // The client is loaded on first use: a run that reads a CSV export never pays for it.
    const { sheets: sheetsApi } = await import('@googleapis/sheets');
    const api = sheetsApi({
      version: 'v4',
      auth: creds.kind === 'api_key' ? creds.key : creds.client,
      ...(o.rootUrl ? { rootUrl: o.rootUrl.endsWith('/') ? o.rootUrl : `${o.rootUrl}/` } : {}),
    });
    const id = this.address.spreadsheetId;
    const request = { timeout: o.timeoutMs, retry: false };

    const call = async <T>(what: string, fn: () => Promise<{ data: T; headers?: unknown }>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        hint?.signal?.throwIfAborted();
        await limiter.acquire();
        this.stats.requests++;
        try {
          const res = await fn();
          const length = Number((res.headers as Headers | undefined)?.get?.('content-length') ?? NaN);
          this.stats.bytes += Number.isFinite(length) ? length : JSON.stringify(res.data).length;
          return res.data;
        } catch (err) {
          const f = describeFailure(err);
          if (!isRetryable(f, err)) throw this.refusal(what, f, creds);
          if (attempt >= o.backoff.attempts) {
            throw new SourceUnavailableError(
              `Google Sheets kept failing while reading ${what} (${f.status ?? f.code ?? 'network error'}${f.apiStatus ? ` ${f.apiStatus}` : ''}) after ${attempt} attempts; nothing was written, try again later`,
              { cause: err },
            );
          }
          const backoff = Math.random() * Math.min(o.backoff.maxMs, o.backoff.baseMs * 2 ** (attempt - 1));
          const wait = f.status === 429 ? Math.max(backoff, f.retryAfterMs ?? 0) : backoff;
          if (f.status === 429) limiter.pause(wait);
          this.stats.retries++;
          o.log?.(`Google Sheets: ${f.status ?? f.code ?? 'network error'} while reading ${what}; retrying in ${Math.round(wait)} ms (attempt ${attempt + 1} of ${o.backoff.attempts})`);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait);
            hint?.signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
          });
        }
      }
    };

    const meta = await call('the spreadsheet metadata', () =>
      api.spreadsheets.get(
        { spreadsheetId: id, includeGridData: false, fields: 'spreadsheetId,properties(title,locale,timeZone),sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount)))' },
        request,
      ),
    );
    const tabs = (meta.sheets ?? []).map((s) => s.properties!).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    const names = printableList(tabs.map((t) => t.title ?? ''), 20);
    let tab: sheets_v4.Schema$SheetProperties | undefined;
    if (this.address.gid !== null) {
      tab = tabs.find((t) => t.sheetId === this.address.gid);
      if (!tab) throw new CannotRunError(`spreadsheet ${id} has no tab with gid ${this.address.gid}; its tabs are ${names}`);
    } else if (o.tab) {
      tab = tabs.find((t) => t.title === o.tab) ?? tabs.find((t) => t.title?.trim().toLowerCase() === o.tab!.trim().toLowerCase());
      if (!tab) throw new CannotRunError(`spreadsheet ${id} has no tab named "${printable(o.tab)}" (SHEET_TAB); its tabs are ${names}`);
    } else {
      tab = tabs[0];
      if (!tab) throw new CannotRunError(`spreadsheet ${id} has no tabs`);
    }
    this.description = `gsheets:${id}#gid=${tab.sheetId}`;
    const q = quoteTab(tab.title!);
    const rowCount = tab.gridProperties?.rowCount ?? 0;

    const headerData = await call('the header row', () =>
      api.spreadsheets.values.get({ spreadsheetId: id, range: `${q}!1:1`, valueRenderOption: 'FORMATTED_VALUE' }, request),
    );
    const header = ((headerData.values?.[0] ?? []) as unknown[]).map((v) => String(v ?? ''));
    const width = Math.max(header.length, 1);
    const lastCol = columnLetter(width - 1);
    const types = hint?.columnTypes?.(header) ?? header.map(() => null);
    const typed = types.flatMap((t, i) => (t === 'date' || t === 'bigint' ? [i] : []));
    const keyIndex = hint?.isKey ? header.findIndex((h) => hint.isKey!(h)) : -1;
    /** The buyer-number cell of every stored row, in order: what the final check compares. */
    const keyCells: string[] = [];

    const dir = mkdtempSync(path.join(o.tempDir ?? os.tmpdir(), 'buyer-sync-sheet-'));
    snapshots.add(dir);
    const file = path.join(dir, 'rows.jsonl');
    const out = createWriteStream(file, { encoding: 'utf8' });
    // A write still in flight when a failed read destroys the stream reports here, not as an uncaught error.
    let writeError: Error | null = null;
    out.on('error', (err) => (writeError ??= err));
    const write = async (text: string) => {
      if (writeError) throw writeError;
      if (!out.write(text)) await once(out, 'drain');
    };
    try {
      let rows = Math.max(100, Math.min(20_000, Math.floor(o.targetBytes / (width * 40))));
      let pendingBlank = 0;
      for (let start = 2; start <= rowCount; ) {
        const end = Math.min(rowCount, start + rows - 1);
        const before = this.stats.bytes;
        let values: unknown[][] = [];
        let columns: unknown[][] = [];
        for (let tries = 1; ; tries++) {
          const formatted = await call(`rows ${start}-${end}`, () =>
            api.spreadsheets.values.batchGet(
              { spreadsheetId: id, ranges: [`${q}!A${start}:${lastCol}${end}`], valueRenderOption: 'FORMATTED_VALUE', majorDimension: 'ROWS' },
              request,
            ),
          );
          // The unformatted request also brings the buyer numbers, to prove both requests saw the same rows.
          const unformattedColumns = keyIndex >= 0 ? [...typed, keyIndex] : typed;
          const unformatted =
            typed.length === 0
              ? null
              : await call(`rows ${start}-${end}`, () =>
                  api.spreadsheets.values.batchGet(
                    {
                      spreadsheetId: id,
                      ranges: unformattedColumns.map((c) => `${q}!${columnLetter(c)}${start}:${columnLetter(c)}${end}`),
                      valueRenderOption: 'UNFORMATTED_VALUE',
                      dateTimeRenderOption: 'SERIAL_NUMBER',
                      majorDimension: 'COLUMNS',
                    },
                    request,
                  ),
                );
          values = (formatted.valueRanges?.[0]?.values ?? []) as unknown[][];
          columns = unformattedColumns.map((_, k) => (unformatted?.valueRanges?.[k]?.values?.[0] ?? []) as unknown[]);
          if (unformatted === null || keyIndex < 0) break;
          const keys = columns[typed.length]!;
          const moved = Array.from({ length: end - start + 1 }, (_, r) => r).find(
            (r) => !sameKey(cellText(values[r]?.[keyIndex]), keys[r]),
          );
          if (moved === undefined) break;
          if (tries >= 3) throw new SheetChanged(`row ${start + moved} changed between two requests`);
        }
        let text = '';
        for (let r = 0; r <= end - start; r++) {
          const cells = ((values[r] ?? []) as unknown[]).map(cellText);
          typed.forEach((c, k) => {
            const v = columns[k]![r];
            if (v === undefined || v === '') return;
            while (cells.length <= c) cells.push('');
            cells[c] = cellText(v);
          });
          while (cells.length > 0 && cells[cells.length - 1] === '') cells.pop();
          if (cells.length === 0) {
            pendingBlank++;
            continue;
          }
          // Blank rows count only where data follows them, as in the sheet's CSV export.
          text += '[]\n'.repeat(pendingBlank);
          for (let b = 0; b < pendingBlank; b++) keyCells.push('');
          keyCells.push(keyIndex >= 0 ? (cells[keyIndex] ?? '') : '');
          this.stats.rows += pendingBlank + 1;
          pendingBlank = 0;
          // readline also ends lines at U+2028/U+2029, which JSON leaves unescaped.
          text += `${JSON.stringify(cells).replace(/[\u2028\u2029]/g, (ch) => (ch === '\u2028' ? '\\u2028' : '\\u2029'))}\n`;
        }
        await write(text);
        const weight = Math.max(1, this.stats.bytes - before);
        rows = Math.max(100, Math.min(50_000, Math.floor(rows * Math.min(4, o.targetBytes / weight))));
        start = end + 1;
      }
      out.end();
      await once(out, 'finish');

      // The final check: the header and every buyer number as stored, read again.
      const again = await call('the header row (check)', () =>
        api.spreadsheets.values.get({ spreadsheetId: id, range: `${q}!1:1`, valueRenderOption: 'FORMATTED_VALUE' }, request),
      );
      const header2 = ((again.values?.[0] ?? []) as unknown[]).map((v) => String(v ?? ''));
      if (header2.join('\u0000') !== header.join('\u0000')) throw new SheetChanged('the header row changed');
      if (keyIndex >= 0) {
        // One row more than was stored: a row inserted above pushes the last one down, an appended row lands there.
        const col = columnLetter(keyIndex);
        const expected = [...keyCells, ''];
        for (let from = 0; from < expected.length; from += 50_000) {
          const to = Math.min(expected.length, from + 50_000);
          const data = await call(`buyer numbers ${from + 2}-${to + 1} (check)`, () =>
            api.spreadsheets.values.get(
              { spreadsheetId: id, range: `${q}!${col}${from + 2}:${col}${to + 1}`, valueRenderOption: 'FORMATTED_VALUE', majorDimension: 'COLUMNS' },
              request,
            ),
          );
          const now = ((data.values?.[0] ?? []) as unknown[]).map(cellText);
          for (let i = from; i < to; i++) {
            if ((now[i - from] ?? '') !== expected[i]) throw new SheetChanged(`row ${i + 2} changed while the sheet was being read`);
          }
        }
      }
    } catch (err) {
      out.destroy();
      rmSync(dir, { recursive: true, force: true });
      snapshots.delete(dir);
      throw err;
    }
    return { dir, file, header };
  }

  /** A request Google refused for good: one line with what to do. */
  private refusal(what: string, f: HttpFailure, creds: SheetsCredentials): CannotRunError {
    const id = this.address.spreadsheetId;
    const why = `${f.status ?? ''}${f.apiStatus ? ` ${f.apiStatus}` : ''}`.trim();
    switch (f.status) {
      case 401:
        return new CannotRunError(`Google rejected the credentials (${why}) reading spreadsheet ${id}: ${creds.kind === 'service_account' ? `check the key file of ${creds.email} (it may have been deleted or disabled)` : 'check GOOGLE_API_KEY'}`);
      case 403:
        return new CannotRunError(`Google refused access to spreadsheet ${id} (${why}): ${accessAdvice(creds)}`);
      case 404:
        return new CannotRunError(`spreadsheet ${id} was not found (${why}): check the URL or id in SHEET_SOURCE`);
      case 400:
        return new CannotRunError(`Google Sheets rejected the request for ${what} of spreadsheet ${id} (${why}): ${printable(f.message, 200)}`);
      default:
        return new CannotRunError(`reading ${what} of spreadsheet ${id} failed (${why || f.code || 'error'}): ${printable(f.message, 200)}`);
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
