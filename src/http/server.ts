/**
 * The HTTP side of `buyer-sync serve`, on HOST:PORT:
 *
 *   /            the dashboard page (it reads only /graphql)
 *   /assets/…    its script and style sheet
 *   /graphql     the GraphQL API (PostGraphile, api/preset.ts)
 *   /graphiql    GraphiQL, in development only
 *   /healthz     200 while the API's database login answers (for a load balancer)
 *
 * A request with a wrong or unusable operator token is answered 401 here,
 * before GraphQL sees it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { postgraphile } from 'postgraphile';
import { grafserv } from 'postgraphile/grafserv/node';
import type { Config } from '../config.ts';
import { CannotRunError } from '../errors.ts';
import { createPool, type Database } from '../db/connection.ts';
import { apiLoginUrl } from '../api/login.ts';
import { credentialOf } from '../api/operator-token.ts';
import { apiPreset, GRAPHIQL_PATH, GRAPHQL_PATH } from '../api/preset.ts';
import { buildDashboardAssets, type Assets } from './assets.ts';

export interface HttpService {
  /** The dashboard's address, as a person would type it. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** What every response carries: the page loads nothing from elsewhere and is never framed. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

function sendJsonError(res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify({ errors: [{ message }] }), headers);
}

function serveAsset(req: http.IncomingMessage, res: http.ServerResponse, assets: Assets, pathname: string): boolean {
  const asset = assets.get(pathname === '/index.html' ? '/' : pathname);
  if (!asset) return false;
  const cache = pathname === '/' ? 'no-cache' : 'public, max-age=0, must-revalidate';
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, { ...SECURITY_HEADERS, etag: asset.etag, 'cache-control': cache });
    res.end();
    return true;
  }
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.contentType, etag: asset.etag, 'cache-control': cache });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
  return true;
}

/** The address to print: a wildcard host is reached as localhost. */
export function displayUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}/`;
}

export async function startHttp(db: Database, config: Config, log: (line: string) => void = () => undefined): Promise<HttpService> {
  const assets = await buildDashboardAssets();
  const loginUrl = await apiLoginUrl(db, config, log);
  const pool = createPool(loginUrl, 4);
  const pgl = postgraphile(apiPreset({ pool, operatorToken: config.operatorToken, development: config.development }));
  const graphql = pgl.createServ(grafserv).createHandler();

  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const fail = (err: unknown) => {
      if (!res.headersSent) sendJsonError(res, 500, 'internal error');
      else res.destroy(err as Error);
    };
    if (pathname === GRAPHQL_PATH || (config.development && (pathname === GRAPHIQL_PATH || pathname.startsWith('/ruru-static/')))) {
      if (pathname === GRAPHQL_PATH) {
        const credential = credentialOf(req.headers.authorization, config.operatorToken);
        if ('refused' in credential) {
          sendJsonError(res, 401, credential.refused, { 'www-authenticate': 'Bearer realm="buyer-sync"' });
          return;
        }
      }
      graphql(req, res, (err?: unknown) => (err ? fail(err) : sendJsonError(res, 404, 'not found')));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    if (pathname === '/healthz') {
      pool.query('select 1').then(
        () => send(res, 200, 'text/plain; charset=utf-8', 'ok\n'),
        () => send(res, 503, 'text/plain; charset=utf-8', 'database unreachable\n'),
      );
      return;
    }
    if (!serveAsset(req, res, assets, pathname)) send(res, 404, 'text/plain; charset=utf-8', 'not found: the dashboard is at /, the GraphQL API at /graphql\n');
  });
  // Slow or idle clients do not hold the process open on stop.
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 30_000;

  const release = async () => {
    await Promise.resolve(pgl.release()).catch(() => undefined);
    await pool.end().catch(() => undefined);
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
    if (e.code === 'EADDRINUSE') throw new CannotRunError(`port ${config.port} on ${config.host} is in use (another buyer-sync serve?): set PORT to a free one`);
    if (e.code === 'EACCES') throw new CannotRunError(`may not listen on port ${config.port} on ${config.host}: set PORT to one above 1023`);
    if (e.code === 'EADDRNOTAVAIL') throw new CannotRunError(`HOST ${config.host} is not an address of this machine`);
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
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
