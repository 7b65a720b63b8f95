/**
 * The one statement of a batch. Statements that depend on the column mapping
 * are built once per run from it, with every identifier escaped.
 */
import { hash } from 'node:crypto';
import { escapeIdentifier as id } from 'pg';
import type { Mapping, ResolvedColumn } from '../../mapping/mapping.ts';
import type { BatchWrite } from '../types.ts';
import { errorColumns } from './error-log.ts';
import { pgArray, pgLiteral } from './pg-array.ts';

const PG_ARRAY_TYPE = { text: 'text[]', date: 'date[]', bigint: 'bigint[]' } as const;

export interface PreparedQuery {
  name: string;
  text: string;
  values: unknown[];
}

/** Builds the one statement of a batch from the parts it needs. */
export type BatchStatement = (runId: string, batch: BatchWrite) => PreparedQuery;

/** What a batch holds, each part its own piece of the statement (and, once built, its own prepared shape). */
interface Shape {
  inserts: boolean;
  updates: boolean;
  errors: boolean;
  retries: boolean;
  resolved: boolean;
}

/** The parts of the statements that depend on the column mapping, escaped once per run. */
interface MappedSql {
  columns: ResolvedColumn[];
  table: string;
  key: string;
  names: string[];
  setList: string;
  changedColumns: string;
}

/** New and changed buyers go in through one upsert shape (`from` yields their rows as x). */
function upsertCte({ table, key, names, setList }: MappedSql, cte: string, from: string): string {
  return `${cte} as (
  insert into ${table} as b (${names.join(', ')}, created_at, synced_at, db_updated_at)
  select ${names.map((n) => `x.${n}`).join(', ')}, statement_timestamp(), statement_timestamp(), statement_timestamp()
    from ${from}
  on conflict (${key}) do update
     set ${setList}
  returning (xmax = 0) as inserted
)`;
}

/** The update's history row, with the columns it changed. */
function changesCte({ table, key, changedColumns }: MappedSql): string {
  return `changes as (
  insert into public.sync_buyer_changes (run_id, buyer_number, action, changed_columns, changed_at)
  select $1::uuid, u.${key}, 'update', ${changedColumns}, statement_timestamp()
    from incoming u
    -- A lateral index probe per row: a plan that stays right however big buyers grows.
    cross join lateral (select * from ${table} b where b.${key} = u.${key}) p
  returning 1
)`;
}

/** The batch's failed rows, from seven array parameters (`e`, errorColumns' order). */
function errorsCte(e: string[]): string {
  return `errors as (
  insert into public.sync_error_log
    (run_id, row_number, buyer_number, error_type, column_name, error_message, retryable, stack_trace, created_at)
  select $1::uuid, e.*, statement_timestamp()
    from unnest(${e.join(', ')}) as e
  returning 1
)`;
}

/*
 * The schedule (migration 064), on the clock buyer_sync_private.now().
 * A new entry: its first attempt (this run, with its one immediate
 * retry) failed; the next is due after the schedule's first delay. An
 * open entry: this failure is one more attempt only when its retry was
 * due, whichever path made it (a retry round, a scheduled sync,
 * --only), or attempt 1 of a fresh schedule when the row is not the one
 * that failed before (buyer_sync_private.failed_again); otherwise it
 * only updates the error. After the schedule's last attempt the entry
 * fails for good (the trigger raises the alert) and holds its buyer: the
 * same row failing again opens no new entry; another row releases it.
 */
const HELD_CTE = `held as (
  update public.retry_queue h
     set row_hash = coalesce(h.row_hash, r.row_hash),
         released_at = case when h.row_hash <> r.row_hash then c.now end,
         updated_at = statement_timestamp()
    from failing r cross join clock c
   where h.buyer_number = r.buyer_number and h.resolution = 'exhausted' and h.released_at is null
     and h.row_hash is distinct from r.row_hash
  returning 1
)`;

const RETRIES_CTE = `retries as (
  insert into public.retry_queue as q
    (buyer_number, row_number, error_info, source, row_hash, attempt_count, last_attempt_at, next_retry_at, status, resolution, resolved_at,
     last_run_id, resolved_run_id, created_at, updated_at)
  select r.buyer_number, r.row_number, r.info, r.source, r.row_hash, 1, c.now, coalesce(n.at, c.now),
         case when n.at is null then 'failed' else 'pending' end,
         case when n.at is null then 'exhausted' end,
         case when n.at is null then statement_timestamp() end,
         $1::uuid,
         case when n.at is null then $1::uuid end,
         statement_timestamp(), statement_timestamp()
    from failing r
   cross join clock c
   cross join lateral (select buyer_sync.next_retry_at(1, c.now) as at) n
   -- Held by its exhausted entry: the same row (or, for an entry from before row hashes, any) failed again.
   where not exists (select 1 from public.retry_queue h
                      where h.buyer_number = r.buyer_number and h.resolution = 'exhausted' and h.released_at is null
                        and (h.row_hash is null or h.row_hash = r.row_hash))
  on conflict ((md5(buyer_number))) where status in ('pending', 'processing')
  do update set
     error_info = excluded.error_info, row_number = excluded.row_number, source = excluded.source, row_hash = excluded.row_hash,
     (attempt_count, last_attempt_at, next_retry_at, status, resolution, resolved_at, resolved_run_id, last_run_id) = (
       select a.attempt,
              case when a.counted then excluded.last_attempt_at else q.last_attempt_at end,
              coalesce(a.next_at, q.next_retry_at),
              case when a.next_at is null then 'failed' else 'pending' end,
              case when a.next_at is null then 'exhausted' end,
              case when a.next_at is null then statement_timestamp() end,
              case when a.next_at is null then $1::uuid end,
              case when a.counted then $1::uuid else q.last_run_id end
         from buyer_sync_private.failed_again(q.attempt_count, q.next_retry_at, q.row_hash, excluded.row_hash, excluded.last_attempt_at) a),
     updated_at = statement_timestamp()
  returning 1
)`;

/** Buyers that synced: their open retry entries close (`keys`: the text[] parameter of their numbers). */
function resolvedCtes(keys: string): string[] {
  return [
    `resolved as (
  update public.retry_queue q
     set status = 'succeeded', resolution = 'synced', resolved_at = statement_timestamp(),
         resolved_run_id = $1::uuid, last_run_id = $1::uuid, updated_at = statement_timestamp()
   where q.status in ('pending', 'processing') and q.buyer_number = any(${keys})
  returning 1
)`,
    // A buyer that failed for good and now synced: its exhausted entry holds it no longer.
    `unheld as (
  update public.retry_queue q
     set released_at = buyer_sync_private.now(), updated_at = statement_timestamp()
   where q.resolution = 'exhausted' and q.released_at is null and q.buyer_number = any(${keys})
  returning 1
)`,
  ];
}

/** The one statement of a batch of this shape, its parameters numbered in the order batchValues gives them. */
function buildStatement(sql: MappedSql, shape: Shape): string {
  let p = 1;
  const arg = (type: string) => `$${++p}::${type}`;
  const rowsFrom = () =>
    `unnest(${sql.columns.map((c) => arg(PG_ARRAY_TYPE[c.type])).join(', ')}) as x(${sql.names.join(', ')})`;
  const ctes: string[] = [];
  const counts: string[] = [];
  if (shape.inserts) {
    ctes.push(upsertCte(sql, 'inserted_rows', rowsFrom()));
    counts.push('select inserted from inserted_rows');
  }
  if (shape.updates) {
    ctes.push(`incoming as (select * from ${rowsFrom()})`);
    // All parts of one statement see the table as it was before the statement: p holds the old values.
    ctes.push(changesCte(sql));
    ctes.push(upsertCte(sql, 'updated_rows', 'incoming x'));
    counts.push('select inserted from updated_rows');
  }
  if (shape.errors)
    ctes.push(errorsCte(['int[]', 'text[]', 'text[]', 'text[]', 'text[]', 'boolean[]', 'text[]'].map(arg)));
  if (shape.retries) {
    const r = ['text[]', 'int[]', 'jsonb[]', 'text[]', 'text[]'].map(arg);
    ctes.push(`clock as (select buyer_sync_private.now() as now)`);
    ctes.push(
      `failing as (select * from unnest(${r.join(', ')}) as r(buyer_number, row_number, info, source, row_hash))`,
    );
    ctes.push(HELD_CTE, RETRIES_CTE);
  }
  if (shape.resolved) ctes.push(...resolvedCtes(arg('text[]')));
  const written =
    counts.length > 0 ? `(${counts.join(' union all ')})` : `(select null::boolean as inserted where false)`;
  return `with ${ctes.length > 0 ? ctes.join(',\n') : 'nothing as (select 1)'}
select (count(*) filter (where w.inserted))::int as inserted,
       (count(*) filter (where not w.inserted))::int as updated
  from ${written} w
 where $1::uuid is not null -- every shape takes the run id as $1`;
}

/** The statement's parameters: the run id, then each part's arrays, in buildStatement's order. */
function batchValues(columns: ResolvedColumn[], runId: string, batch: BatchWrite, shape: Shape): unknown[] {
  const values: unknown[] = [runId];
  const columnsOf = (rows: { values: (string | null)[] }[]) => {
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
      pgArray(batch.retries.map((r) => r.source)),
      pgArray(batch.retries.map((r) => r.rowHash)),
    );
  }
  if (shape.resolved) values.push(pgArray(batch.resolved));
  return values;
}

/** The statement's pieces that depend on the column mapping. */
function mappedSql(mapping: Mapping, columns: ResolvedColumn[]): MappedSql {
  const nonKey = columns.filter((c) => c.column !== mapping.key);
  const setList = [
    ...nonKey.map((c) => `${id(c.column)} = excluded.${id(c.column)}`),
    'synced_at = excluded.synced_at',
    'db_updated_at = excluded.db_updated_at',
  ].join(',\n         ');
  const changedColumns =
    nonKey.length > 0
      ? `array_remove(array[${nonKey.map((c) => `case when u.${id(c.column)} is distinct from p.${id(c.column)} then ${pgLiteral(c.column)} end`).join(',\n               ')}], null)`
      : `'{}'::text[]`;
  return {
    columns,
    table: `public.${id(mapping.table)}`,
    key: id(mapping.key),
    names: columns.map((c) => id(c.column)),
    setList,
    changedColumns,
  };
}

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
  const sql = mappedSql(mapping, columns);
  const cache = new Map<string, string>();
  return (runId, batch) => {
    const shape: Shape = {
      inserts: batch.inserts.length > 0,
      updates: batch.updates.length > 0,
      errors: batch.errors.length > 0,
      retries: batch.retries.length > 0,
      resolved: batch.resolved.length > 0,
    };
    const shapeKey = Object.values(shape)
      .map((b) => (b ? '1' : '0'))
      .join('');
    let text = cache.get(shapeKey);
    if (text === undefined) {
      text = buildStatement(sql, shape);
      cache.set(shapeKey, text);
    }
    const values = batchValues(columns, runId, batch, shape);
    return { name: `buyer_sync_batch_${hash('md5', text, 'hex').slice(0, 16)}`, text, values };
  };
}
