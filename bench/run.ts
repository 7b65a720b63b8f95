/**
 * npm run bench [-- --rows N] [--repeat K] [--sheets-rows M] [--out FILE]
 *
 * Measures, on this machine, in one run, for two sheets of N buyers (a
 * friendly one: short values, ISO dates, plain amounts; and a realistic one:
 * notes on most buyers and a few of up to 20,000 characters, Japanese text,
 * dates and amounts in every format people type):
 *  - the floors (floors.ts): psql COPY + one INSERT … ON CONFLICT into a
 *    temporary table, and into a table shaped like buyers; pgloader into text
 *    columns when it is installed;
 *  - a full sync, a no-change re-sync (read and compared in full, and with
 *    --if-changed: the file's hash), and a re-sync with one cell changed
 *    (whole `buyer-sync sync` processes), and their peak memory;
 *  - the missing-buyer diff in SQL, both directions;
 * and, at 100,000 rows, reading from the (fake) Google Sheets API (sheets.ts).
 * Every ratio is against a floor measured in the same run. The results go
 * into BENCHMARKS.md (one section per N, others kept). Uses DATABASE_URL's
 * server, or the embedded one; scratch databases only.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadEnvFile, projectRoot, readConfig } from '../src/config.ts';
import { inDatabase, openDatabase } from '../src/db/connection.ts';
import { csvLine, generateRows, HEADER, writeCsv, type GenerateOptions } from '../src/sample/generate.ts';
import { dropDatabase, freshDatabase } from './databases.ts';
import { pgloaderCommand, pgloaderSetupSql, tableFloorSetupSql, tableFloorSql, temporaryFloorSql } from './floors.ts';
import { cliCommand, installed, median, run, type Timed } from './process.ts';
import { sheetsBench, type SourceFigures } from './sheets.ts';

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

interface Sheet {
  name: string;
  describe: string;
  options: GenerateOptions;
}

const SHEETS: Sheet[] = [
  {
    name: 'friendly',
    describe: 'short values, ISO dates, plain amounts',
    options: { count: rows, seed: 7, plain: true },
  },
  {
    name: 'realistic',
    describe:
      'notes on most buyers and a few of up to 20,000 characters, Japanese text, dates with / and amounts with ¥, 円 and commas',
    options: { count: rows, seed: 7, hard: true },
  },
];

interface Figures {
  sheet: Sheet;
  sizeMb: number;
  temporaryFloor: number;
  tableFloor: number;
  pgloader: number | null;
  full: Timed[];
  noChange: Timed[];
  oneChange: Timed[];
  grown: Timed[];
  ifChanged: Timed[];
  diffMs: number;
}

const psql = (url: string, file: string) => run('psql', ['-q', '-v', 'ON_ERROR_STOP=1', url, '-f', file]);
const CLI = path.join(projectRoot, 'bin', 'buyer-sync.js');

async function measure(adminUrl: string, dir: string, sheet: Sheet): Promise<Figures> {
  const csv = path.join(dir, `${sheet.name}-${rows}.csv`);
  const changed = path.join(dir, `${sheet.name}-${rows}-changed.csv`);
  log(`${sheet.name}: generating ${rows.toLocaleString('en-US')} buyers`);
  await writeCsv(csv, sheet.options);
  // The same sheet with one cell edited: the first buyer's status.
  await writeCsv(changed, sheet.options, (i, row) =>
    i === 1 ? [...row.slice(0, 10), row[10] === '成約' ? '商談中' : '成約', ...row.slice(11)] : row,
  );
  // That sheet with one new buyer at the bottom: the usual change between two scheduled syncs.
  const grownCsv = path.join(dir, `${sheet.name}-${rows}-grown.csv`);
  copyFileSync(changed, grownCsv);
  const [, newcomer] = generateRows({ ...sheet.options, count: 1, seed: 99 });
  appendFileSync(grownCsv, csvLine([`N${rows + 1}`, ...newcomer!.slice(1)]));
  const files = {
    temporary: path.join(dir, 'floor-temporary.sql'),
    table: path.join(dir, 'floor-table.sql'),
    pgloader: path.join(dir, 'load.pgloader'),
  };
  writeFileSync(files.temporary, temporaryFloorSql(csv));
  writeFileSync(files.table, tableFloorSql(csv));
  const withPgloader = installed('pgloader');
  const env = (url: string) => ({ ...process.env, DATABASE_URL: url });
  const sync = async (url: string, source: string, ...flags: string[]) => {
    const t = await run(...cliCommand(CLI, ['sync', '--source', source, '--json', ...flags]), env(url));
    return { t, r: JSON.parse(t.stdout) as { inserted: number; updated: number; unchanged: number; failed: number } };
  };

  const temporary: number[] = [];
  const table: number[] = [];
  const loader: number[] = [];
  const full: Timed[] = [];
  const noChange: Timed[] = [];
  const oneChange: Timed[] = [];
  const grown: Timed[] = [];
  const ifChanged: Timed[] = [];
  let diffMs = 0;
  for (let i = 0; i < repeat; i++) {
    log(`${sheet.name}, round ${i + 1}/${repeat}: floors`);
    const floorUrl = await freshDatabase(adminUrl, 'buyer_sync_bench_floor');
    temporary.push((await psql(floorUrl, files.temporary)).ms);
    execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', floorUrl, '-c', tableFloorSetupSql]);
    table.push((await psql(floorUrl, files.table)).ms);
    const [{ n }] = (await query(floorUrl, 'select count(*)::int as n from floor_buyers')) as [{ n: number }];
    if (n !== rows) throw new Error(`the table floor loaded ${n} rows, not ${rows}`);
    if (withPgloader) {
      execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', floorUrl, '-c', pgloaderSetupSql]);
      loader.push((await run('pgloader', ['--quiet', pgloaderCommand(csv, floorUrl, files.pgloader)])).ms);
      const [{ n: loaded }] = (await query(floorUrl, 'select count(*)::int as n from pgloader_buyers')) as [
        { n: number },
      ];
      if (loaded !== rows) throw new Error(`pgloader loaded ${loaded} rows, not ${rows}`);
    }
    await dropDatabase(adminUrl, 'buyer_sync_bench_floor');

    log(`${sheet.name}, round ${i + 1}/${repeat}: full sync, no-change re-sync, one cell changed`);
    const url = await freshDatabase(adminUrl, 'buyer_sync_bench_sync');
    const f = await sync(url, csv);
    if (f.r.inserted !== rows || f.r.failed !== 0) throw new Error(`full sync did not insert every row: ${f.t.stdout}`);
    full.push(f.t);
    const r = await sync(url, csv);
    if (r.r.unchanged !== rows || r.r.inserted + r.r.updated !== 0)
      throw new Error(`re-sync was not a no-change run: ${r.t.stdout}`);
    noChange.push(r.t);
    const k = await run(...cliCommand(CLI, ['sync', '--source', csv, '--json', '--if-changed']), env(url));
    if (JSON.parse(k.stdout).status !== 'skipped')
      throw new Error(`sync --if-changed of the unchanged file did not skip: ${k.stdout}`);
    ifChanged.push(k);
    const c = await sync(url, changed);
    if (c.r.updated !== 1 || c.r.unchanged !== rows - 1)
      throw new Error(`the one-cell change was not one update: ${c.t.stdout}`);
    oneChange.push(c.t);
    const snapshotFile = `select relfilenode from pg_class where oid = 'buyer_sync_private.sheet_buyers'::regclass`;
    const [before] = await query(url, snapshotFile);
    const g = await sync(url, grownCsv);
    if (g.r.inserted !== 1 || g.r.unchanged !== rows)
      throw new Error(`the grown sheet was not one insert: ${g.t.stdout}`);
    const [after] = await query(url, snapshotFile);
    if (before!.relfilenode !== after!.relfilenode)
      throw new Error('the grown sheet rewrote the sheet snapshot instead of appending to it');
    grown.push(g.t);

    // The diff itself, in SQL, both directions (the snapshot holds N buyer numbers now).
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      `delete from buyers where buyer_number in (select buyer_number from buyers order by buyer_number limit 100)`,
    );
    const t = performance.now();
    const missing = await client.query(`select buyer_number from buyer_sync.missing_buyers`);
    const extra = await client.query(`select buyer_number from buyer_sync.extra_buyers`);
    diffMs = Math.max(diffMs, performance.now() - t);
    if (missing.rowCount !== 100 || extra.rowCount !== 0) throw new Error('the missing-buyer diff is wrong');
    await client.end();
    await dropDatabase(adminUrl, 'buyer_sync_bench_sync');
  }
  return {
    sheet,
    sizeMb: statSync(csv).size / 1e6,
    temporaryFloor: median(temporary),
    tableFloor: median(table),
    pgloader: loader.length ? median(loader) : null,
    full,
    noChange,
    oneChange,
    grown,
    ifChanged,
    diffMs,
  };
}

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const perSecond = (ms: number) => Math.round(rows / (ms / 1000)).toLocaleString('en-US');
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
const peak = (ts: Timed[]) => {
  const rss = ts.map((x) => x.rssKb).filter((x): x is number => x !== null);
  return rss.length ? Math.max(...rss) / 1024 : null;
};

function sheetSection(f: Figures, pgloaderVersion: string | null): string {
  const floor = f.tableFloor;
  const ratio = (ms: number) => `${(ms / floor).toFixed(2)}×`;
  const full = median(f.full.map((x) => x.ms));
  const noChange = median(f.noChange.map((x) => x.ms));
  const oneChange = median(f.oneChange.map((x) => x.ms));
  const grown = median(f.grown.map((x) => x.ms));
  const ifChanged = median(f.ifChanged.map((x) => x.ms));
  const mem = peak([...f.full, ...f.noChange, ...f.oneChange, ...f.grown]);
  const line = (what: string, ms: number) => `| ${what} | ${s(ms)} | ${ratio(ms)} | ${perSecond(ms)} |`;
  return `### The ${f.sheet.name} sheet

${rows.toLocaleString('en-US')} rows × ${HEADER.length} columns, ${f.sizeMb.toFixed(1)} MB of CSV: ${f.sheet.describe}.

| measurement | time | vs table floor | rows/s |
| --- | ---: | ---: | ---: |
${line('floor: `psql` COPY into staging + one `INSERT … ON CONFLICT` into a **temporary** table (one index, no WAL)', f.temporaryFloor)}
${line('**table floor**: the same into a table shaped like `buyers` (its defaults, generated hash and indexes; logged)', floor)}
${f.pgloader === null ? '| pgloader | not installed (`apt-get install pgloader`) | | |' : line(`${pgloaderVersion ?? 'pgloader'}, the same file into text columns (no typing, no validation)`, f.pgloader)}
${line('`buyer-sync sync`, full (every row inserted)', full)}
${line('`buyer-sync sync`, no change (nothing written)', noChange)}
${line("`buyer-sync sync --if-changed`, no change (the file's hash is the last full read's: nothing parsed, a skipped run recorded)", ifChanged)}
${line('`buyer-sync sync`, one cell changed (one row written)', oneChange)}
${line('`buyer-sync sync`, one buyer added at the bottom (one row written, the snapshot appended to)', grown)}
| missing-buyer diff in SQL (both directions) | ${f.diffMs.toFixed(0)} ms | | |

Peak memory of a sync process: ${mem === null ? 'n/a (no /usr/bin/time)' : `${mem.toFixed(0)} MB`}.

| target | result |
| --- | --- |
| full sync ≤ 1.25× the table floor | ${ratio(full)}: ${verdict(full <= 1.25 * floor)} |
| no-change re-sync ≤ 0.4× the table floor, nothing written: a scheduled sync or \`--if-changed\` | ${ratio(ifChanged)}: ${verdict(ifChanged <= 0.4 * floor)} |
| the same, forced to read and compare every row (\`sync\`, the dashboard's "Sync now") | ${ratio(noChange)}: ${verdict(noChange <= 0.4 * floor)} |
${rows >= 1_000_000 ? `| peak memory < 512 MB at 1M rows | ${mem === null ? 'n/a' : `${mem.toFixed(0)} MB: ${verdict(mem < 512)}`} |\n| missing-buyer diff < 1 s at 1M rows | ${f.diffMs.toFixed(0)} ms: ${verdict(f.diffMs < 1000)} |\n` : ''}`;
}

function sheetsApiSection(figures: SourceFigures[], count: number): string {
  return `
### Reading from Google Sheets

${count.toLocaleString('en-US')} rows × ${HEADER.length} columns served by the local fake Sheets API (src/testing/fake-sheets.ts) and read
through the real \`@googleapis/sheets\` client, against the CSV export of the same sheet; whole \`buyer-sync sync\` processes.

| source | requests | bytes received | full sync |
| --- | ---: | ---: | ---: |
${figures.map((f) => `| ${f.label} | ${f.requests} | ${(f.bytes / 1e6).toFixed(1)} MB | ${s(f.syncMs)} |`).join('\n')}

Against Google itself, add the network. The quota is 60 read requests a minute per user: the limiter
lets a minute's worth through at once, then one a second, so these ${figures[0]!.requests} requests wait ${Math.max(0, figures[0]!.requests - 60)} s for it, which
the time above includes (see README, "Connect your Google Sheet").
`;
}

async function main() {
  loadEnvFile();
  const config = readConfig();
  const db = await openDatabase(config, { log });
  const adminUrl = inDatabase(db.url, 'postgres');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-bench-'));
  try {
    const figures: Figures[] = [];
    for (const sheet of SHEETS) figures.push(await measure(adminUrl, dir, sheet));
    const pgVersion = execFileSync('psql', ['-Atc', 'show server_version', adminUrl], { encoding: 'utf8' }).trim();
    const pgloaderVersion = installed('pgloader')
      ? execFileSync('pgloader', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim()
      : null;
    let sheetsSection = '';
    const sheetsRows = Number(args['sheets-rows']);
    if (sheetsRows > 0 && rows === 100_000) {
      log(`sheets: a full sync of ${sheetsRows.toLocaleString('en-US')} rows from the fake Sheets API and from CSV`);
      sheetsSection = sheetsApiSection(await sheetsBench(adminUrl, dir, sheetsRows), sheetsRows);
    }
    const section = `<!-- bench:${rows} -->
## ${rows.toLocaleString('en-US')} buyers

Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}, PostgreSQL ${pgVersion}.
Whole processes timed from start to exit; median of ${repeat} round${repeat > 1 ? 's' : ''}; every ratio against the table floor of the same sheet, measured in the same run.

${figures.map((f) => sheetSection(f, pgloaderVersion)).join('\n')}${sheetsSection}<!-- /bench:${rows} -->`;

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
