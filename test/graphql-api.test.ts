/**
 * The GraphQL API as a client sees it: the real HTTP server of `serve`
 * (PostGraphile over buyer_sync_api, logged in as buyer_sync_authenticator)
 * against a database in a known state made by the real command line.
 * - Every figure equals what SQL says.
 * - No field anywhere in the schema holds a name, phone, e-mail, address or
 *   note, and no such value (canaries planted in every personal cell) comes
 *   back from any query the schema allows.
 * - Operator actions: refused without the operator token (and a wrong token
 *   is a 401), enqueue their job with it.
 * - Limits: depth, request size, no GraphiQL outside development.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.ts';
import type { Database } from '../src/db/connection.ts';
import type { HttpService } from '../src/http/server.ts';
import { scramVerifier } from '../src/api/login.ts';
import { HEADER } from '../src/sample/generate.ts';
import { createTestDatabase, runCli, useTestDatabase, writeCsv, type TestDatabase } from './helpers.ts';

process.env.GRAPHILE_ENV ??= 'production';
const { startHttp } = await import('../src/http/server.ts');

const TOKEN = 'test-operator-token-0123456789';
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-graphql-'));
const db = useTestDatabase();
const { query } = db;
let web: HttpService;

/** A Google spreadsheet id: a sheet shared by link is open to anyone who has it, so the API never shows one. */
const SPREADSHEET_ID = '1CanarySpreadsheetIdXyz0123456789abcdefGHIJ_k';
const CANARY = {
  Name: 'CANARY-NAME-名前',
  Phone: 'CANARY-PHONE-0901234',
  Email: 'canary-mail@example.jp',
  Address: 'CANARY-ADDR-東京都港区',
  Notes: 'CANARY-NOTE-秘密のメモ',
};
function canaryRow(key: string, over: Record<number, string> = {}): string[] {
  return HEADER.map((h, i) =>
    i === 0 ? key : (over[i] ?? (CANARY as Record<string, string>)[h] ?? (h === 'Inquiry Date' ? '2024-04-01' : '')),
  );
}

function asDatabase(t: Pick<TestDatabase, 'url' | 'pool'>): Database {
  return { url: t.url, pool: t.pool, embedded: null, close: async () => undefined };
}

interface Gql {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}
async function gql(q: string, variables: Record<string, unknown> = {}, token?: string): Promise<Gql> {
  const res = await fetch(`${web.url}graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query: q, variables }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Gql['body'] };
}
async function data(
  q: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<Record<string, unknown>> {
  const r = await gql(q, variables, token);
  expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
  return r.body.data!;
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
/** A SQL row as the API spells it: camelCase keys, numbers and timestamps as JSON carries them. */
function asApi(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [
      camel(k).replace(/(\d+)h$/, '$1H'),
      v instanceof Date ? v.getTime() : v === null ? null : typeof v === 'object' ? v : String(v),
    ]),
  );
}
function normalise(row: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const one = (v: unknown) =>
    v === null || v === undefined
      ? null
      : typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v)
        ? String(Date.parse(v))
        : typeof v === 'object'
          ? v
          : String(v);
  return Object.fromEntries(keys.map((k) => [k, one(row[k])]));
}

let sheet: string;
beforeAll(async () => {
  // Five good buyers, twelve whose inquiry date is no date (failed, queued for retry: missing), a duplicate, a row without a number.
  sheet = writeCsv(dir, [
    HEADER,
    ...['G001', 'G002', 'G003', 'G004', 'G005'].map((k) => canaryRow(k)),
    ...Array.from({ length: 12 }, (_, i) => canaryRow(`A${String(i + 1).padStart(3, '0')}`, { 5: 'next spring' })),
    canaryRow('G001'),
    canaryRow(''),
  ]);
  const env = { DATABASE_URL: db.url, SHEET_ENCODING: undefined, ALERT_WEBHOOK_URL: undefined };
  expect((await runCli(['sync', '--source', sheet], env)).code).toBe(1);
  expect((await runCli(['verify', '--source', sheet, '--sample', 'all'], env)).code).toBe(1);
  // What a Google sheet leaves behind: a run that failed reading it (its id in the message), an alert whose details name it.
  await db.pool.query(
    `insert into sync_runs (started_at, finished_at, status, failure, mode, source, batch_size, error_type, error_message)
     values (now() - interval '1 hour', now() - interval '1 hour', 'failed', 'sheet', 'full', $1, 100, 'transient', $2)`,
    [
      `gsheets:${SPREADSHEET_ID}#gid=0`,
      `Google Sheets kept failing while reading spreadsheet ${SPREADSHEET_ID}: HTTP 503`,
    ],
  );
  await db.pool.query(
    `insert into sync_alerts (type, severity, condition, message, details)
     values ('permanent_failure', 'critical', 'permanent_failure:Z001', 'buyer Z001 could not be synced after 4 attempt(s)', $1)`,
    [{ buyer_number: 'Z001', source: `gsheets:${SPREADSHEET_ID}#gid=0`, attempts: 4 }],
  );
  web = await startHttp(
    asDatabase(db),
    readConfig({ DATABASE_URL: db.url, PORT: '0', DASHBOARD_OPERATOR_TOKEN: TOKEN }),
  );
}, 60_000);
afterAll(async () => {
  await web?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('figures: the API says what SQL says', () => {
  it('summary equals buyer_sync.dashboard_summary, field by field', async () => {
    const [sql] = await query('select * from buyer_sync.dashboard_summary');
    const expected = asApi(sql!);
    const fields = Object.keys(expected);
    const d = await data(`{ summary { ${fields.join(' ')} } }`);
    expect(fields.length).toBe(22);
    expect(normalise(d.summary as Record<string, unknown>, fields)).toEqual(normalise(expected, fields));
    expect(d.summary).toMatchObject({ missingCount: 12, spreadsheetCount: 17, databaseCount: 5, retryQueueSize: 12 });
  });

  it('missing buyers by sheet row, the error log, the retry queue, alerts, runs, days and the latest verification equal their SQL', async () => {
    const d = await data(`{
      missingBuyers(orderBy: ROW_NUMBER_ASC) { buyerNumber rowNumber lastErrorType }
      recentErrors(orderBy: CREATED_AT_DESC) { id buyerNumber rowNumber columnName errorType errorMessage }
      retryEntries(orderBy: NEXT_RETRY_AT_ASC) { buyerNumber attemptCount status }
      alerts(orderBy: [SEVERITY_RANK_ASC, CREATED_AT_DESC]) { id type severity message }
      recentRuns(orderBy: STARTED_AT_DESC) { runId status totalRows inserted failed errorRate }
      dailyRuns { day runs failedRows errorRate }
      dailyErrors { day errorType errors buyers }
      latestVerification { id passed summary missingCount sampleSize }
    }`);
    expect(d.missingBuyers).toEqual(
      (await query('select buyer_number, row_number from buyer_sync.missing_buyers order by row_number')).map((r) => ({
        buyerNumber: r.buyer_number,
        rowNumber: r.row_number,
        lastErrorType: 'data_type',
      })),
    );
    expect((d.missingBuyers as unknown[]).length).toBe(12);
    // Newest first; entries of one statement share a time, so the order among them is the key's.
    const errors = d.recentErrors as { id: string }[];
    expect([...errors].sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      (
        await query(
          `select id, buyer_number, row_number, column_name, error_type, error_message from sync_error_log order by id`,
        )
      ).map((r) => ({
        id: r.id,
        buyerNumber: r.buyer_number,
        rowNumber: r.row_number,
        columnName: r.column_name,
        errorType: r.error_type,
        errorMessage: r.error_message,
      })),
    );
    expect(d.retryEntries).toEqual(
      (
        await query(
          `select buyer_number, attempt_count, status from retry_queue where status in ('pending', 'processing') order by next_retry_at, id`,
        )
      ).map((r) => ({ buyerNumber: r.buyer_number, attemptCount: r.attempt_count, status: r.status })),
    );
    expect(d.alerts).toEqual(
      await query(
        `select id, type, severity, message from buyer_sync.open_alerts order by case severity when 'critical' then 0 when 'error' then 1 when 'warning' then 2 else 3 end, created_at desc, id`,
      ),
    );
    // The sample's broken rows: missing buyers, a high error rate, buyers failed for good (one alert for the run) and rows rejected for good (duplicates).
    expect((d.alerts as { type: string }[]).map((a) => a.type).sort()).toEqual([
      'high_error_rate',
      'missing_buyers',
      'permanent_failure',
      'rows_rejected',
    ]);
    expect(d.recentRuns).toEqual(
      (
        await query(
          `select run_id, status, total_rows, inserted, failed, error_rate from buyer_sync.run_stats order by started_at desc`,
        )
      ).map((r) => ({
        runId: r.run_id,
        status: r.status,
        totalRows: r.total_rows,
        inserted: r.inserted,
        failed: r.failed,
        errorRate: r.error_rate,
      })),
    );
    expect(
      (d.dailyRuns as Record<string, unknown>[]).map((r) => normalise(r, ['day', 'runs', 'failedRows', 'errorRate'])),
    ).toEqual(
      (
        await query(
          `select to_char(day, 'YYYY-MM-DD') as day, runs, failed_rows, error_rate from buyer_sync.daily_runs order by day`,
        )
      ).map((r) => normalise(asApi(r), ['day', 'runs', 'failedRows', 'errorRate'])),
    );
    expect(
      (d.dailyErrors as Record<string, unknown>[]).map((r) => normalise(r, ['day', 'errorType', 'errors', 'buyers'])),
    ).toEqual(
      (
        await query(
          `select to_char(day, 'YYYY-MM-DD') as day, error_type, errors, buyers from buyer_sync.daily_errors_by_type order by day, error_type`,
        )
      ).map((r) => normalise(asApi(r), ['day', 'errorType', 'errors', 'buyers'])),
    );
    const [v] = await query(
      `select id, passed, summary, missing_count, sample_size from buyer_sync.verification_reports order by created_at desc limit 1`,
    );
    expect(d.latestVerification).toEqual({
      id: v!.id,
      passed: false,
      summary: v!.summary,
      missingCount: 12,
      sampleSize: v!.sample_size,
    });
  });
});

describe('no personal data', () => {
  /** Every object type's fields, from the live schema's introspection. */
  async function schemaFields(): Promise<{ type: string; field: string; scalar: boolean }[]> {
    const d = await data(
      `{ __schema { types { name kind fields { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } inputFields { name } } } }`,
    );
    const out: { type: string; field: string; scalar: boolean }[] = [];
    type T = { kind: string; name: string | null; ofType?: T | null };
    const leaf = (t: T): T => (t.ofType ? leaf(t.ofType) : t);
    for (const t of (
      d.__schema as {
        types: {
          name: string;
          kind: string;
          fields: { name: string; type: T }[] | null;
          inputFields: { name: string }[] | null;
        }[];
      }
    ).types) {
      if (t.name.startsWith('__')) continue;
      for (const f of t.fields ?? [])
        out.push({ type: t.name, field: f.name, scalar: ['SCALAR', 'ENUM'].includes(leaf(f.type).kind) });
      for (const f of t.inputFields ?? []) out.push({ type: t.name, field: f.name, scalar: true });
    }
    return out;
  }

  it('introspection shows no field holding a name, phone, e-mail, address or note', async () => {
    const fields = await schemaFields();
    expect(fields.length).toBeGreaterThan(100);
    const personal = /(^|[a-z])(name|phone|tel|e?mail|address|notes?|assignee)$/i;
    // columnName is the name of a sheet column (inquiry_date), not of a person.
    const found = fields.filter((f) => personal.test(f.field) && f.field !== 'columnName');
    expect(found).toEqual([]);
  });

  it('no value of a personal cell comes back from any list or object the schema offers, every scalar field selected', async () => {
    const fields = await schemaFields();
    const roots = fields.filter((f) => f.type === 'Query' && !f.scalar && !/By[A-Z]/.test(f.field));
    expect(roots.map((r) => r.field).sort()).toEqual([
      'alertThresholds',
      'alerts',
      'dailyErrorRate',
      'dailyErrors',
      'dailyFailingBuyers',
      'dailyRuns',
      'extraBuyers',
      'latestVerification',
      'missingBuyers',
      'recentErrors',
      'recentRuns',
      'reportStatus',
      'retryEntries',
      'summary',
      'verdict',
    ]);
    const typeOfRoot = async (field: string) => {
      const d = await data(
        `{ __type(name: "Query") { fields { name type { name ofType { name ofType { name ofType { name } } } } } } }`,
      );
      type T = { name: string | null; ofType?: T | null };
      const f = (d.__type as { fields: { name: string; type: T }[] }).fields.find((x) => x.name === field)!;
      let t: T | null | undefined = f.type;
      while (t && !t.name) t = t.ofType;
      return t!.name!;
    };
    let text = '';
    for (const root of roots) {
      const type = await typeOfRoot(root.field);
      const scalars = fields.filter((f) => f.type === type && f.scalar).map((f) => f.field);
      text += JSON.stringify(await data(`{ ${root.field} { ${scalars.join(' ')} } }`));
    }
    expect(text).toContain('A001');
    for (const value of Object.values(CANARY)) expect(text).not.toContain(value);
    // Nor the sheet's address: runs say google_sheet or csv, ids in messages show as <id>.
    expect(text).not.toContain(SPREADSHEET_ID);
    expect(text).toContain('"sourceKind":"google_sheet"');
    expect(text).toContain('reading spreadsheet <id>: HTTP 503');
    for (const fragment of ['CANARY', '名前', '秘密', 'example.jp', '0901234', '港区'])
      expect(text).not.toContain(fragment);
  });
});

describe('operator actions', () => {
  const jobs = async (task: string) =>
    (
      await query<{ n: number }>(`select count(*)::int as n from graphile_worker.jobs where task_identifier = $1`, [
        task,
      ])
    )[0]!.n;

  it('without the token: a clear GraphQL error naming the header, and no job', async () => {
    const before = await jobs('buyers__sync');
    const r = await gql('mutation { requestSync(input: {}) { result } }');
    expect(r.status).toBe(200);
    expect(r.body.errors?.[0]).toMatchObject({
      message: expect.stringMatching(
        /operator action: send the header "Authorization: Bearer <DASHBOARD_OPERATOR_TOKEN>"/,
      ),
      extensions: { code: 'FORBIDDEN' },
    });
    expect(await jobs('buyers__sync')).toBe(before);
    const ack = await gql('mutation($id: UUID!) { acknowledgeAlert(input: { alertId: $id }) { result } }', {
      id: (await query('select id from sync_alerts limit 1'))[0]!.id,
    });
    expect(ack.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await query('select 1 from sync_alerts where acknowledged_at is not null')).toEqual([]);
  });

  it('a wrong token, or a malformed header, is a 401 before GraphQL runs', async () => {
    const wrong = await gql('{ summary { missingCount } }', {}, 'not-the-token-at-all-000');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(wrong.body).toEqual({ errors: [{ message: 'the operator token is wrong' }] });
    const res = await fetch(`${web.url}graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Basic abc' },
      body: '{"query":"{ summary { missingCount } }"}',
    });
    expect(res.status).toBe(401);
  });

  it('with the token: a sync request, a retry of a queued buyer and of any other, and an acknowledgement each do their one thing', async () => {
    const sync = await data('mutation { requestSync(input: {}) { result } }', {}, TOKEN);
    const syncJob = (sync.requestSync as { result: string }).result;
    expect(
      await query('select task_identifier, queue_name from graphile_worker.jobs where id = $1', [syncJob]),
    ).toEqual([{ task_identifier: 'buyers__sync', queue_name: 'buyer_sync' }]);

    const queued = await data(
      'mutation($n: String!) { retryBuyer(input: { buyerNumber: $n }) { result } }',
      { n: 'A001' },
      TOKEN,
    );
    expect(
      await query('select task_identifier from graphile_worker.jobs where id = $1', [
        (queued.retryBuyer as { result: string }).result,
      ]),
    ).toEqual([{ task_identifier: 'retry_queue__process' }]);
    expect(
      await query(
        `select next_retry_at <= now() as due from retry_queue where buyer_number = 'A001' and status = 'pending'`,
      ),
    ).toEqual([{ due: true }]);
    expect(
      (
        await query(`select count(*)::int as n from retry_queue where status = 'pending' and next_retry_at <= now()`)
      )[0]!.n,
    ).toBe(1);

    const other = await data(
      'mutation($n: String!) { retryBuyer(input: { buyerNumber: $n }) { result } }',
      { n: 'G999' },
      TOKEN,
    );
    expect(
      await query('select task_identifier from graphile_worker.jobs where id = $1', [
        (other.retryBuyer as { result: string }).result,
      ]),
    ).toEqual([{ task_identifier: 'buyers__sync_numbers' }]);

    const [alert] = await query<{ id: string }>(`select id from buyer_sync.open_alerts where type = 'missing_buyers'`);
    const ack = await data(
      'mutation($id: UUID!) { acknowledgeAlert(input: { alertId: $id }) { result } }',
      { id: alert!.id },
      TOKEN,
    );
    const [row] = await query<{ acknowledged_at: Date }>('select acknowledged_at from sync_alerts where id = $1', [
      alert!.id,
    ]);
    expect(Date.parse((ack.acknowledgeAlert as { result: string }).result)).toBe(row!.acknowledged_at.getTime());
    const shown = await data('{ alerts { id acknowledgedAt } }');
    expect(
      (shown.alerts as { id: string; acknowledgedAt: string | null }[]).find((a) => a.id === alert!.id)?.acknowledgedAt,
    ).not.toBeNull();
  });

  it("bad arguments get the function's own message; unexpected database errors stay masked", async () => {
    const missing = await gql(
      'mutation { acknowledgeAlert(input: { alertId: "00000000-0000-4000-8000-000000000000" }) { result } }',
      {},
      TOKEN,
    );
    expect(missing.body.errors?.[0]).toMatchObject({
      message: 'no alert 00000000-0000-4000-8000-000000000000',
      extensions: { code: 'BAD_REQUEST' },
    });
    const blank = await gql('mutation { retryBuyer(input: { buyerNumber: "  " }) { result } }', {}, TOKEN);
    expect(blank.body.errors?.[0]?.message).toBe('retry_buyer_now needs a buyer number');
    const notNull = await gql('mutation { retryBuyer(input: {}) { result } }', {}, TOKEN);
    expect(notNull.body.errors?.[0]?.message).toMatch(/buyerNumber/);
  });
});

describe('limits and pages', () => {
  it('an over-deep query is refused by validation; a large body is refused; GraphiQL is off outside development', async () => {
    const deep = await gql(
      `{ __schema { types { fields { type { ${'ofType { '.repeat(20)}name${' }'.repeat(20)} } } } } }`,
    );
    expect(deep.body.errors?.[0]?.message).toMatch(/depth/i);
    const big = await fetch(`${web.url}graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ summary { missingCount } } #${'x'.repeat(70_000)}` }),
    });
    expect(big.status).toBe(413);
    expect((await fetch(`${web.url}graphiql`)).status).toBe(404);
    const get = await fetch(`${web.url}graphql`, { headers: { accept: 'text/html' } });
    expect(get.headers.get('content-type') ?? '').not.toMatch(/html/);
  });

  it('breadth: too many fields at the top, or in all, are refused before anything runs; each request has a statement timeout', async () => {
    const aliases = Array.from({ length: 21 }, (_, i) => `a${i}: extraBuyers { buyerNumber }`).join(' ');
    const wide = await gql(`{ ${aliases} }`);
    expect(wide.body.errors?.[0]?.message).toBe(
      'a request may ask for at most 20 fields at its top level, this one asks for 21',
    );
    expect(wide.body.data).toBeUndefined();
    const many = Array.from(
      { length: 16 },
      (_, i) =>
        `r${i}: recentErrors { id createdAt runId buyerNumber rowNumber columnName errorType errorMessage retryable ${'id '.repeat(10)}}`,
    ).join(' ');
    const fat = await gql(`{ ${many} }`);
    expect(fat.body.errors?.map((e) => e.message)).toContain(
      'a request may name at most 300 fields, this one names more',
    );
    const fine = await gql(`{ ${Array.from({ length: 20 }, (_, i) => `a${i}: summary { missingCount }`).join(' ')} }`);
    expect(fine.body.errors).toBeUndefined();
    const timeout = await data(`{ summary { missingCount } }`);
    expect(timeout).toEqual({ summary: { missingCount: 12 } });
  });

  it('/ is the page (with a content security policy), its script and style are served with ETags, /healthz answers, anything else is 404', async () => {
    const page = await fetch(web.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/assets/app.js">');
    const js = await fetch(`${web.url}assets/app.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    const etag = js.headers.get('etag')!;
    expect((await js.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(`${web.url}assets/app.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${web.url}assets/app.css`)).status).toBe(200);
    expect(await (await fetch(`${web.url}healthz`)).text()).toBe('ok\n');
    expect((await fetch(`${web.url}buyers`)).status).toBe(404);
    expect((await fetch(web.url, { method: 'POST' })).status).toBe(405);
  });

  it('in development (GRAPHILE_ENV=development) GraphiQL is at /graphiql', async () => {
    const dev = await startHttp(
      asDatabase(db),
      readConfig({ DATABASE_URL: db.url, PORT: '0', GRAPHILE_ENV: 'development' }),
    );
    try {
      const res = await fetch(`${dev.url}graphiql`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/ruru|graphiql/i);
    } finally {
      await dev.close();
    }
  });
});

describe('the API login', () => {
  it('DASHBOARD_DATABASE_URL naming a superuser, or a role that inherits, is refused at start with the reason', async () => {
    const superuser = readConfig({ DATABASE_URL: db.url, PORT: '0', DASHBOARD_DATABASE_URL: db.url });
    await expect(startHttp(asDatabase(db), superuser)).rejects.toThrow(
      /DASHBOARD_DATABASE_URL cannot serve the GraphQL API: ".*" is a superuser/,
    );
    const role = `buyer_sync_test_login_${process.pid}`;
    await db.pool.query(`create role ${role} login inherit password 'test-login-password-0123'`);
    try {
      await db.pool.query(`grant buyer_sync_dashboard, buyer_sync_operator to ${role}`);
      const u = new URL(db.url);
      u.username = role;
      u.password = 'test-login-password-0123';
      const inherits = readConfig({ DATABASE_URL: db.url, PORT: '0', DASHBOARD_DATABASE_URL: u.toString() });
      await expect(startHttp(asDatabase(db), inherits)).rejects.toThrow(
        new RegExp(`"${role}" inherits its roles' privileges: create it with noinherit`),
      );
      await db.pool.query(`alter role ${role} noinherit`);
      const fine = await startHttp(asDatabase(db), inherits);
      try {
        expect(
          await (
            await fetch(`${fine.url}graphql`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: '{"query":"{ summary { missingCount } }"}',
            })
          ).json(),
        ).toEqual({ data: { summary: { missingCount: 12 } } });
      } finally {
        await fine.close();
      }
    } finally {
      await db.pool.query(`drop role ${role}`);
    }
  });

  it('the password serve sets on the role is the SCRAM verifier PostgreSQL makes itself (so the password never travels in a statement)', async () => {
    const role = `buyer_sync_test_scram_${process.pid}`;
    const client = await db.pool.connect();
    try {
      await client.query(`set password_encryption = 'scram-sha-256'`);
      await client.query(`create role ${role} password 'c0ffee-the-password'`);
      const [{ rolpassword }] = (
        await client.query<{ rolpassword: string }>(`select rolpassword from pg_authid where rolname = $1`, [role])
      ).rows as [{ rolpassword: string }];
      const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(rolpassword)!;
      expect(scramVerifier('c0ffee-the-password', Buffer.from(m[2]!, 'base64'), Number(m[1]))).toBe(rolpassword);
      expect(scramVerifier('c0ffee-the-password-', Buffer.from(m[2]!, 'base64'), Number(m[1]))).not.toBe(rolpassword);
    } finally {
      await client.query(`drop role if exists ${role}`);
      client.release();
    }
  });

  it('where the server checks passwords: a second database of the cluster adopts the password the role has, so neither service locks the other out', async (ctx) => {
    const probe = new URL(db.url);
    probe.username = 'buyer_sync_authenticator';
    probe.password = 'surely-not-the-password';
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: probe.toString() });
    const checksPasswords = await client.connect().then(
      () => false,
      () => true,
    );
    await client.end().catch(() => undefined);
    if (!checksPasswords)
      ctx.skip(
        'this server lets buyer_sync_authenticator in without a password (trust): the embedded server of the second CI pass checks them',
      );
    const other = await createTestDatabase();
    try {
      const verifier = async () =>
        (
          await query<{ rolpassword: string }>(
            `select rolpassword from pg_authid where rolname = 'buyer_sync_authenticator'`,
          )
        )[0]!.rolpassword;
      const before = await verifier();
      await other.pool.query(`update buyer_sync_private.api_login set password = $1`, ['ab'.repeat(32)]);
      const second = await startHttp(asDatabase(other), readConfig({ DATABASE_URL: other.url, PORT: '0' }));
      try {
        expect(await (await fetch(`${second.url}healthz`)).text()).toBe('ok\n');
        expect((await other.pool.query('select password from buyer_sync_private.api_login')).rows[0].password).not.toBe(
          'ab'.repeat(32),
        );
        expect(await verifier()).toBe(before);
        expect(await (await fetch(`${web.url}healthz`)).text()).toBe('ok\n');
      } finally {
        await second.close();
      }
    } finally {
      await other.drop();
    }
  });

  it('a port in use is one clear line', async () => {
    const taken = readConfig({ DATABASE_URL: db.url, PORT: String(web.port) });
    await expect(startHttp(asDatabase(db), taken)).rejects.toThrow(
      `port ${web.port} on 127.0.0.1 is in use (another buyer-sync serve?): set PORT to a free one`,
    );
  });
});
