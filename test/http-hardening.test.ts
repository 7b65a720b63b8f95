/**
 * The HTTP server's hardening (issue 17, item 6), against the real server
 * of `serve` on a migrated database:
 * - the page's security headers on every response: /graphql (POST and GET,
 *   answers and errors), /healthz, 404s, 405s, assets, refusals;
 * - the Host check: a foreign Host is refused (421) before GraphQL sees it;
 *   loopback names, HOST, DASHBOARD_PUBLIC_URL's host and the connection's
 *   own address are answered;
 * - /healthz answers at once while the API's pool is saturated;
 * - wrong operator tokens: 429 with Retry-After after the limit, per
 *   address; the right token from another address still works;
 * - query answers shared for a second; a mutation drops them.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.ts';
import type { Database } from '../src/db/connection.ts';
import type { HttpService } from '../src/http/server.ts';
import { TOKEN_FAILURE_LIMIT, TokenFailureLimiter, clientKey } from '../src/http/rate-limit.ts';
import { hostAllowed, hostRules, SECURITY_HEADERS } from '../src/http/security.ts';
import { useTestDatabase, waitFor, type TestDatabase } from './helpers.ts';

process.env.GRAPHILE_ENV ??= 'production';
const { startHttp } = await import('../src/http/server.ts');

const TOKEN = 'hardening-operator-token-0123456789';
const db = useTestDatabase();
let web: HttpService;

function asDatabase(t: Pick<TestDatabase, 'url' | 'pool'>): Database {
  return { url: t.url, pool: t.pool, embedded: null, close: async () => undefined };
}

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}
/** One request by node:http, so that Host and the source address can be chosen. */
function raw(
  path: string,
  o: {
    method?: string;
    host?: string;
    headers?: Record<string, string>;
    body?: string;
    localAddress?: string;
    port?: number;
  } = {},
): Promise<Raw> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const port = o.port ?? web.port;
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? 'GET',
        agent: false,
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
        headers: {
          host: o.host ?? `127.0.0.1:${port}`,
          ...(o.body !== undefined
            ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(o.body)) }
            : {}),
          ...o.headers,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body, ms: performance.now() - started }),
        );
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}
const post = (query: string, o: { token?: string; host?: string; localAddress?: string; port?: number } = {}) =>
  raw('/graphql', {
    method: 'POST',
    body: JSON.stringify({ query }),
    ...(o.token ? { headers: { authorization: `Bearer ${o.token}` } } : {}),
    ...o,
  });

function expectSecurityHeaders(r: Raw, what: string): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(r.headers[name], `${what}: ${name}`).toBe(value);
}

beforeAll(async () => {
  web = await startHttp(
    asDatabase(db),
    readConfig({ DATABASE_URL: db.url, PORT: '0', DASHBOARD_OPERATOR_TOKEN: TOKEN }),
  );
}, 60_000);
afterAll(async () => {
  await web?.close();
});

describe('security headers on every response', () => {
  it('the page, its assets, /graphql (POST, GET, answers, errors, 401), /healthz, 404 and 405 all carry them', async () => {
    const answers: [string, Raw][] = [
      ['page', await raw('/')],
      ['script', await raw('/assets/app.js')],
      ['graphql answer', await post('{ summary { missingCount } }')],
      ['graphql validation error', await post('{ summary { noSuchField } }')],
      ['graphql syntax error', await post('{ summary { ')],
      [
        'graphql GET',
        await raw('/graphql?query=%7B%20summary%20%7B%20missingCount%20%7D%20%7D', {
          headers: { accept: 'application/json' },
        }),
      ],
      ['graphql GET without a query', await raw('/graphql')],
      [
        'graphql wrong token',
        await post('{ summary { missingCount } }', { token: 'wrong-token-for-the-headers-test' }),
      ],
      [
        'graphql body too large',
        await raw('/graphql', {
          method: 'POST',
          body: JSON.stringify({ query: `{ summary { missingCount } } #${'x'.repeat(70_000)}` }),
        }),
      ],
      ['healthz', await raw('/healthz')],
      ['404', await raw('/no-such-page')],
      ['405', await raw('/', { method: 'DELETE' })],
    ];
    for (const [what, r] of answers) expectSecurityHeaders(r, what);
    const byName = Object.fromEntries(answers);
    expect(byName['graphql answer']!.status).toBe(200);
    expect(JSON.parse(byName['graphql answer']!.body)).toEqual({ data: { summary: { missingCount: 0 } } });
    expect(JSON.parse(byName['graphql validation error']!.body).errors[0].message).toMatch(/noSuchField/);
    // GET is not a way to query (POST only): the refusal carries the headers all the same.
    expect(JSON.parse(byName['graphql GET']!.body).errors[0].message).toBe('Method not supported, please use POST');
    expect(byName['graphql wrong token']!.status).toBe(401);
    expect(byName['graphql body too large']!.status).toBe(413);
    expect(byName['healthz']!.body).toBe('ok\n');
    expect(byName['404']!.status).toBe(404);
    expect(byName['405']!.status).toBe(405);
    expect(byName['graphql answer']!.headers['cache-control']).toBe('no-store');
  });
});

describe('the Host check (DNS rebinding)', () => {
  it('a foreign Host, or the right name on another port, is refused with 421 before GraphQL runs; loopback names on the port are answered', async () => {
    for (const host of [
      'evil.example',
      `evil.example:${web.port}`,
      `rebind.attacker.test:${web.port}`,
      `localhost:${web.port + 1}`,
      'localhost',
      `127.0.0.1.evil.example:${web.port}`,
    ]) {
      for (const r of [
        await post('{ summary { missingCount } }', { host }),
        await raw('/', { host }),
        await raw('/healthz', { host }),
      ]) {
        expect(r.status, `Host: ${host}`).toBe(421);
        expect(r.body).toMatch(/^misdirected request: .*\n$/);
        expect(r.body.length).toBeLessThan(200);
        expectSecurityHeaders(r, `421 for ${host}`);
      }
    }
    for (const host of [
      `127.0.0.1:${web.port}`,
      `localhost:${web.port}`,
      `LOCALHOST:${web.port}`,
      `[::1]:${web.port}`,
    ]) {
      const r = await post('{ summary { missingCount } }', { host });
      expect(r.status, `Host: ${host}`).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ data: { summary: { missingCount: 0 } } });
    }
    // What fetch sends (the tests' and the page's own way in).
    expect((await fetch(`${web.url}healthz`)).status).toBe(200);
  });

  it("DASHBOARD_PUBLIC_URL's host is answered too; HOST is; an IP literal only when it is the address the connection came in on", async () => {
    let other: HttpService | null = null;
    try {
      other = await startHttp(
        asDatabase(db),
        readConfig({
          DATABASE_URL: db.url,
          PORT: '0',
          HOST: '127.0.0.1',
          DASHBOARD_PUBLIC_URL: 'https://Dashboard.Example.com/',
        }),
      );
      const port = other.port;
      expect((await raw('/healthz', { port, host: 'dashboard.example.com' })).status).toBe(200);
      expect((await raw('/healthz', { port, host: 'dashboard.example.com:443' })).status).toBe(200);
      expect((await raw('/healthz', { port, host: 'dashboard.example.com:8443' })).status).toBe(421);
      expect((await raw('/healthz', { port, host: 'example.com' })).status).toBe(421);
      expect((await raw('/healthz', { port, host: `127.0.0.1:${port}` })).status).toBe(200);
    } finally {
      await other?.close();
    }
    // Rules without a server: a wildcard HOST adds no name; the connection's own address as a literal is answered.
    const rules = hostRules('0.0.0.0', 5678, null);
    expect(hostAllowed(rules, '10.1.2.3:5678', '10.1.2.3')).toBe(true);
    expect(hostAllowed(rules, '10.1.2.3:5678', '::ffff:10.1.2.3')).toBe(true);
    expect(hostAllowed(rules, '10.9.9.9:5678', '10.1.2.3')).toBe(false);
    expect(hostAllowed(rules, '10.1.2.3:80', '10.1.2.3')).toBe(false);
    expect(hostAllowed(rules, 'buyer-sync.internal:5678', '10.1.2.3')).toBe(false);
    expect(hostAllowed(rules, 'localhost:5678', '127.0.0.1')).toBe(true);
    expect(hostAllowed(rules, '0.0.0.0:5678', '127.0.0.1')).toBe(false);
    expect(hostAllowed(hostRules('dash.lan', 5678, null), 'dash.lan:5678', '192.168.1.5')).toBe(true);
    expect(hostAllowed(hostRules('::1', 5678, null), '[::1]:5678', '::1')).toBe(true);
    expect(hostAllowed(rules, undefined, '127.0.0.1')).toBe(true);
  });
});

describe('/healthz has a connection of its own', () => {
  it('answers within a second while every connection of the API pool waits on a lock', async () => {
    const locker = await db.pool.connect();
    let slow: Promise<Raw>[] = [];
    try {
      await locker.query('begin');
      await locker.query('lock table public.sync_runs in access exclusive mode');
      // Six different queries (no shared answer): four take the API's connections and wait, two queue behind them.
      slow = Array.from({ length: 6 }, (_, i) => post(`{ s${i}: summary { missingCount } }`));
      await waitFor(
        'the API pool to be saturated',
        async () =>
          (
            await db.pool.query<{ n: number }>(
              `select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'buyer-sync' and wait_event_type = 'Lock'`,
            )
          ).rows[0]!.n === 4,
        10_000,
      );
      const health = await raw('/healthz');
      expect(health.status).toBe(200);
      expect(health.body).toBe('ok\n');
      expect(health.ms).toBeLessThan(1_000);
    } finally {
      await locker.query('rollback').catch(() => undefined);
      locker.release();
    }
    // Once the lock is gone, the waiting queries are answered.
    for (const [i, r] of (await Promise.all(slow)).entries())
      expect(JSON.parse(r.body)).toEqual({ data: { [`s${i}`]: { missingCount: 0 } } });
  }, 30_000);
});

describe('wrong operator tokens are limited per client', () => {
  it(`after ${TOKEN_FAILURE_LIMIT} wrong tokens an address gets 429 with Retry-After, even for the right token; other addresses and token-less requests are not affected`, async () => {
    const attacker = '127.0.0.2';
    for (let i = 0; i < TOKEN_FAILURE_LIMIT; i++) {
      const r = await post('{ summary { missingCount } }', {
        token: `wrong-token-${i}-xxxxxxxxxxxx`,
        localAddress: attacker,
      });
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body)).toEqual({ errors: [{ message: 'the operator token is wrong' }] });
    }
    const limited = await post('{ summary { missingCount } }', {
      token: 'wrong-token-again-xxxxxxxxxx',
      localAddress: attacker,
    });
    expect(limited.status).toBe(429);
    const wait = Number(limited.headers['retry-after']);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60);
    expect(JSON.parse(limited.body).errors[0].message).toMatch(
      /^too many wrong operator tokens from this address: try again in \d+ s$/,
    );
    expectSecurityHeaders(limited, '429');
    // Even the right token is not looked at from that address now (no oracle for a guesser).
    expect((await post('{ summary { missingCount } }', { token: TOKEN, localAddress: attacker })).status).toBe(429);
    // The read-only page from the same address still works.
    expect((await post('{ summary { missingCount } }', { localAddress: attacker })).status).toBe(200);
    // Another client with the right token: an operator action runs.
    const ok = await post('mutation { requestSync(input: {}) { result } }', { token: TOKEN });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).data.requestSync.result).toMatch(/^\d+$/);
  });

  it('the window: failures older than it are forgotten; a right token forgives earlier mistakes; IPv6 counts by /64', () => {
    let now = 1_000_000;
    const limiter = new TokenFailureLimiter(3, 60_000, () => now);
    limiter.fail('10.0.0.1');
    limiter.fail('10.0.0.1');
    limiter.succeed('10.0.0.1');
    limiter.fail('10.0.0.1');
    limiter.fail('10.0.0.1');
    expect(limiter.retryAfter('10.0.0.1')).toBe(0);
    now += 10_000;
    limiter.fail('10.0.0.1');
    expect(limiter.retryAfter('10.0.0.1')).toBe(50);
    expect(limiter.retryAfter('::ffff:10.0.0.1')).toBe(50);
    expect(limiter.retryAfter('10.0.0.2')).toBe(0);
    now += 50_001;
    expect(limiter.retryAfter('10.0.0.1')).toBe(0);
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:0db8:0001:0002:ffff:1:2:3'));
    expect(clientKey('2001:db8:1:2::1')).not.toBe(clientKey('2001:db8:1:3::1'));
  });
});

describe('query answers are shared for a second', () => {
  it("the same query within a second gets the same answer; the operator's is kept apart; a mutation drops them", async () => {
    const q = '{ summary { openAlerts } }';
    const before = JSON.parse((await post(q)).body);
    await db.pool.query(
      `insert into sync_alerts (type, severity, condition, message) values ('stale_sync', 'warning', 'stale_sync:cache-test', 'cache test')`,
    );
    expect(JSON.parse((await post(q)).body)).toEqual(before);
    const operator = JSON.parse((await post(q, { token: TOKEN })).body);
    expect(operator.data.summary.openAlerts).toBe(before.data.summary.openAlerts + 1);
    const [{ id }] = (
      await db.pool.query<{ id: string }>(`select id from sync_alerts where condition = 'stale_sync:cache-test'`)
    ).rows as [{ id: string }];
    const ack = await raw('/graphql', {
      method: 'POST',
      body: JSON.stringify({
        query: 'mutation($id: UUID!) { acknowledgeAlert(input: { alertId: $id }) { result } }',
        variables: { id },
      }),
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(JSON.parse(ack.body).errors).toBeUndefined();
    expect(JSON.parse((await post(q)).body).data.summary.openAlerts).toBe(before.data.summary.openAlerts + 1);
    // Fifty at once: one answer for all.
    const many = await Promise.all(Array.from({ length: 50 }, () => post('{ summary { openAlerts databaseCount } }')));
    expect(new Set(many.map((r) => r.body)).size).toBe(1);
    for (const r of many) expectSecurityHeaders(r, 'a shared answer');
  });
});
