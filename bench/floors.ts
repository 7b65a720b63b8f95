/**
 * The floors a sync is measured against: the same CSV loaded by PostgreSQL's
 * own tools, typed in SQL the way the sync types it (dates with - or /,
 * amounts with commas, ¥ or 円), in one transaction:
 * - into a temporary table with one index (no WAL: the lowest a load can cost);
 * - into a table shaped like buyers (`like public.buyers including all`: its
 *   defaults, generated content hash and indexes, logged): what writing the
 *   real table costs at the least;
 * and, for reference, pgloader loading the file into text columns (no typing,
 * no validation).
 */
import { writeFileSync } from 'node:fs';
import { escapeIdentifier as id } from 'pg';
import { DEFAULT_MAPPING } from '../src/sample/generate.ts';

/** The mapped columns (db/sheet-mapping.json), in the sheet's order, quoted. */
export const COLUMNS = DEFAULT_MAPPING.columns.map((c) => id(c.column));
const KEY = id(DEFAULT_MAPPING.key);
const TYPE = new Map(DEFAULT_MAPPING.columns.map((c) => [id(c.column), c.type]));

/** The sync's typing, in SQL: empty is null; a date with - or /; an amount with its separators and yen signs dropped. */
function typed(c: string): string {
  if (TYPE.get(c) === 'date') return `to_date(nullif(${c}, ''), 'YYYY-MM-DD')`;
  if (TYPE.get(c) === 'bigint') return `nullif(regexp_replace(${c}, '[^0-9]', '', 'g'), '')::bigint`;
  return `nullif(${c}, '')`;
}

const copy = (csv: string) => `\\copy staging from '${csv.replaceAll("'", "''")}' with (format csv, header true)`;

function load(target: string): string {
  return `insert into ${target} (${COLUMNS.join(', ')}, synced_at, db_updated_at)
select ${COLUMNS.map(typed).join(', ')}, now(), now() from staging
on conflict (${KEY}) do update set ${COLUMNS.filter((c) => c !== KEY)
    .map((c) => `${c} = excluded.${c}`)
    .join(', ')}, synced_at = excluded.synced_at, db_updated_at = excluded.db_updated_at;`;
}

/** psql script: COPY into staging, then one INSERT … ON CONFLICT into a temporary table (one index, no WAL). */
export function temporaryFloorSql(csv: string): string {
  return `begin;
create temp table staging (${COLUMNS.map((c) => `${c} text`).join(', ')}) on commit drop;
create temp table floor_buyers (${COLUMNS.map((c) => `${c} ${TYPE.get(c)}${c === KEY ? ' primary key' : ''}`).join(', ')},
  synced_at timestamptz, db_updated_at timestamptz) on commit drop;
${copy(csv)}
${load('floor_buyers')}
commit;
`;
}

/** psql script: the table shaped like buyers, made once (setup); then each load is COPY + one INSERT … ON CONFLICT into it. */
export const tableFloorSetupSql = `create table floor_buyers (like public.buyers including all);`;
export function tableFloorSql(csv: string): string {
  return `begin;
create temp table staging (${COLUMNS.map((c) => `${c} text`).join(', ')}) on commit drop;
${copy(csv)}
${load('floor_buyers')}
commit;
`;
}

/** pgloader: the file into a table of text columns. */
export const pgloaderSetupSql = `create table pgloader_buyers (${COLUMNS.map((c) => `${c} text`).join(', ')});`;
export function pgloaderCommand(csv: string, url: string, file: string): string {
  const u = new URL(url);
  const target = `postgresql://${u.username || 'postgres'}${u.password ? `:${u.password}` : ''}@${u.hostname}:${u.port || 5432}${u.pathname}?pgloader_buyers`;
  writeFileSync(
    file,
    `LOAD CSV
  FROM '${csv}' (${COLUMNS.join(', ')})
  INTO ${target} (${COLUMNS.join(', ')})
  WITH truncate, skip header = 1, fields optionally enclosed by '"', fields escaped by double-quote, fields terminated by ','
  SET client_encoding to 'utf8', work_mem to '64MB';
`,
  );
  return file;
}
