/**
 * npm run soak -- --minutes N [--retention-minutes M] [--rows R] [--edit-every K]
 *
 * A long run of the real service: `buyer-sync serve` (this Node, the flags of
 * `npm start`) on a scratch database, reading a CSV export of R buyers
 * (default 20,000, with the broken rows real sheets have) that this script
 * edits every K minutes (default 3: some 1 % of the buyers change), with a
 * full sync and a health check every minute (SYNC_CRON, HEALTH_CRON). Each
 * minute it prints the serve process's RSS, the database's connections
 * (pg_stat_activity), its size (pg_database_size), the history rows and the
 * graphile-worker jobs by state. After N minutes it stops serve with SIGTERM,
 * drops its database, and says whether the size stayed within 10 % once the
 * retention window had gone by.
 *
 * --retention-minutes M sets every window of buyer_sync.retention to M
 * minutes and asks for a history__prune job every minute, so that "the size
 * is flat after the retention window" shows within the hour instead of
 * after 90 days. Without it the windows stay as shipped (nothing is old
 * enough to go) and the table shows the growth that retention bounds.
 *
 * Uses DATABASE_URL's server if set (a scratch database of its own, dropped
 * at the end), else the embedded server (data under .data/soak-postgres).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { projectRoot } from '../src/config.ts';
import { inDatabase } from '../src/db/connection.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { writeCsv } from '../src/sample/generate.ts';
import { dropDatabase, freshDatabase } from './databases.ts';
import { cliCommand } from './process.ts';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'retention-minutes': { type: 'string' },
    rows: { type: 'string', default: '20000' },
    'edit-every': { type: 'string', default: '3' },
  },
});
const positive = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number`);
  return n;
};
const minutes = positive('minutes', args.minutes);
const retentionMinutes =
  args['retention-minutes'] === undefined ? null : positive('retention-minutes', args['retention-minutes']);
const rows = positive('rows', args.rows);
const editEvery = positive('edit-every', args['edit-every']);
const log = (s: string) => process.stderr.write(`soak: ${s}\n`);
const out = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-soak-'));
const sheet = path.join(dir, 'buyers.csv');
let generation = 0;
/** Writes the sheet (generation g changes the name of every 97th buyer, shifted by g), atomically: serve never reads half a file. */
async function writeSheet(): Promise<void> {
  const g = generation++;
  const tmp = `${sheet}.tmp`;
  await writeCsv(tmp, { count: rows, seed: 20240315, broken: true }, (i, row) =>
    i > 0 && g > 0 && i % 97 === g % 97 && row[1] ? [row[0]!, `${row[1]} ${g}`, ...row.slice(2)] : row,
  );
  renameSync(tmp, sheet);
}

const stopping = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => (log(`${sig}: stopping`), stopping.abort()));

let adminUrl: string;
let stopServer = async () => {};
const external = process.env.DATABASE_URL?.trim();
if (external) {
  adminUrl = inDatabase(external, 'postgres');
} else {
  const server = await startEmbeddedPostgres(
    {
      dataDir: path.join(projectRoot, '.data', 'soak-postgres'),
      port: Number(process.env.SOAK_EMBEDDED_PG_PORT ?? 54331),
      database: 'postgres',
    },
    { log },
  );
  adminUrl = server.adminUrl;
  stopServer = server.stop;
}
const database = `buyer_sync_soak_${process.pid}`;
log(
  `migrating ${database} on ${external ? "DATABASE_URL's server" : 'the embedded server'}; writing a sheet of ${rows.toLocaleString('en-US')} buyers`,
);
const url = await freshDatabase(adminUrl, database);
await writeSheet();
const db = new pg.Pool({ connectionString: url, max: 2, application_name: 'soak-monitor' });
if (retentionMinutes !== null)
  await db.query(`update buyer_sync.retention set keep = make_interval(mins => $1)`, [retentionMinutes]);

const [cmd, argv] = cliCommand(path.join(projectRoot, 'bin', 'buyer-sync.js'), ['serve']);
const serve = spawn(cmd, argv, {
  env: {
    ...process.env,
    DATABASE_URL: url,
    SHEET_SOURCE: sheet,
    SYNC_CRON: '* * * * *',
    HEALTH_CRON: '* * * * *',
    PORT: '0',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let serveLog = '';
const keep = (d: Buffer) => {
  serveLog += d.toString();
  if (serveLog.length > 200_000) serveLog = serveLog.slice(-100_000);
};
serve.stdout.on('data', keep);
serve.stderr.on('data', keep);
const exited = new Promise<number | null>((resolve) => serve.on('close', (code) => resolve(code)));
let serveGone = false;
void exited.then(() => ((serveGone = true), stopping.abort()));

function rssMb(pid: number | undefined): number | null {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

interface Sample {
  minute: number;
  rss: number | null;
  connections: number;
  sizeMb: number;
  runs: number;
  errors: number;
  history: number;
  queued: number;
  running: number;
  retrying: number;
  failed: number;
}
async function sample(minute: number): Promise<Sample> {
  const {
    rows: [s],
  } = await db.query(
    `select (select count(*) from pg_stat_activity where datname = current_database())::int as connections,
            pg_database_size(current_database())::float8 / 1048576 as size_mb,
            (select count(*) from public.sync_runs)::int as runs,
            (select count(*) from public.sync_error_log)::int as errors,
            ((select count(*) from public.sync_runs) + (select count(*) from public.sync_error_log) + (select count(*) from public.sync_buyer_changes)
             + (select count(*) from public.sync_alerts) + (select count(*) from public.sync_health_metrics) + (select count(*) from public.retry_queue)
             + (select count(*) from buyer_sync.verification_reports) + (select count(*) from buyer_sync.verification_findings)
             + (select count(*) from buyer_sync.verification_mismatches))::int as history`,
  );
  const {
    rows: [j],
  } = await db.query(
    `select count(*) filter (where locked_at is null and attempts = 0)::int as queued,
            count(*) filter (where locked_at is not null)::int as running,
            count(*) filter (where locked_at is null and attempts > 0 and attempts < max_attempts)::int as retrying,
            count(*) filter (where attempts >= max_attempts)::int as failed
       from graphile_worker.jobs`,
  );
  return {
    minute,
    rss: rssMb(serve.pid),
    connections: s.connections,
    sizeMb: s.size_mb,
    runs: s.runs,
    errors: s.errors,
    history: s.history,
    ...j,
  };
}
const row = (s: Sample) =>
  `| ${s.minute} | ${s.rss === null ? '–' : s.rss.toFixed(0)} | ${s.connections} | ${s.sizeMb.toFixed(1)} | ${s.runs} | ${s.errors} | ${s.history} | ${s.queued} / ${s.running} / ${s.retrying} / ${s.failed} |`;

out(
  `# soak: ${minutes} min, ${rows.toLocaleString('en-US')} buyers (edited every ${editEvery} min), sync and health check every minute, ` +
    (retentionMinutes === null ? 'retention as shipped' : `retention ${retentionMinutes} min (prune every minute)`),
);
out(
  '| minute | serve RSS MB | connections | database MB | sync_runs | sync_error_log | history rows | jobs queued / running / retrying / failed |',
);
out('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
const samples: Sample[] = [];
const started = Date.now();
try {
  samples.push(await sample(0));
  out(row(samples[0]!));
  for (let m = 1; m <= minutes && !stopping.signal.aborted; m++) {
    await sleep(started + m * 60_000 - Date.now(), stopping.signal);
    if (stopping.signal.aborted) break;
    const s = await sample(m);
    samples.push(s);
    out(row(s));
    if (m % editEvery === 0 && m < minutes) await writeSheet();
    if (retentionMinutes !== null)
      await db.query(
        `select graphile_worker.add_job('history__prune', job_key := 'history__prune', max_attempts := 3)`,
      );
  }
  // What failed for good (the prune deletes such jobs once they are older than the window).
  const { rows: failed } = await db.query<{ task: string; n: number; error: string | null }>(
    `select task_identifier as task, count(*)::int as n, max(last_error) as error from graphile_worker.jobs where attempts >= max_attempts group by 1 order by 1`,
  );
  for (const f of failed)
    log(`failed jobs at the end: ${f.n} ${f.task}: ${(f.error ?? '').split('\n')[0]!.slice(0, 300)}`);
} finally {
  if (!serveGone) serve.kill('SIGTERM');
  const timer = setTimeout(() => serve.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(timer);
  await db.end();
  await dropDatabase(adminUrl, database);
  await stopServer();
  rmSync(dir, { recursive: true, force: true });
  const prunes = serveLog.split('\n').filter((l) => l.includes('history prune:'));
  log(
    `serve exited ${code}${serveGone && !stopping.signal.aborted ? ' before the end' : ''}; ${prunes.length} prune line(s); last: ${prunes.at(-1) ?? '(none)'}`,
  );
  if (code !== 0) log(`serve's last output:\n${serveLog.slice(-4000)}`);
}

// The verdict: from the first minute after the retention window (and a round of pruning), the size stays within 10 % of that minute's.
const from = Math.min(retentionMinutes === null ? 2 : retentionMinutes + 2, minutes);
const base = samples.find((s) => s.minute === from);
const last = samples.at(-1);
if (base && last && last.minute > base.minute) {
  const after = samples.filter((s) => s.minute >= from);
  const min = Math.min(...after.map((s) => s.sizeMb));
  const max = Math.max(...after.map((s) => s.sizeMb));
  const within = max <= base.sizeMb * 1.1 && min >= base.sizeMb * 0.9;
  const perMin = (last.sizeMb - base.sizeMb) / (last.minute - base.minute);
  const rss = after.map((s) => s.rss).filter((r): r is number => r !== null);
  out('');
  out(
    `database size from minute ${from} (${base.sizeMb.toFixed(1)} MB) to minute ${last.minute} (${last.sizeMb.toFixed(1)} MB): min ${min.toFixed(1)}, max ${max.toFixed(1)} MB, ` +
      `${perMin >= 0 ? '+' : ''}${perMin.toFixed(3)} MB/min; within 10 %: ${within ? 'yes' : 'NO'}`,
  );
  if (rss.length)
    out(`serve RSS from minute ${from}: min ${Math.min(...rss).toFixed(0)}, max ${Math.max(...rss).toFixed(0)} MB`);
  out(
    `history rows from minute ${from}: ${base.history} -> ${last.history}; connections max ${Math.max(...after.map((s) => s.connections))}`,
  );
}
