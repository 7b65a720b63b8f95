/**
 * npm run bench:dashboard [-- --clients 50] [--seconds 20] [--out FILE]
 *
 * The dashboard's main query under many open dashboards: a real
 * `buyer-sync serve` on a scratch database with the sample sheet synced,
 * and N clients (50) each posting the page's own query (read from
 * src/dashboard/api.ts when this runs, so it follows the page) back to back,
 * no pause, over kept-alive connections, for S seconds (20). Reports the
 * latency percentiles twice:
 *  - as the page sends it (identical requests: the server's shared answers);
 *  - each request made unique by a comment (every one runs in the database:
 *    what every request cost before the answers were shared).
 * The section goes into BENCHMARKS.md (others kept). Uses DATABASE_URL's
 * server, or the embedded one; a scratch database only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadEnvFile, projectRoot, readConfig } from '../src/config.ts';
import { inDatabase, openDatabase } from '../src/db/connection.ts';
import { dropDatabase, freshDatabase } from './databases.ts';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '20' },
    out: { type: 'string', default: path.join(projectRoot, 'BENCHMARKS.md') },
  },
});
const clients = Number(args.clients);
const seconds = Number(args.seconds);
const log = (s: string) => process.stderr.write(`bench:dashboard: ${s}\n`);
const DB_NAME = 'buyer_sync_bench_dashboard';

/** The page's query and its variables, from the page's own module. */
async function pageQuery(): Promise<{ query: string; variables: Record<string, unknown> }> {
  const api = (await import('../src/dashboard/api.ts')) as Record<string, unknown>;
  const candidates = [api.DASHBOARD_QUERY, ...Object.values(api)].filter(
    (v): v is string => typeof v === 'string' && /^\s*query\b/.test(v) && /\bsummary\b/.test(v),
  );
  const query = candidates[0];
  if (query === undefined) throw new Error('src/dashboard/api.ts exports no query string with the summary in it');
  const variables: Record<string, unknown> = {};
  for (const m of query.matchAll(/\$(\w+)\s*:\s*([\w!]+)(\s*=)?/g)) {
    const [, name, type, hasDefault] = m;
    if (name === 'limit') variables.limit = typeof api.LIST_LIMIT === 'number' ? api.LIST_LIMIT : 100;
    else if (type!.endsWith('!') && !hasDefault)
      throw new Error(`the page's query needs $${name}, which this benchmark does not know how to fill`);
  }
  return { query, variables };
}

/** serve's output so far, and a wait for a line of it. */
let served = '';
async function waitForLine(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(served);
    if (m) return m;
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}:\n${served.slice(-2000)}`);
    if (Date.now() > deadline)
      throw new Error(`serve did not print ${re} within ${timeoutMs} ms:\n${served.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Phase {
  name: string;
  latencies: number[];
  errors: number;
  seconds: number;
}

async function load(name: string, url: URL, body: (n: number) => string): Promise<Phase> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  const one = (payload: string) =>
    new Promise<boolean>((resolve) => {
      const req = http.request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            'content-length': Buffer.byteLength(payload),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve(res.statusCode === 200 && !Buffer.concat(chunks).toString('utf8').includes('"errors":[')),
          );
        },
      );
      req.on('error', () => resolve(false));
      req.end(payload);
    });
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        const ok = await one(body(n++));
        latencies.push(performance.now() - t);
        if (!ok) errors++;
      }
    }),
  );
  agent.destroy();
  return { name, latencies: latencies.sort((a, b) => a - b), errors, seconds: (performance.now() - started) / 1000 };
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const ms = (x: number) => (x < 10 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US'));

async function main() {
  loadEnvFile();
  const config = readConfig();
  const db = await openDatabase(config, { log });
  const adminUrl = inDatabase(db.url, 'postgres');
  const url = await freshDatabase(adminUrl, DB_NAME);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: url,
    PORT: '0',
    HOST: '127.0.0.1',
    SYNC_CRON: '0 0 1 1 *',
    HEALTH_CRON: '0 0 1 1 *',
  };
  for (const k of [
    'SHEET_SOURCE',
    'DASHBOARD_OPERATOR_TOKEN',
    'DASHBOARD_DATABASE_URL',
    'DASHBOARD_PUBLIC_URL',
    'ALERT_WEBHOOK_URL',
    'GRAPHILE_ENV',
  ])
    delete env[k];
  const start = (
    JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { scripts: { start: string } }
  ).scripts.start;
  const flags = start.split(/\s+/).filter((w) => w.startsWith('--'));
  const serve = spawn(process.execPath, [...flags, path.join(projectRoot, 'bin', 'buyer-sync.js'), 'serve'], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  serve.stdout.on('data', (d: Buffer) => (served += d.toString()));
  try {
    const [, base] = await waitForLine(serve, /dashboard at (http:\/\/\S+\/) /, 60_000);
    log(`serve at ${base}; waiting for the first sync of the sample sheet and its verification`);
    await waitForLine(serve, /verification after run/, 180_000);
    const check = new pg.Client({ connectionString: url });
    await check.connect();
    const facts = (
      await check.query<{ buyers: number; errors: number; runs: number }>(
        `select (select count(*)::int from public.buyers) as buyers, (select count(*)::int from public.sync_error_log) as errors, (select count(*)::int from public.sync_runs) as runs`,
      )
    ).rows[0]!;
    const pgVersion = (await check.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]!.v;
    await check.end();
    await new Promise((r) => setTimeout(r, 2_000));

    const { query, variables } = await pageQuery();
    const endpoint = new URL('graphql', base!);
    const same = JSON.stringify({ query, variables });
    const probe = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: same,
    });
    const answer = await probe.text();
    if (probe.status !== 200 || answer.includes('"errors":['))
      throw new Error(`the page's query failed: ${probe.status} ${answer.slice(0, 500)}`);
    log(
      `the page's query: ${query.length} characters, answer ${answer.length.toLocaleString('en-US')} bytes; ${clients} clients for ${seconds} s each phase`,
    );

    const loadBefore = os.loadavg()[0]!;
    const phases: Phase[] = [];
    phases.push(await load('as the page sends it (answers shared)', endpoint, () => same));
    log(`${phases[0]!.name}: p95 ${ms(pct(phases[0]!.latencies, 95))} ms`);
    phases.push(
      await load('each request unique (every one runs in the database)', endpoint, (n) =>
        JSON.stringify({ query: `${query}\n# ${n}`, variables }),
      ),
    );
    log(`${phases[1]!.name}: p95 ${ms(pct(phases[1]!.latencies, 95))} ms`);

    const loadAfter = os.loadavg()[0]!;
    const rows = phases
      .map(
        (p) =>
          `| ${p.name} | ${p.latencies.length.toLocaleString('en-US')} | ${Math.round(p.latencies.length / p.seconds).toLocaleString('en-US')} | ${ms(pct(p.latencies, 50))} | ${ms(pct(p.latencies, 95))} | ${ms(pct(p.latencies, 99))} | ${ms(p.latencies[p.latencies.length - 1]!)} | ${p.errors} |`,
      )
      .join('\n');
    const section = `<!-- bench:dashboard -->
## The dashboard under ${clients} clients (\`npm run bench:dashboard\`)

Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, Node ${process.versions.node}, PostgreSQL ${pgVersion}; load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after (other work on the machine counts).
A real \`buyer-sync serve\` (the flags of \`npm start\`) on a database with the sample sheet synced (${facts.buyers.toLocaleString('en-US')} buyers,
${facts.errors} logged errors, ${facts.runs} run(s)), and ${clients} clients in the benchmark's process (the same machine) each posting
the page's own query (src/dashboard/api.ts, ${answer.length.toLocaleString('en-US')}-byte answer) back to back, without a pause, for ${seconds} s
per row: far more than ${clients} open pages, which refresh every 15 s. Latency from sending to the last byte, in ms.

| requests | answered | per second | p50 | p95 | p99 | max | failed |
|---|---:|---:|---:|---:|---:|---:|---:|
${rows}

The first row is what the page gets: the server keeps each query's answer for a second, per caller
(read-only or operator); requests that arrive while it is being computed wait for that one run, and
for one more second the old answer is given while one request computes the new one
(src/http/query-cache.ts). The second row makes every request's text unique, so each one runs in the
database through the API's four connections: what every request cost before (0.9.1 saw a p50 of
0.7–1.3 s). A mutation drops the kept answers, so an operator's action shows at once.
<!-- /bench:dashboard -->`;

    const out = args.out!;
    let doc = existsSync(out) ? readFileSync(out, 'utf8') : '# Benchmarks\n';
    const re = /<!-- bench:dashboard -->[\s\S]*?<!-- \/bench:dashboard -->/;
    doc = re.test(doc) ? doc.replace(re, section) : `${doc.trimEnd()}\n\n${section}\n`;
    writeFileSync(out, doc);
    process.stdout.write(`${section}\n`);
    log(`wrote ${out}`);
  } finally {
    if (serve.exitCode === null) {
      const exited = new Promise((r) => serve.once('exit', r));
      serve.kill('SIGTERM');
      await exited;
    }
    await dropDatabase(adminUrl, DB_NAME);
    await db.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:dashboard failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(3);
});
