/**
 * A local fake of the Google Sheets API v4 (the parts buyer-sync uses), on
 * 127.0.0.1, for driving the real @googleapis/sheets client without the
 * internet: spreadsheets.get, values.get, values.batchGet, Google's error body
 * shape, API keys and service-account JWTs (signature checked), and injected
 * faults (status codes, delays, connections reset mid-body). Also Drive v3's
 * files.get for a spreadsheet's version and modifiedTime (the real
 * @googleapis/drive client, GOOGLE_DRIVE_ROOT_URL): a test that edits a sheet
 * bumps its version with touch().
 */
import { createPublicKey, verify } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A cell: what the sheet displays, and its underlying value. */
export interface FakeCell {
  formatted: string;
  value: string | number | boolean;
}

export interface FakeTab {
  sheetId: number;
  title: string;
  /** Row 1 is rows[0]. null = empty cell. */
  rows: (FakeCell | null)[][];
  rowCount?: number;
}

export interface FakeSpreadsheet {
  id: string;
  title?: string;
  tabs: FakeTab[];
  /** API keys that may read it (it is shared by link). */
  apiKeys?: string[];
  /** Service-account e-mails it is shared with. */
  sharedWith?: string[];
  /** Drive's version of the file (touch() bumps it); 1 unless set. */
  version?: number;
  modifiedTime?: string;
}

export type RequestKind = 'meta' | 'get' | 'batchGet' | 'drive';

export interface Fault {
  kind?: RequestKind;
  /** How many matching requests it hits. */
  times: number;
  /** Let this many matching requests through first. */
  after?: number;
  status?: number;
  retryAfterSeconds?: number;
  delayMs?: number;
  /** Send the start of a body, then reset the connection. */
  resetMidBody?: boolean;
}

export interface LoggedRequest {
  kind: RequestKind;
  ranges: string[];
  valueRenderOption: string | null;
  status: number;
  bytes: number;
}

export const text = (s: string): FakeCell => ({ formatted: s, value: s });
export const num = (n: number, formatted = String(n)): FakeCell => ({ formatted, value: n });

function columnIndex(letters: string): number {
  let n = 0;
  for (const ch of letters) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

interface A1 {
  tab: string;
  r1: number;
  r2: number;
  c1: number;
  c2: number;
}

function parseA1(range: string): A1 | null {
  const bang = range.lastIndexOf('!');
  if (bang < 0) return null;
  let tab = range.slice(0, bang);
  if (tab.startsWith("'") && tab.endsWith("'")) tab = tab.slice(1, -1).replaceAll("''", "'");
  const m = /^([A-Z]*)(\d*)(?::([A-Z]*)(\d*))?$/.exec(range.slice(bang + 1));
  if (!m) return null;
  const [, a, b, c, d] = m;
  return {
    tab,
    r1: b ? Number(b) : 1,
    r2: d ? Number(d) : m[3] === undefined && b ? Number(b) : Number.MAX_SAFE_INTEGER,
    c1: a ? columnIndex(a) : 0,
    c2: c ? columnIndex(c) : m[3] === undefined && a ? columnIndex(a) : Number.MAX_SAFE_INTEGER,
  };
}

export class FakeSheetsServer {
  readonly spreadsheets = new Map<string, FakeSpreadsheet>();
  /** Known service accounts: e-mail -> public key (PEM). */
  readonly accounts = new Map<string, string>();
  readonly faults: Fault[] = [];
  readonly requests: LoggedRequest[] = [];
  /** Called after each response is sent (n = requests so far): lets a test edit the sheet mid-read. */
  afterRequest: ((n: number) => void) | null = null;
  private server: http.Server | null = null;
  url = '';

  add(sheet: FakeSpreadsheet): void {
    this.spreadsheets.set(sheet.id, sheet);
  }

  /** The sheet was edited: Drive reports a new version and modifiedTime. */
  touch(id: string): void {
    const sheet = this.spreadsheets.get(id)!;
    sheet.version = (sheet.version ?? 1) + 1;
    sheet.modifiedTime = new Date().toISOString();
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  count(kind?: RequestKind): number {
    return this.requests.filter((r) => kind === undefined || r.kind === kind).length;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const drive = /^\/drive\/v3\/files\/([^/]+)$/.exec(url.pathname);
    const m = drive ?? /^\/v4\/spreadsheets\/([^/]+?)(?:\/values(?::batchGet|\/(.+)))?$/.exec(url.pathname);
    const kind: RequestKind = drive ? 'drive' : !m ? 'meta' : url.pathname.endsWith(':batchGet') ? 'batchGet' : m[2] ? 'get' : 'meta';
    const ranges = kind === 'batchGet' ? url.searchParams.getAll('ranges') : kind === 'get' ? [decodeURIComponent(m![2]!)] : [];
    const log: LoggedRequest = { kind, ranges, valueRenderOption: url.searchParams.get('valueRenderOption'), status: 200, bytes: 0 };
    this.requests.push(log);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const json = JSON.stringify(body);
      log.status = status;
      log.bytes = Buffer.byteLength(json);
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(log.bytes), ...headers });
      res.end(json);
      this.afterRequest?.(this.requests.length);
    };
    const error = (status: number, apiStatus: string, message: string, headers: Record<string, string> = {}) =>
      send(status, { error: { code: status, message, status: apiStatus } }, headers);

    const fault = this.faults.find((f) => f.times > 0 && (f.kind === undefined || f.kind === kind));
    if (fault && fault.after && fault.after > 0) fault.after--;
    else if (fault) {
      fault.times--;
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.resetMidBody) {
        log.status = -1;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
        res.write('{"spreadsheetId": "');
        setTimeout(() => req.socket.destroy(), 5);
        return;
      }
      if (fault.status) {
        const statuses: Record<number, string> = { 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 502: 'UNAVAILABLE', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };
        return error(fault.status, statuses[fault.status] ?? 'UNKNOWN', fault.status === 429 ? "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user'" : 'The service is currently unavailable.', fault.retryAfterSeconds ? { 'retry-after': String(fault.retryAfterSeconds) } : {});
      }
    }

    if (!m) return error(404, 'NOT_FOUND', 'Requested entity was not found.');
    const sheet = this.spreadsheets.get(decodeURIComponent(m[1]!));
    const denied = this.authorize(req, url, sheet);
    if (denied) return error(denied.status, denied.apiStatus, denied.message);
    if (!sheet) return error(404, 'NOT_FOUND', 'Requested entity was not found.');

    if (kind === 'drive') {
      // files.get with fields=…: only the fields asked for (Drive sends int64 as strings).
      const all: Record<string, unknown> = { id: sheet.id, version: String(sheet.version ?? 1), modifiedTime: sheet.modifiedTime ?? '2026-01-01T00:00:00.000Z', mimeType: 'application/vnd.google-apps.spreadsheet' };
      const fields = (url.searchParams.get('fields') ?? 'id').split(',').map((f) => f.trim());
      return send(200, Object.fromEntries(fields.filter((f) => f in all).map((f) => [f, all[f]])));
    }

    if (kind === 'meta') {
      return send(200, {
        spreadsheetId: sheet.id,
        properties: { title: sheet.title ?? 'Buyers', locale: 'ja_JP', timeZone: 'Asia/Tokyo' },
        sheets: sheet.tabs.map((t, index) => ({
          properties: { sheetId: t.sheetId, title: t.title, index, gridProperties: { rowCount: t.rowCount ?? Math.max(1000, t.rows.length), columnCount: 26 } },
        })),
      });
    }
    const render = url.searchParams.get('valueRenderOption') ?? 'FORMATTED_VALUE';
    const major = url.searchParams.get('majorDimension') ?? 'ROWS';
    const valueRanges = [];
    for (const range of ranges) {
      const a1 = parseA1(range);
      const tab = a1 && sheet.tabs.find((t) => t.title === a1.tab);
      if (!a1 || !tab) return error(400, 'INVALID_ARGUMENT', `Unable to parse range: ${range}`);
      valueRanges.push({ range, majorDimension: major, ...this.values(tab, a1, render, major) });
    }
    return kind === 'get' ? send(200, valueRanges[0]) : send(200, { spreadsheetId: sheet.id, valueRanges });
  }

  /** Values of a range as the API returns them: trailing empty cells and rows omitted. */
  private values(tab: FakeTab, a1: A1, render: string, major: string): { values?: unknown[][] } {
    const cell = (r: number, c: number): unknown => {
      const x = tab.rows[r - 1]?.[c];
      if (!x) return '';
      return render === 'FORMATTED_VALUE' ? x.formatted : x.value;
    };
    const lastRow = Math.min(a1.r2, tab.rows.length);
    const width = Math.max(0, ...tab.rows.map((r) => r.length));
    const lastCol = Math.min(a1.c2, width - 1);
    const grid: unknown[][] = [];
    for (let r = a1.r1; r <= lastRow; r++) {
      const row: unknown[] = [];
      for (let c = a1.c1; c <= lastCol; c++) row.push(cell(r, c));
      grid.push(row);
    }
    const lines = major === 'COLUMNS' ? (grid[0] ?? []).map((_, c) => grid.map((row) => row[c])) : grid;
    const trimmed = lines.map((line) => {
      const l = [...line];
      while (l.length > 0 && (l[l.length - 1] === '' || l[l.length - 1] === undefined)) l.pop();
      return l;
    });
    while (trimmed.length > 0 && trimmed[trimmed.length - 1]!.length === 0) trimmed.pop();
    return trimmed.length === 0 ? {} : { values: trimmed };
  }

  private authorize(req: http.IncomingMessage, url: URL, sheet: FakeSpreadsheet | undefined): { status: number; apiStatus: string; message: string } | null {
    const key = url.searchParams.get("key");
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (bearer) {
      const [h, p, s] = bearer.split('.');
      let claims: { iss?: string; exp?: number } = {};
      try {
        claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
      } catch {
        return { status: 401, apiStatus: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials.' };
      }
      const pem = claims.iss ? this.accounts.get(claims.iss) : undefined;
      const ok = pem && verify('RSA-SHA256', Buffer.from(`${h}.${p}`), createPublicKey(pem), Buffer.from(s!, 'base64url'));
      if (!ok || (claims.exp ?? 0) * 1000 < Date.now()) {
        return { status: 401, apiStatus: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.' };
      }
      if (sheet && !(sheet.sharedWith ?? []).includes(claims.iss!)) {
        return { status: 403, apiStatus: 'PERMISSION_DENIED', message: 'The caller does not have permission' };
      }
      return null;
    }
    if (key) {
      const known = [...this.spreadsheets.values()].some((s) => (s.apiKeys ?? []).includes(key));
      if (!known) return { status: 400, apiStatus: 'INVALID_ARGUMENT', message: 'API key not valid. Please pass a valid API key.' };
      if (sheet && !(sheet.apiKeys ?? []).includes(key)) return { status: 403, apiStatus: 'PERMISSION_DENIED', message: 'The caller does not have permission' };
      return null;
    }
    return { status: 403, apiStatus: 'PERMISSION_DENIED', message: 'The request is missing a valid API key.' };
  }
}
