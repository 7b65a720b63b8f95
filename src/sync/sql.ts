/**
 * The SQL the sync sends, one small typed function per statement. Statements
 * that depend on the column mapping are built once per run from it, with
 * every identifier escaped.
 */
import { hash } from 'node:crypto';
import type pg from 'pg';
import { escapeIdentifier as id } from 'pg';
import type { Mapping, ResolvedColumn } from '../mapping/mapping.ts';
import type { ErrorType } from './error-types.ts';
import { sqlContentHash, type Value } from './rows.ts';

export type Queryable = pg.Pool | pg.ClientBase;

const PG_ARRAY_TYPE = { text: 'text[]', date: 'date[]', bigint: 'bigint[]' } as const;

export interface ErrorEntry {
  rowNumber: number | null;
  buyerNumber: string | null;
  errorType: ErrorType;
  column: string | null;
  message: string;
  retryable: boolean;
  stack: string | null;
}

export interface RetryEntry {
  buyerNumber: string;
  rowNumber: number;
  info: Record<string, unknown>;
}

export interface BatchWrite {
  /** New buyers (not in the database when the run started). */
  inserts: { key: string; values: Value[] }[];
  /** Existing buyers whose content changed. */
  updates: { key: string; values: Value[] }[];
  errors: ErrorEntry[];
  retries: RetryEntry[];
  /** Buyers that synced fine this run and had an open retry-queue entry. */
  resolved: string[];
}

export interface PreparedQuery {
  name: string;
  text: string;
  values: unknown[];
}

/** Builds the one statement of a batch from the parts it needs. */
export type BatchStatement = (runId: string, batch: BatchWrite) => PreparedQuery;

/**
 * One round trip per batch: insert the new buyers, update the changed ones
 * (recording which columns changed), log the batch's failed rows, queue the
 * retryable ones and close the retry entries of buyers that now synced.
 * Unchanged rows never get here.
 *
 * The statement is composed of just the parts a batch needs (a first full load
 * is inserts only) and each shape is prepared once per connection, so the
 * server parses and plans it once. Every shape is written so that its generic
 * plan stays right however big buyers grows: rows are only ever looked up by
 * key through the unique index (no joins a planner could turn into a scan).
 *
 * Inserts get no history row: the inserting run is the one whose time range
 * holds the buyer's created_at (runs never overlap), which the view
 * buyer_sync.buyer_provenance resolves. A first full load writes one row per buyer.
 */
export function batchStatement(mapping: Mapping, columns: ResolvedColumn[]): BatchStatement {
  const table = `public.${id(mapping.table)}`;
  const key = id(mapping.key);
  const names = columns.map((c) => id(c.column));
  const nonKey = columns.filter((c) => c.column !== mapping.key);
  const setList = [...nonKey.map((c) => `${id(c.column)} = excluded.${id(c.column)}`), 'synced_at = excluded.synced_at', 'db_updated_at = excluded.db_updated_at'].join(',\n         ');
  const changedColumns = nonKey.length > 0
    ? `array_remove(array[${nonKey.map((c) => `case when u.${id(c.column)} is distinct from p.${id(c.column)} then ${pgLiteral(c.column)} end`).join(',\n               ')}], null)`
    : `'{}'::text[]`;
  const cache = new Map<string, string>();

  const build = (shape: { inserts: boolean; updates: boolean; errors: boolean; retries: boolean; resolved: boolean }) => {
    let p = 1;
    const arg = (type: string) => `$${++p}::${type}`;
    const rowsFrom = () => `unnest(${columns.map((c) => arg(PG_ARRAY_TYPE[c.type])).join(', ')}) as x(${names.join(', ')})`;
    const ctes: string[] = [];
    const counts: string[] = [];
    const upsert = (cte: string, from: string) => `${cte} as (
  insert into ${table} as b (${names.join(', ')}, created_at, synced_at, db_updated_at)
  select ${names.map((n) => `x.${n}`).join(', ')}, statement_timestamp(), statement_timestamp(), statement_timestamp()
    from ${from}
  on conflict (${key}) do update
     set ${setList}
  returning (xmax = 0) as inserted
)`;
    if (shape.inserts) {
      ctes.push(upsert('inserted_rows', rowsFrom()));
      counts.push('select inserted from inserted_rows');
    }
    if (shape.updates) {
      ctes.push(`incoming as (select * from ${rowsFrom()})`);
      // All parts of one statement see the table as it was before the statement: p holds the old values.
      ctes.push(`changes as (
  insert into public.sync_buyer_changes (run_id, buyer_number, action, changed_columns, changed_at)
  select $1::uuid, u.${key}, 'update', ${changedColumns}, statement_timestamp()
    from incoming u
    -- A lateral index probe per row: a plan that stays right however big buyers grows.
    cross join lateral (select * from ${table} b where b.${key} = u.${key}) p
  returning 1
)`);
      ctes.push(upsert('updated_rows', 'incoming x'));
      counts.push('select inserted from updated_rows');
    }
    if (shape.errors) {
      const e = ['int[]', 'text[]', 'text[]', 'text[]', 'text[]', 'boolean[]', 'text[]'].map(arg);
      ctes.push(`errors as (
  insert into public.sync_error_log
    (run_id, row_number, buyer_number, error_type, column_name, error_message, retryable, stack_trace, created_at)
  select $1::uuid, e.*, statement_timestamp()
    from unnest(${e.join(', ')}) as e
  returning 1
)`);
    }
    if (shape.retries) {
      const r = ['text[]', 'int[]', 'jsonb[]'].map(arg);
      ctes.push(`retries as (
  insert into public.retry_queue (buyer_number, row_number, error_info, attempt_count, next_retry_at)
  select r.buyer_number, r.row_number, r.info, 1, statement_timestamp() + interval '1 minute'
    from unnest(${r.join(', ')}) as r(buyer_number, row_number, info)
  on conflict ((md5(buyer_number))) where status in ('pending', 'processing')
  do update set error_info = excluded.error_info, row_number = excluded.row_number, updated_at = statement_timestamp()
  returning 1
)`);
    }
    if (shape.resolved) {
      ctes.push(`resolved as (
  update public.retry_queue q
     set status = 'succeeded', updated_at = statement_timestamp()
   where q.status = 'pending' and q.buyer_number = any(${arg('text[]')})
  returning 1
)`);
    }
    const written = counts.length > 0 ? `(${counts.join(' union all ')})` : `(select null::boolean as inserted where false)`;
    return `with ${ctes.length > 0 ? ctes.join(',\n') : 'nothing as (select 1)'}
select (count(*) filter (where w.inserted))::int as inserted,
       (count(*) filter (where not w.inserted))::int as updated
  from ${written} w
 where $1::uuid is not null -- every shape takes the run id as $1`;
  };

  return (runId, batch) => {
    const shape = {
      inserts: batch.inserts.length > 0,
      updates: batch.updates.length > 0,
      errors: batch.errors.length > 0,
      retries: batch.retries.length > 0,
      resolved: batch.resolved.length > 0,
    };
    const shapeKey = Object.values(shape).map((b) => (b ? '1' : '0')).join('');
    let text = cache.get(shapeKey);
    if (text === undefined) {
      text = build(shape);
      cache.set(shapeKey, text);
    }
    const values: unknown[] = [runId];
    const columnsOf = (rows: { values: Value[] }[]) => {
      for (let c = 0; c < columns.length; c++) values.push(pgArray(rows.map((r) => r.values[c] ?? null)));
    };
    if (shape.inserts) columnsOf(batch.inserts);
    if (shape.updates) columnsOf(batch.updates);
    if (shape.errors) {
      const e = batch.errors;
      values.push(...errorColumns(e));
    }
    if (shape.retries) {
      values.push(
        pgArray(batch.retries.map((r) => r.buyerNumber)),
        pgArray(batch.retries.map((r) => r.rowNumber)),
        pgArray(batch.retries.map((r) => JSON.stringify(r.info))),
      );
    }
    if (shape.resolved) values.push(pgArray(batch.resolved));
    return { name: `buyer_sync_batch_${hash('md5', text, 'hex').slice(0, 16)}`, text, values };
  };
}

const NEEDS_ESCAPE = /["\\]/;

/**
 * A PostgreSQL array literal, built here rather than by node-postgres so that
 * a batch's parameters are ready (and their cost paid) while the previous
 * batch is still being written. Every element is quoted; NULL is unquoted.
 */
export function pgArray(values: readonly (string | number | boolean | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v === 'string') out += NEEDS_ESCAPE.test(v) ? `"${v.replace(/[\\"]/g, '\\$&')}"` : `"${v}"`;
    else out += String(v);
  }
  return `${out}}`;
}

function pgLiteral(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/**
 * Streams `buyer number -> content hash` for the whole table (or the given
 * buyer numbers) through a cursor, so a million buyers never sit in one result.
 * Must run inside a transaction.
 */
export async function loadContentHashes(
  client: pg.ClientBase,
  mapping: Mapping,
  columns: ResolvedColumn[],
  into: (key: string, md5hex: string) => void,
  only: string[] | null,
): Promise<void> {
  const table = `public.${id(mapping.table)}`;
  const stored = await storedHashMatches(client, mapping, columns);
  const select = `select b.${id(mapping.key)}, ${stored ? 'b.content_hash' : sqlContentHash(columns)} from ${table} b`;
  if (only !== null) {
    const { rows } = await client.query<[string, string]>({
      text: `${select} where b.${id(mapping.key)} = any($1::text[])`,
      values: [only],
      rowMode: 'array',
    });
    for (const [k, h] of rows) into(k, h);
    return;
  }
  await client.query(`declare buyer_hashes no scroll cursor for ${select}`);
  for (;;) {
    const { rows } = await client.query<[string, string]>({ text: 'fetch 20000 from buyer_hashes', rowMode: 'array' });
    for (const [k, h] of rows) into(k, h);
    if (rows.length < 20000) break;
  }
  await client.query('close buyer_hashes');
}

/**
 * Whether buyers.content_hash (migration 054) covers exactly the mapped
 * columns, in order and as the same types; then it is read instead of hashing
 * every row on the fly.
 */
export async function storedHashMatches(db: Queryable, mapping: Mapping, columns: Pick<ResolvedColumn, 'column' | 'type'>[]): Promise<boolean> {
  if (mapping.table !== 'buyers') return false;
  const { rows } = await db.query<{ column_name: string; column_type: string }>(
    `select column_name, column_type from buyer_sync_private.content_hash_columns order by position`,
  );
  return rows.length === columns.length && rows.every((r, i) => r.column_name === columns[i]!.column && r.column_type === columns[i]!.type);
}

/** The planner's estimate of the table's size: enough to size the run's index, without counting. */
export async function buyerCount(db: Queryable, mapping: Mapping): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select greatest(reltuples, 0)::bigint::int as n from pg_catalog.pg_class where oid = to_regclass($1)`,
    [`public.${id(mapping.table)}`],
  );
  return rows[0]?.n ?? 0;
}

export async function openRetryBuyers(db: Queryable): Promise<Set<string>> {
  const { rows } = await db.query<{ buyer_number: string }>(
    `select buyer_number from public.retry_queue where status in ('pending', 'processing')`,
  );
  return new Set(rows.map((r) => r.buyer_number));
}

/** Marks the open retry entries of these buyers succeeded (they synced later in the run). */
export async function closeRetryEntries(db: Queryable, buyers: string[]): Promise<void> {
  await db.query(
    `update public.retry_queue set status = 'succeeded', updated_at = statement_timestamp()
      where status = 'pending' and buyer_number = any($1::text[])`,
    [buyers],
  );
}

export async function retryQueueSize(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from public.retry_queue where status in ('pending', 'processing')`,
  );
  return rows[0]?.n ?? 0;
}

export interface RunRecordStart {
  mode: 'full' | 'only' | 'retry';
  source: string;
  batchSize: number;
  /** The CSV export's encoding; null for the Sheets API. */
  encoding: string | null;
}

/**
 * Runs still marked running while we hold the sync lock (and after the run
 * journal was replayed) belong to processes that died without a word (killed,
 * machine lost): their transaction rolled back, so they wrote nothing. Say so.
 */
export async function closeInterruptedRuns(db: Queryable): Promise<void> {
  await db.query(
    `update public.sync_runs
        set status = 'failed', finished_at = clock_timestamp(), error_type = 'transient',
            error_message = 'interrupted: the run''s process stopped (killed, or its machine lost) before it could record why; nothing of the run was written'
      where status = 'running'`,
  );
}

/**
 * Records why a run stopped, if it is still marked running (a finished record
 * is never overwritten), with the run-level entry in the error log. Returns
 * whether it did.
 */
export async function markRunFailed(db: Queryable, runId: string, errorType: ErrorType, message: string, at: Date): Promise<boolean> {
  const { rowCount } = await db.query(
    `with run as (
       update public.sync_runs
          set status = 'failed', finished_at = $5, error_type = $3, error_message = $4
        where id = $1 and status = 'running'
       returning id
     )
     insert into public.sync_error_log (run_id, row_number, buyer_number, error_type, column_name, error_message, retryable, created_at)
     select id, null, null, $3, null, $4, $2, $5 from run`,
    [runId, errorType !== 'constraint_violation', errorType, message, at],
  );
  return (rowCount ?? 0) > 0;
}

/** The longest buyer number a row may carry (migration 055). */
export async function keyMaxLength(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select buyer_sync.buyer_number_max_length() as n`);
  return rows[0]!.n;
}

export async function startRun(db: Queryable, run: RunRecordStart): Promise<{ id: string }> {
  const { rows } = await db.query<{ id: string }>(
    `insert into public.sync_runs (mode, source, batch_size, encoding) values ($1, $2, $3, $4) returning id`,
    [run.mode, run.source, run.batchSize, run.encoding],
  );
  return { id: rows[0]!.id };
}

export interface RunCounts {
  totalRows: number;
  blankRows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  failed: number;
  batches: number;
  errorsByType: Record<ErrorType, number>;
  retryQueueSize: number | null;
  durationMs: number;
  rowsPerSecond: number;
}

export async function finishRun(
  db: Queryable,
  runId: string,
  counts: RunCounts,
  failure: { errorType: ErrorType; message: string } | null,
): Promise<void> {
  await db.query(
    `update public.sync_runs
        set finished_at = clock_timestamp(), status = $2,
            total_rows = $3, blank_rows = $4, inserted = $5, updated = $6, unchanged = $7, failed = $8,
            batches = $9, errors_by_type = $10, retry_queue_size = $11, duration_ms = $12, rows_per_second = $13,
            error_type = $14, error_message = $15
      where id = $1`,
    [
      runId,
      failure ? 'failed' : 'succeeded',
      counts.totalRows,
      counts.blankRows,
      counts.inserted,
      counts.updated,
      counts.unchanged,
      counts.failed,
      counts.batches,
      JSON.stringify(counts.errorsByType),
      counts.retryQueueSize,
      Math.round(counts.durationMs),
      Math.round(counts.rowsPerSecond * 100) / 100,
      failure?.errorType ?? null,
      failure?.message ?? null,
    ],
  );
}

/**
 * Replaces the sheet snapshot (buyer numbers of the latest full read) unless
 * the (buyer number, row) list is the same as last time.
 */
export async function replaceSheetSnapshot(
  client: pg.ClientBase,
  snapshot: { source: string; keys: Iterable<[string, number]>; count: number; keysHash: string; runId: string | null },
): Promise<void> {
  const { rows } = await client.query<{ keys_hash: string }>(
    `select keys_hash from buyer_sync_private.sheet_snapshot`,
  );
  if (rows[0]?.keys_hash !== snapshot.keysHash) {
    await client.query('truncate buyer_sync_private.sheet_buyers');
    const chunk = 50_000;
    let numbers: string[] = [];
    let rowNumbers: number[] = [];
    const flush = async () => {
      if (numbers.length === 0) return;
      await client.query(
        `insert into buyer_sync_private.sheet_buyers (buyer_number, row_number)
         select * from unnest($1::text[], $2::int[])`,
        [numbers, rowNumbers],
      );
      numbers = [];
      rowNumbers = [];
    };
    for (const [k, r] of snapshot.keys) {
      numbers.push(k);
      rowNumbers.push(r);
      if (numbers.length >= chunk) await flush();
    }
    await flush();
  }
  await client.query(
    `insert into buyer_sync_private.sheet_snapshot (singleton, source, read_at, row_count, keys_hash, run_id)
     values (true, $1, statement_timestamp(), $2, $3, $4)
     on conflict (singleton) do update
        set source = excluded.source, read_at = excluded.read_at, row_count = excluded.row_count,
            keys_hash = excluded.keys_hash, run_id = excluded.run_id`,
    [snapshot.source, snapshot.count, snapshot.keysHash, snapshot.runId],
  );
}

export async function insertErrors(db: Queryable, runId: string | null, errors: ErrorEntry[]): Promise<void> {
  if (errors.length === 0) return;
  await db.query(
    `insert into public.sync_error_log
       (run_id, row_number, buyer_number, error_type, column_name, error_message, retryable, stack_trace)
     select $1::uuid, e.* from unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::text[]) as e`,
    [runId, ...errorColumns(errors)],
  );
}

/** Error entries as the seven array parameters of a sync_error_log insert, in column order. */
function errorColumns(errors: ErrorEntry[]): string[] {
  return [
    pgArray(errors.map((e) => e.rowNumber)),
    pgArray(errors.map((e) => e.buyerNumber)),
    pgArray(errors.map((e) => e.errorType)),
    pgArray(errors.map((e) => e.column)),
    pgArray(errors.map((e) => e.message)),
    pgArray(errors.map((e) => e.retryable)),
    pgArray(errors.map((e) => e.stack)),
  ];
}
