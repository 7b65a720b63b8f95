/**
 * The HTTP side of `buyer-sync serve`, on HOST:PORT:
 *
 *   /            the dashboard page (it reads only /graphql)
 *   /assets/…    its script and style sheet
 *   /graphql     the GraphQL API (PostGraphile, api/preset.ts)
 *   /graphiql    GraphiQL, in development only
 *   /healthz     200 while the API's database login answers (for a load balancer)
 *
 * Every response carries the page's security headers, and a request whose
 * Host is not this server's is refused (421) before anything else looks at
 * it (security.ts). A request with a wrong or unusable operator token is
 * answered 401 here, before GraphQL sees it; after a few from one address,
 * 429 (rate-limit.ts). Query answers are shared across clients for a second
 * (query-cache.ts). /healthz has a database connection of its own, so it
 * answers while the API's pool is busy.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { grafserv } from 'postgraphile/grafserv/node';
import type { Config } from '../config.ts';
import { CannotRunError } from '../errors.ts';
import { createPool, type Database } from '../db/connection.ts';
import { apiLoginUrl } from '../api/login.ts';
import { credentialOf, type Caller } from '../api/operator-token.ts';
import { apiPreset, GRAPHIQL_PATH, GRAPHQL_PATH, MAX_REQUEST_LENGTH } from '../api/preset.ts';
import { buildDashboardAssets, type Assets } from './assets.ts';
import { cacheKeyOf, QueryCache, type CachedAnswer } from './query-cache.ts';
import { TokenFailureLimiter } from './rate-limit.ts';
import { GRAPHIQL_HEADERS, hostAllowed, hostRules, SECURITY_HEADERS, type HostRules } from './security.ts';

export interface HttpService {
  /** The dashboard's address, as a person would type it. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** /healthz's own connection: a probe never waits longer than this for the database. */
const HEALTH_TIMEOUT_MS = 2_000;

function send(
  res: http.ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

function sendJsonError(
  res: http.ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify({ errors: [{ message }] }), headers);
}

function serveAsset(req: http.IncomingMessage, res: http.ServerResponse, assets: Assets, pathname: string): boolean {
  const asset = assets.get(pathname === '/index.html' ? '/' : pathname);
  if (!asset) return false;
  const cache = pathname === '/' ? 'no-cache' : 'public, max-age=0, must-revalidate';
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, { etag: asset.etag, 'cache-control': cache });
    res.end();
    return true;
  }
  res.writeHead(200, { 'content-type': asset.contentType, etag: asset.etag, 'cache-control': cache });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
  return true;
}

/** The address to print: a wildcard host is reached as localhost. */
export function displayUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}/`;
}

/** The request body, when it is JSON of a known, small length; null otherwise (then GraphQL reads the request itself). */
function bufferedBody(req: http.IncomingMessage): Promise<Buffer> | null {
  const length = Number(req.headers['content-length']);
  if (req.method !== 'POST' || !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return null;
  if (
    !Number.isInteger(length) ||
    length <= 0 ||
    length > MAX_REQUEST_LENGTH ||
    req.headers['transfer-encoding'] !== undefined
  )
    return null;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The request again, its body already read: what GraphQL is handed after the cache looked at the body. */
function replay(req: http.IncomingMessage, body: Buffer): http.IncomingMessage {
  const again = Readable.from([body], { objectMode: false });
  Object.assign(again, {
    url: req.url,
    method: req.method,
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    socket: req.socket,
  });
  return again as unknown as http.IncomingMessage;
}

/** Runs `handle`, keeping what it answers (status, headers, body) when it answers in one piece. */
function captured(res: http.ServerResponse, handle: () => void): Promise<CachedAnswer | null> {
  return new Promise((resolve) => {
    let status = 0;
    let headers: Record<string, string> = {};
    let streamed = false;
    const writeHead = res.writeHead.bind(res);
    const write = res.write.bind(res);
    const end = res.end.bind(res);
    res.writeHead = ((code: number, ...rest: unknown[]) => {
      status = code;
      const h = rest.find((x) => typeof x === 'object' && x !== null && !Array.isArray(x)) as
        Record<string, unknown> | undefined;
      headers = Object.fromEntries(
        Object.entries(h ?? {})
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k.toLowerCase(), String(v)]),
      );
      return (writeHead as (...a: unknown[]) => http.ServerResponse)(code, ...rest);
    }) as typeof res.writeHead;
    res.write = ((...args: unknown[]) => {
      streamed = true;
      return (write as (...a: unknown[]) => boolean)(...args);
    }) as typeof res.write;
    res.end = ((...args: unknown[]) => {
      const chunk = args[0];
      const body = Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : null;
      resolve(!streamed && status !== 0 && body !== null ? { status, headers, body } : null);
      return (end as (...a: unknown[]) => http.ServerResponse)(...args);
    }) as typeof res.end;
    res.once('close', () => resolve(null));
    try {
      handle();
    } catch {
      resolve(null);
    }
  });
}

function sendAnswer(res: http.ServerResponse, answer: CachedAnswer): void {
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}

export async function startHttp(
  db: Database,
  config: Config,
  log: (line: string) => void = () => undefined,
): Promise<HttpService> {
  const assets = await buildDashboardAssets();
  const loginUrl = await apiLoginUrl(db, config, log);
  const pool = createPool(loginUrl, 4);
  // /healthz's own connection, with a short statement timeout: it answers while the API's four are busy.
  const healthPool = new pg.Pool({
    connectionString: loginUrl,
    max: 1,
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: HEALTH_TIMEOUT_MS,
    statement_timeout: HEALTH_TIMEOUT_MS,
    query_timeout: HEALTH_TIMEOUT_MS + 500,
    application_name: 'buyer-sync healthz',
  });
  healthPool.on('error', () => undefined);
  healthPool.on('connect', (client) => client.on('error', () => undefined));
  let probe: Promise<boolean> | null = null;
  // Probes at the same moment share one query.
  const healthy = () =>
    (probe ??= healthPool
      .query('select 1')
      .then(
        () => true,
        () => false,
      )
      .finally(() => (probe = null)));

  const pgl = postgraphile(apiPreset({ pool, operatorToken: config.operatorToken, development: config.development }));
  const graphql = pgl.createServ(grafserv).createHandler();
  const cache = new QueryCache();
  const limiter = new TokenFailureLimiter();
  let rules: HostRules | null = null;

  const fail = (res: http.ServerResponse) => (err: unknown) => {
    if (!res.headersSent) sendJsonError(res, 500, 'internal error');
    else res.destroy(err as Error);
  };
  const toGraphql = (req: http.IncomingMessage, res: http.ServerResponse) =>
    graphql(req, res, (err?: unknown) => (err ? fail(res)(err) : sendJsonError(res, 404, 'not found')));

  /** A mutation (or anything not cacheable) goes to GraphQL; once it is answered, cached answers are dropped. */
  const uncached = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.method === 'POST') res.once('finish', () => cache.clear());
    void toGraphql(req, res);
  };

  const serveGraphql = (req: http.IncomingMessage, res: http.ServerResponse, caller: Caller) => {
    const reading = bufferedBody(req);
    if (reading === null) return uncached(req, res);
    reading.then((body) => {
      const again = replay(req, body);
      const key = cacheKeyOf(caller, req.headers.accept, body);
      if (key === null) return uncached(again, res);
      const hit = cache.get(key);
      if (hit?.fresh) return sendAnswer(res, hit.answer);
      const flight = cache.inFlight(key);
      // Stale: the old answer while one request computes the new one.
      if (hit && flight) return sendAnswer(res, hit.answer);
      if (flight) {
        void flight.then((answer) => (answer ? sendAnswer(res, answer) : void toGraphql(again, res)));
        return;
      }
      const settle = cache.begin(key);
      void captured(res, () => void toGraphql(again, res)).then(settle);
    }, fail(res));
  };

  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const graphiql = config.development && (pathname === GRAPHIQL_PATH || pathname.startsWith('/ruru-static/'));
    for (const [name, value] of Object.entries(graphiql ? GRAPHIQL_HEADERS : SECURITY_HEADERS))
      res.setHeader(name, value);
    // DNS rebinding: a page of another site whose name resolves here is not answered.
    if (rules === null || !hostAllowed(rules, req.headers.host, req.socket.localAddress)) {
      send(
        res,
        421,
        'text/plain; charset=utf-8',
        'misdirected request: this server does not answer to that Host (set DASHBOARD_PUBLIC_URL to the address it is reached at)\n',
      );
      return;
    }
    if (pathname === GRAPHQL_PATH) {
      res.setHeader('cache-control', 'no-store');
      const header = req.headers.authorization;
      const token = header !== undefined && header.trim() !== '';
      if (token) {
        const wait = limiter.retryAfter(req.socket.remoteAddress);
        if (wait > 0) {
          sendJsonError(res, 429, `too many wrong operator tokens from this address: try again in ${wait} s`, {
            'retry-after': String(wait),
          });
          return;
        }
      }
      const credential = credentialOf(header, config.operatorToken);
      if ('refused' in credential) {
        limiter.fail(req.socket.remoteAddress);
        sendJsonError(res, 401, credential.refused, { 'www-authenticate': 'Bearer realm="buyer-sync"' });
        return;
      }
      if (token) limiter.succeed(req.socket.remoteAddress);
      serveGraphql(req, res, credential.caller);
      return;
    }
    if (graphiql) {
      void toGraphql(req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    if (pathname === '/healthz') {
      void healthy().then((ok) =>
        ok
          ? send(res, 200, 'text/plain; charset=utf-8', 'ok\n')
          : send(res, 503, 'text/plain; charset=utf-8', 'database unreachable\n'),
      );
      return;
    }
    if (!serveAsset(req, res, assets, pathname))
      send(res, 404, 'text/plain; charset=utf-8', 'not found: the dashboard is at /, the GraphQL API at /graphql\n');
  });
  // Slow or idle clients do not hold the process open on stop.
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 30_000;

  const release = async () => {
    await Promise.resolve(pgl.release()).catch(() => undefined);
    await Promise.all([pool.end().catch(() => undefined), healthPool.end().catch(() => undefined)]);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // The schema is built now, not on the first request: a broken API schema stops the start.
    await pgl.getSchema();
  } catch (err) {
    server.close();
    await release();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE')
      throw new CannotRunError(
        `port ${config.port} on ${config.host} is in use (another buyer-sync serve?): set PORT to a free one`,
      );
    if (e.code === 'EACCES')
      throw new CannotRunError(`may not listen on port ${config.port} on ${config.host}: set PORT to one above 1023`);
    if (e.code === 'EADDRNOTAVAIL') throw new CannotRunError(`HOST ${config.host} is not an address of this machine`);
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  // DASHBOARD_PUBLIC_URL: the address people reach the dashboard at (a proxy's), when it is not HOST:PORT.
  rules = hostRules(config.host, port, config.dashboardPublicUrl);
  let closing: Promise<void> | null = null;
  return {
    url: displayUrl(config.host, port),
    port,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
        await closed;
        await release();
      })()),
  };
}
