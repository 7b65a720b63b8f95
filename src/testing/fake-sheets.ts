/**
 * A local fake of the Google Sheets API v4 (the parts buyer-sync uses), on
 * 127.0.0.1, for driving the real @googleapis/sheets client without the
 * internet: spreadsheets.get, values.get, values.batchGet, Google's error body
 * shape, API keys and service-account JWTs (signature checked), and injected
 * faults (status codes, delays, connections reset mid-body). Also Drive v3's
 * files.get for a spreadsheet's version and modifiedTime (the real
 * @googleapis/drive client, GOOGLE_DRIVE_ROOT_URL): a test that edits a sheet
 * bumps its version with touch().
 *
 * Writes, as the sync report uses them: spreadsheets.batchUpdate (addSheet,
 * addProtectedRange, updateCells with fields "note"), values.clear and
 * values.batchUpdate. Each write bumps the Drive version. A write needs a
 * service account's token with the `spreadsheets` scope (the self-signed
 * JWT's scope claim) and the account among the sheet's editors: an API key
 * gets 401, a read-only scope 403 insufficient scopes, a viewer 403. Notes
 * live beside the cells (FakeTab.notes), so a tab's `rows` are exactly its
 * values: a test compares them byte for byte.
 */
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
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
  /** Cell notes, keyed "row,column" (0-based). */
  notes?: Record<string, string>;
  protectedRanges?: { warningOnly: boolean; description?: string }[];
}

export interface FakeSpreadsheet {
  id: string;
  title?: string;
  tabs: FakeTab[];
  /** API keys that may read it (it is shared by link). */
  apiKeys?: string[];
  /** Service-account e-mails it is shared with. */
  sharedWith?: string[];
  /** Service-account e-mails that may edit it (shared as Editor); others may only read. */
  editors?: string[];
  /** properties.timeZone (default Asia/Tokyo). */
  timeZone?: string;
  /** Drive's version of the file (touch() bumps it); 1 unless set. */
  version?: number;
  modifiedTime?: string;
}

export type RequestKind = 'meta' | 'get' | 'batchGet' | 'drive' | 'batchUpdate' | 'clear' | 'valuesBatchUpdate';

/** The kinds of request that change a spreadsheet. */
export const WRITE_KINDS: RequestKind[] = ['batchUpdate', 'clear', 'valuesBatchUpdate'];

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
  /** A write's JSON body. */
  body?: unknown;
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
  if (bang < 0) {
    // A bare tab name ('My tab') is the whole tab.
    const whole = /^'(.*)'$/.exec(range)?.[1]?.replaceAll("''", "'") ?? range;
    return { tab: whole, r1: 1, r2: Number.MAX_SAFE_INTEGER, c1: 0, c2: Number.MAX_SAFE_INTEGER };
  }
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

  /**
   * A service account this server knows, as Google issues its key: a new key
   * pair, the public half registered, the key file written to `file`. Its
   * `token_uri` is this server's /token unless `tokenUri` is false (the
   * client's own default, redirected otherwise). Returns `file`.
   */
  serviceAccountKeyFile(email: string, file: string, o: { tokenUri?: boolean } = {}): string {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.accounts.set(email, publicKey.export({ type: 'spki', format: 'pem' }).toString());
    writeFileSync(
      file,
      JSON.stringify({
        type: 'service_account',
        client_email: email,
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        private_key_id: 'k1',
        ...(o.tokenUri === false ? {} : { token_uri: `${this.url}token` }),
      }),
    );
    return file;
  }
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
    const write =
      req.method === 'POST'
        ? (/^\/v4\/spreadsheets\/([^/]+?)(:batchUpdate|\/values:batchUpdate|\/values\/(.+):clear)$/.exec(
            url.pathname,
          ) ?? undefined)
        : undefined;
    const m = drive ?? write ?? /^\/v4\/spreadsheets\/([^/]+?)(?:\/values(?::batchGet|\/(.+)))?$/.exec(url.pathname);
    const kind: RequestKind = drive
      ? 'drive'
      : write
        ? write[2] === ':batchUpdate'
          ? 'batchUpdate'
          : write[2] === '/values:batchUpdate'
            ? 'valuesBatchUpdate'
            : 'clear'
        : !m
          ? 'meta'
          : url.pathname.endsWith(':batchGet')
            ? 'batchGet'
            : m[2]
              ? 'get'
              : 'meta';
    const ranges =
      kind === 'batchGet' || kind === 'meta'
        ? url.searchParams.getAll('ranges')
        : kind === 'get'
          ? [decodeURIComponent(m![2]!)]
          : kind === 'clear'
            ? [decodeURIComponent(write![3]!)]
            : [];
    let body: unknown = undefined;
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const raw = Buffer.concat(chunks).toString('utf8');
      body = raw === '' ? {} : JSON.parse(raw);
    }
    const log: LoggedRequest = {
      kind,
      ranges,
      valueRenderOption: url.searchParams.get('valueRenderOption'),
      status: 200,
      bytes: 0,
      ...(body !== undefined ? { body } : {}),
    };
    this.requests.push(log);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const json = JSON.stringify(body);
      log.status = status;
      log.bytes = Buffer.byteLength(json);
      res.writeHead(status, {
        'content-type': 'application/json; charset=UTF-8',
        'content-length': String(log.bytes),
        ...headers,
      });
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
        const statuses: Record<number, string> = {
          429: 'RESOURCE_EXHAUSTED',
          500: 'INTERNAL',
          502: 'UNAVAILABLE',
          503: 'UNAVAILABLE',
          504: 'DEADLINE_EXCEEDED',
        };
        return error(
          fault.status,
          statuses[fault.status] ?? 'UNKNOWN',
          fault.status === 429
            ? "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user'"
            : 'The service is currently unavailable.',
          fault.retryAfterSeconds ? { 'retry-after': String(fault.retryAfterSeconds) } : {},
        );
      }
    }

    if (!m) return error(404, 'NOT_FOUND', 'Requested entity was not found.');
    const sheet = this.spreadsheets.get(decodeURIComponent(m[1]!));
    const denied = this.authorize(req, url, sheet, WRITE_KINDS.includes(kind));
    if (denied) return error(denied.status, denied.apiStatus, denied.message);
    if (!sheet) return error(404, 'NOT_FOUND', 'Requested entity was not found.');

    if (WRITE_KINDS.includes(kind)) {
      const result = this.write(sheet, kind, ranges, body as Record<string, unknown>);
      if ('error' in result) return error(400, 'INVALID_ARGUMENT', result.error);
      this.touch(sheet.id);
      return send(200, result.reply);
    }

    if (kind === 'drive') {
      // files.get with fields=…: only the fields asked for (Drive sends int64 as strings).
      const all: Record<string, unknown> = {
        id: sheet.id,
        version: String(sheet.version ?? 1),
        modifiedTime: sheet.modifiedTime ?? '2026-01-01T00:00:00.000Z',
        mimeType: 'application/vnd.google-apps.spreadsheet',
      };
      const fields = (url.searchParams.get('fields') ?? 'id').split(',').map((f) => f.trim());
      return send(200, Object.fromEntries(fields.filter((f) => f in all).map((f) => [f, all[f]])));
    }

    if (kind === 'meta' && ranges.length > 0) {
      // Grid data (only notes are served): one data block per range.
      const out: { properties: { sheetId: number; title: string }; data: unknown[] }[] = [];
      for (const range of ranges) {
        const a1 = parseA1(range);
        const tab = a1 && sheet.tabs.find((t) => t.title === a1.tab);
        if (!a1 || !tab) return error(400, 'INVALID_ARGUMENT', `Unable to parse range: ${range}`);
        const lastRow = Math.min(a1.r2, tab.rowCount ?? Math.max(1000, tab.rows.length));
        const lastCol = Math.min(a1.c2, 25);
        const rowData = [];
        for (let r = a1.r1 - 1; r < lastRow; r++) {
          const values = [];
          for (let c = a1.c1; c <= lastCol; c++) {
            const note = tab.notes?.[`${r},${c}`];
            values.push(note === undefined ? {} : { note });
          }
          rowData.push({ values });
        }
        let block = out.find((o) => o.properties.sheetId === tab.sheetId);
        if (!block) out.push((block = { properties: { sheetId: tab.sheetId, title: tab.title }, data: [] }));
        block.data.push({ startRow: a1.r1 - 1, startColumn: a1.c1, rowData });
      }
      return send(200, { spreadsheetId: sheet.id, sheets: out });
    }

    if (kind === 'meta') {
      return send(200, {
        spreadsheetId: sheet.id,
        properties: { title: sheet.title ?? 'Buyers', locale: 'ja_JP', timeZone: sheet.timeZone ?? 'Asia/Tokyo' },
        sheets: sheet.tabs.map((t, index) => ({
          properties: {
            sheetId: t.sheetId,
            title: t.title,
            index,
            gridProperties: { rowCount: t.rowCount ?? Math.max(1000, t.rows.length), columnCount: 26 },
          },
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

  /** Applies a write; the reply is what Google answers. Values are stored as sent (formulas as their text). */
  private write(
    sheet: FakeSpreadsheet,
    kind: RequestKind,
    ranges: string[],
    body: Record<string, unknown>,
  ): { reply: unknown } | { error: string } {
    const tabById = (id: unknown) => sheet.tabs.find((t) => t.sheetId === id);
    const tabOf = (range: string) => {
      const a1 = parseA1(range);
      const tab = a1 && sheet.tabs.find((t) => t.title === a1.tab);
      return a1 && tab ? { a1, tab } : null;
    };
    if (kind === 'clear') {
      const at = tabOf(ranges[0]!);
      if (!at) return { error: `Unable to parse range: ${ranges[0]}` };
      const { a1, tab } = at;
      for (let r = a1.r1 - 1; r < Math.min(tab.rows.length, a1.r2); r++) {
        const row = tab.rows[r]!;
        for (let c = a1.c1; c < Math.min(row.length, a1.c2 + 1); c++) row[c] = null;
      }
      while (tab.rows.length > 0 && tab.rows[tab.rows.length - 1]!.every((c) => c === null)) tab.rows.pop();
      return { reply: { spreadsheetId: sheet.id, clearedRange: ranges[0] } };
    }
    if (kind === 'valuesBatchUpdate') {
      const data = (body.data ?? []) as { range: string; values: unknown[][] }[];
      let cells = 0;
      for (const d of data) {
        const at = tabOf(d.range);
        if (!at) return { error: `Unable to parse range: ${d.range}` };
        const { a1, tab } = at;
        d.values.forEach((line, i) => {
          const r = a1.r1 - 1 + i;
          while (tab.rows.length <= r) tab.rows.push([]);
          const row = tab.rows[r]!;
          line.forEach((v, j) => {
            const c = a1.c1 + j;
            while (row.length <= c) row.push(null);
            row[c] = v === '' || v === null ? null : { formatted: String(v), value: v as string | number | boolean };
            cells++;
          });
        });
        if (tab.rows.length > (tab.rowCount ?? 1000)) tab.rowCount = tab.rows.length;
      }
      return { reply: { spreadsheetId: sheet.id, totalUpdatedCells: cells } };
    }
    const replies: unknown[] = [];
    for (const request of (body.requests ?? []) as Record<string, Record<string, unknown>>[]) {
      if (request.addSheet) {
        const props = (request.addSheet.properties ?? {}) as { title?: string; gridProperties?: { rowCount?: number } };
        if (!props.title || sheet.tabs.some((t) => t.title === props.title))
          return {
            error: `Invalid requests[0].addSheet: A sheet with the name "${props.title}" already exists. Please enter another name.`,
          };
        const sheetId =
          (request.addSheet.properties as { sheetId?: number }).sheetId ??
          Math.max(0, ...sheet.tabs.map((t) => t.sheetId)) + 1000;
        if (sheet.tabs.some((t) => t.sheetId === sheetId))
          return { error: `Invalid requests[0].addSheet: A sheet with the id ${sheetId} already exists.` };
        sheet.tabs.push({ sheetId, title: props.title, rows: [], rowCount: props.gridProperties?.rowCount ?? 1000 });
        replies.push({ addSheet: { properties: { sheetId, title: props.title, index: sheet.tabs.length - 1 } } });
      } else if (request.addProtectedRange) {
        const p = request.addProtectedRange.protectedRange as {
          range: { sheetId: number };
          warningOnly?: boolean;
          description?: string;
        };
        const tab = tabById(p.range.sheetId);
        if (!tab) return { error: `No grid with id: ${p.range.sheetId}` };
        (tab.protectedRanges ??= []).push({
          warningOnly: p.warningOnly === true,
          ...(p.description ? { description: p.description } : {}),
        });
        replies.push({ addProtectedRange: { protectedRange: p } });
      } else if (request.updateCells) {
        const u = request.updateCells as {
          fields: string;
          start: { sheetId: number; rowIndex: number; columnIndex: number };
          rows: { values: { note?: string }[] }[];
        };
        if (u.fields !== 'note') return { error: `fake: updateCells only supports fields "note", got "${u.fields}"` };
        const tab = tabById(u.start.sheetId);
        if (!tab) return { error: `No grid with id: ${u.start.sheetId}` };
        u.rows.forEach((row, i) =>
          row.values.forEach((v, j) => {
            const key = `${u.start.rowIndex + i},${u.start.columnIndex + j}`;
            tab.notes ??= {};
            if (v.note === undefined || v.note === '') delete tab.notes[key];
            else tab.notes[key] = v.note;
          }),
        );
        replies.push({});
      } else {
        return { error: `fake: unsupported request ${Object.keys(request).join(',')}` };
      }
    }
    return { reply: { spreadsheetId: sheet.id, replies } };
  }

  private authorize(
    req: http.IncomingMessage,
    url: URL,
    sheet: FakeSpreadsheet | undefined,
    writing = false,
  ): { status: number; apiStatus: string; message: string } | null {
    const key = url.searchParams.get('key');
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (bearer) {
      const [h, p, s] = bearer.split('.');
      let claims: { iss?: string; exp?: number; scope?: string } = {};
      try {
        claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
      } catch {
        return {
          status: 401,
          apiStatus: 'UNAUTHENTICATED',
          message: 'Request had invalid authentication credentials.',
        };
      }
      const pem = claims.iss ? this.accounts.get(claims.iss) : undefined;
      const ok =
        pem && verify('RSA-SHA256', Buffer.from(`${h}.${p}`), createPublicKey(pem), Buffer.from(s!, 'base64url'));
      if (!ok || (claims.exp ?? 0) * 1000 < Date.now()) {
        return {
          status: 401,
          apiStatus: 'UNAUTHENTICATED',
          message:
            'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        };
      }
      if (sheet && !(sheet.sharedWith ?? []).includes(claims.iss!)) {
        return { status: 403, apiStatus: 'PERMISSION_DENIED', message: 'The caller does not have permission' };
      }
      if (writing && !(claims.scope ?? '').split(' ').includes('https://www.googleapis.com/auth/spreadsheets')) {
        return {
          status: 403,
          apiStatus: 'PERMISSION_DENIED',
          message: 'Request had insufficient authentication scopes.',
        };
      }
      if (writing && sheet && !(sheet.editors ?? []).includes(claims.iss!)) {
        return { status: 403, apiStatus: 'PERMISSION_DENIED', message: 'The caller does not have permission' };
      }
      return null;
    }
    if (key && writing) {
      return {
        status: 401,
        apiStatus: 'UNAUTHENTICATED',
        message:
          'API keys are not supported by this API. Expected OAuth2 access token or other authentication credentials that assert a principal.',
      };
    }
    if (key) {
      const known = [...this.spreadsheets.values()].some((s) => (s.apiKeys ?? []).includes(key));
      if (!known)
        return {
          status: 400,
          apiStatus: 'INVALID_ARGUMENT',
          message: 'API key not valid. Please pass a valid API key.',
        };
      if (sheet && !(sheet.apiKeys ?? []).includes(key))
        return { status: 403, apiStatus: 'PERMISSION_DENIED', message: 'The caller does not have permission' };
      return null;
    }
    return { status: 403, apiStatus: 'PERMISSION_DENIED', message: 'The request is missing a valid API key.' };
  }
}
