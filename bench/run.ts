/**
 * npm run bench [-- --rows N] [--repeat K] [--out FILE]
 *
 * Measures, on this machine, in one run:
 *  - the floor: the same sheet loaded by psql with a plain COPY into a staging
 *    table and one INSERT ... ON CONFLICT (into an empty table, and again into
 *    the loaded one);
 *  - a full sync of N synthetic buyers (the whole `buyer-sync sync` process);
 *  - a no-change re-sync of the same sheet;
 *  - peak memory (RSS) of the sync process;
 *  - the missing-buyer diff in SQL, both directions, at N buyers.
 * and writes the results into BENCHMARKS.md (one section per N, others kept).
 * Uses DATABASE_URL's server, or the embedded one; scratch databases only.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadEnvFile, projectRoot, readConfig } from '../src/config.ts';
import { createPool, openDatabase } from '../src/db/connection.ts';
import { migrate } from '../src/db/migrate.ts';
import { generateRows, HEADER, writeCsv } from '../src/sample/generate.ts';
import { FakeSheetsServer, num, text, type FakeCell } from '../test/fake-sheets.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    'sheets-rows': { type: 'string', default: '100000' },
    repeat: { type: 'string' },
    out: { type: 'string', default: path.join(projectRoot, 'BENCHMARKS.md') },
  },
});
const rows = Number(args.rows);
if (!Number.isInteger(rows) || rows < 1) throw new Error('--rows must be a positive whole number');
const repeat = Number(args.repeat ?? (rows <= 200_000 ? 3 : 1));
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

interface Timed {
  ms: number;
  rssKb: number | null;
  stdout: string;
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/** Runs a whole process, timing it from spawn to exit (and its peak RSS where /usr/bin/time exists). */
function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const rssFile = path.join(os.tmpdir(), `bench-rss-${process.pid}-${Math.random()}`);
    const [file, fullArgs] = TIME ? [TIME, ['-f', '%M', '-o', rssFile, cmd, ...argv]] : [cmd, argv];
    const started = performance.now();
    const child = spawn(file, fullArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      let rssKb: number | null = null;
      if (TIME && existsSync(rssFile)) {
        rssKb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
        rmSync(rssFile, { force: true });
      }
      if (code !== 0 && code !== 1) return reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}: ${stderr}`));
      resolve({ ms, rssKb, stdout });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function dbUrl(base: string, name: string): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = dbUrl(adminUrl, name);
  const pool = createPool(url, 2);
  await migrate(url, pool, path.join(projectRoot, 'db', 'migrations'));
  await pool.end();
  return url;
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}

function floorSql(csv: string): string {
  const cols = ['buyer_number', 'name', 'phone', 'email', 'address', 'inquiry_date', 'inquiry_source', 'desired_area', 'property_type', 'budget', 'status', 'assignee', 'next_follow_up', 'notes'];
  const cast = (c: string) => (c.endsWith('_date') || c === 'next_follow_up' ? `nullif(${c}, '')::date` : c === 'budget' ? `nullif(${c}, '')::bigint` : `nullif(${c}, '')`);
  return `begin;
create temp table staging (${cols.map((c) => `${c} text`).join(', ')});
\\copy staging from '${csv.replaceAll("'", "''")}' with (format csv, header true)
insert into buyers (${cols.join(', ')}, synced_at, db_updated_at)
select ${cols.map(cast).join(', ')}, now(), now() from staging
on conflict (buyer_number) do update set ${cols.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}, synced_at = excluded.synced_at, db_updated_at = excluded.db_updated_at;
commit;
`;
}

/** The generated sheet as Google holds it: dates and amounts as numbers with their display, the rest as text. */
function fakeRows(count: number): (FakeCell | null)[][] {
  const out: (FakeCell | null)[][] = [];
  for (const row of generateRows({ count, seed: 7, plain: true })) {
    out.push(
      row.map((cell, i) => {
        if (cell === '') return null;
        if (out.length > 0 && (i === 5 || i === 12)) {
          const [y, m, d] = cell.split('-').map(Number);
          return num(Math.round((Date.UTC(y!, m! - 1, d!) - Date.UTC(1899, 11, 30)) / 86_400_000), cell.replaceAll('-', '/'));
        }
        if (out.length > 0 && i === 9) return num(Number(cell), `¥${Number(cell).toLocaleString('en-US')}`);
        return text(cell);
      }),
    );
  }
  return out;
}

interface SourceFigures {
  label: string;
  requests: number;
  bytes: number;
  syncMs: number;
}

/** A full sync from the (fake) Google Sheets API and from the CSV export of the same sheet. */
async function sheetsBench(adminUrl: string, dir: string, count: number): Promise<SourceFigures[]> {
  const fake = new FakeSheetsServer();
  const rows = fakeRows(count);
  fake.add({ id: 'benchSheet0000000000', tabs: [{ sheetId: 0, title: 'Buyers', rows, rowCount: rows.length + 10 }], apiKeys: ['bench-key'] });
  await fake.start();
  const csv = path.join(dir, 'sheets-export.csv');
  writeFileSync(csv, rows.map((r) => HEADER.map((_, i) => {
    const c = r[i]?.formatted ?? '';
    return /[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c;
  }).join(',')).join('\r\n'));
  try {
    const figures: SourceFigures[] = [];
    for (const [label, sourceArg] of [
      ['Google Sheets API (local fake, real client)', 'https://docs.google.com/spreadsheets/d/benchSheet0000000000/edit#gid=0'],
      ['CSV export of the same sheet', csv],
    ] as const) {
      const url = await freshDatabase(adminUrl, 'buyer_sync_bench_sheets');
      fake.requests.length = 0;
      const r = await run(process.execPath, [path.join(projectRoot, 'bin', 'buyer-sync.js'), 'sync', '--source', sourceArg, '--json'], {
        ...process.env,
        DATABASE_URL: url,
        GOOGLE_SHEETS_ROOT_URL: fake.url,
        GOOGLE_API_KEY: 'bench-key',
      });
      const body = JSON.parse(r.stdout);
      if (body.inserted !== count) throw new Error(`${label}: expected ${count} inserted, got ${r.stdout}`);
      figures.push({
        label,
        requests: sourceArg === csv ? 1 : fake.requests.length,
        bytes: sourceArg === csv ? statSync(csv).size : fake.requests.reduce((a, q) => a + q.bytes, 0),
        syncMs: r.ms,
      });
      await dropDatabase(adminUrl, 'buyer_sync_bench_sheets');
    }
    return figures;
  } finally {
    await fake.stop();
  }
}

async function main() {
  loadEnvFile();
  const config = readConfig();
  const db = await openDatabase(config, { log });
  const adminUrl = dbUrl(db.url, 'postgres');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-bench-'));
  const csv = path.join(dir, `buyers-${rows}.csv`);
  try {
    log(`generating ${rows.toLocaleString('en-US')} buyers`);
    await writeCsv(csv, { count: rows, seed: 7, plain: true });
    const sizeMb = statSync(csv).size / 1e6;
    const floorFile = path.join(dir, 'floor.sql');
    writeFileSync(floorFile, floorSql(csv));
    const env = (url: string) => ({ ...process.env, DATABASE_URL: url });

    const floor: number[] = [];
    const floorReload: number[] = [];
    const full: Timed[] = [];
    const resync: Timed[] = [];
    let diffMs = 0;
    let missingCmdMs = 0;
    for (let i = 0; i < repeat; i++) {
      log(`round ${i + 1}/${repeat}: floor (psql COPY + INSERT ... ON CONFLICT)`);
      const floorUrl = await freshDatabase(adminUrl, 'buyer_sync_bench_floor');
      floor.push((await run('psql', ['-q', '-v', 'ON_ERROR_STOP=1', floorUrl, '-f', floorFile])).ms);
      floorReload.push((await run('psql', ['-q', '-v', 'ON_ERROR_STOP=1', floorUrl, '-f', floorFile])).ms);
      await dropDatabase(adminUrl, 'buyer_sync_bench_floor');

      log(`round ${i + 1}/${repeat}: full sync and no-change re-sync`);
      const syncUrl = await freshDatabase(adminUrl, 'buyer_sync_bench_sync');
      const cli = [path.join(projectRoot, 'bin', 'buyer-sync.js'), 'sync', '--source', csv, '--json'];
      const f = await run(process.execPath, cli, env(syncUrl));
      const fr = JSON.parse(f.stdout);
      if (fr.inserted !== rows || fr.failed !== 0) throw new Error(`full sync did not insert every row: ${f.stdout}`);
      full.push(f);
      const r = await run(process.execPath, cli, env(syncUrl));
      const rr = JSON.parse(r.stdout);
      if (rr.unchanged !== rows || rr.inserted + rr.updated !== 0) throw new Error(`re-sync was not a no-change run: ${r.stdout}`);
      resync.push(r);

      // The diff itself, in SQL, both directions (the snapshot holds N buyer numbers now).
      const client = new pg.Client({ connectionString: syncUrl });
      await client.connect();
      await client.query(`delete from buyers where buyer_number in (select buyer_number from buyers order by buyer_number limit 100)`);
      const t = performance.now();
      const missing = await client.query(`select buyer_number from buyer_sync.missing_buyers`);
      const extra = await client.query(`select buyer_number from buyer_sync.extra_buyers`);
      diffMs = Math.max(diffMs, performance.now() - t);
      if (missing.rowCount !== 100 || extra.rowCount !== 0) throw new Error('the missing-buyer diff is wrong');
      await client.end();
      missingCmdMs = Math.max(missingCmdMs, (await run(process.execPath, [path.join(projectRoot, 'bin', 'buyer-sync.js'), 'missing', '--source', csv, '--json'], env(syncUrl))).ms);
      await dropDatabase(adminUrl, 'buyer_sync_bench_sync');
    }

    const floorMs = median(floor);
    const fullMs = median(full.map((x) => x.ms));
    const resyncMs = median(resync.map((x) => x.ms));
    const rss = [...full, ...resync].map((x) => x.rssKb).filter((x): x is number => x !== null);
    const peakMb = rss.length ? Math.max(...rss) / 1024 : null;
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const ratio = (ms: number) => `${(ms / floorMs).toFixed(2)}×`;
    const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
    const pgVersion = execFileSync('psql', ['-Atc', 'show server_version', adminUrl], { encoding: 'utf8' }).trim();
    let sheetsSection = '';
    const sheetsRows = Number(args['sheets-rows']);
    if (sheetsRows > 0 && rows === 100_000) {
      log(`sheets: a full sync of ${sheetsRows.toLocaleString('en-US')} rows from the fake Sheets API and from CSV`);
      const figures = await sheetsBench(adminUrl, dir, sheetsRows);
      sheetsSection = `
### Reading from Google Sheets

${sheetsRows.toLocaleString('en-US')} rows × ${HEADER.length} columns served by the local fake Sheets API (test/fake-sheets.ts) and read
through the real \`@googleapis/sheets\` client, against the CSV export of the same sheet; whole \`buyer-sync sync\` processes.

| source | requests | bytes received | full sync |
| --- | ---: | ---: | ---: |
${figures.map((f) => `| ${f.label} | ${f.requests} | ${(f.bytes / 1e6).toFixed(1)} MB | ${s(f.syncMs)} |`).join('\n')}

Against Google itself, add the network. The quota is 60 read requests a minute per user: the limiter
lets a minute's worth through at once, then one a second, so these ${figures[0]!.requests} requests wait ${Math.max(0, figures[0]!.requests - 60)} s for it, which
the time above includes (see README, "Connect your Google Sheet").
`;
    }
    const section = `<!-- bench:${rows} -->
## ${rows.toLocaleString('en-US')} buyers

Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}, PostgreSQL ${pgVersion}.
Sheet: ${rows.toLocaleString('en-US')} rows × ${HEADER.length} columns, ${sizeMb.toFixed(1)} MB of CSV, 8.6 % of buyers with a value over 50 characters.
Whole processes timed from start to exit; median of ${repeat} round${repeat > 1 ? 's' : ''}; default batch size (100).

| measurement | time | vs floor | rows/s |
| --- | ---: | ---: | ---: |
| floor: \`psql\` COPY into staging + one INSERT … ON CONFLICT, empty table | ${s(floorMs)} | 1.00× | ${Math.round(rows / (floorMs / 1000)).toLocaleString('en-US')} |
| floor again, into the loaded table (every row updated) | ${s(median(floorReload))} | ${ratio(median(floorReload))} | ${Math.round(rows / (median(floorReload) / 1000)).toLocaleString('en-US')} |
| \`buyer-sync sync\`, full (every row inserted) | ${s(fullMs)} | ${ratio(fullMs)} | ${Math.round(rows / (fullMs / 1000)).toLocaleString('en-US')} |
| \`buyer-sync sync\`, no change (nothing written) | ${s(resyncMs)} | ${ratio(resyncMs)} | ${Math.round(rows / (resyncMs / 1000)).toLocaleString('en-US')} |
| missing-buyer diff in SQL (both directions) | ${(diffMs).toFixed(0)} ms | | |
| \`buyer-sync missing\` (reads the sheet, refreshes the snapshot, diffs) | ${s(missingCmdMs)} | | |

Peak memory of the sync process: ${peakMb === null ? 'n/a (no /usr/bin/time)' : `${peakMb.toFixed(0)} MB`}.

| target | result |
| --- | --- |
| full sync ≤ 2× the floor | ${ratio(fullMs)}: ${verdict(fullMs <= 2 * floorMs)} |
| no-change re-sync ≤ 1× the floor | ${ratio(resyncMs)}: ${verdict(resyncMs <= floorMs)} |
${rows >= 1_000_000 ? `| peak memory < 512 MB at 1M rows | ${peakMb === null ? 'n/a' : `${peakMb.toFixed(0)} MB: ${verdict(peakMb < 512)}`} |\n| missing-buyer diff < 1 s at 1M rows | ${diffMs.toFixed(0)} ms: ${verdict(diffMs < 1000)} |\n` : ''}${sheetsSection}<!-- /bench:${rows} -->`;

    const out = args.out!;
    const intro = `# Benchmarks

Written by \`npm run bench\` (100,000 buyers) and \`npm run bench -- --rows 1000000\`; see bench/run.ts for
what is measured. Numbers are from the machine named in each section; rerun to measure yours.
`;
    let doc = existsSync(out) ? readFileSync(out, 'utf8') : intro;
    const re = new RegExp(`<!-- bench:${rows} -->[\\s\\S]*?<!-- /bench:${rows} -->`);
    doc = re.test(doc) ? doc.replace(re, section) : `${doc.trimEnd()}\n\n${section}\n`;
    writeFileSync(out, doc);
    process.stdout.write(`${section}\n`);
    log(`wrote ${out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await db.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(3);
});
