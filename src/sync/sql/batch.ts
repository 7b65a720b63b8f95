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
      /*
       * A new entry: its first attempt (this run, with its one immediate
       * retry) failed; the next is due after the schedule's first delay. An
       * open entry: this failure is one more attempt, whichever path made it
       * (a retry round, a scheduled sync, --only); after the schedule's last
       * attempt the entry fails for good (the trigger raises the alert).
       */
      const r = ['text[]', 'int[]', 'jsonb[]', 'text[]'].map(arg);
      ctes.push(`retries as (
  insert into public.retry_queue as q
    (buyer_number, row_number, error_info, source, attempt_count, next_retry_at, status, resolution, resolved_at, last_run_id, resolved_run_id,
     created_at, updated_at)
  select r.buyer_number, r.row_number, r.info, r.source, 1, coalesce(n.at, statement_timestamp()),
         case when n.at is null then 'failed' else 'pending' end,
         case when n.at is null then 'exhausted' end,
         case when n.at is null then statement_timestamp() end,
         $1::uuid,
         case when n.at is null then $1::uuid end,
         statement_timestamp(), statement_timestamp()
    from unnest(${r.join(', ')}) as r(buyer_number, row_number, info, source)
   cross join lateral (select buyer_sync.next_retry_at(1, statement_timestamp()) as at) n
  on conflict ((md5(buyer_number))) where status in ('pending', 'processing')
  do update set
     error_info = excluded.error_info, row_number = excluded.row_number, source = excluded.source,
     attempt_count = q.attempt_count + 1,
     next_retry_at = coalesce(buyer_sync.next_retry_at(q.attempt_count + 1, statement_timestamp()), q.next_retry_at),
     status = case when buyer_sync.next_retry_at(q.attempt_count + 1, statement_timestamp()) is null then 'failed' else 'pending' end,
     resolution = case when buyer_sync.next_retry_at(q.attempt_count + 1, statement_timestamp()) is null then 'exhausted' end,
     resolved_at = case when buyer_sync.next_retry_at(q.attempt_count + 1, statement_timestamp()) is null then statement_timestamp() end,
     resolved_run_id = case when buyer_sync.next_retry_at(q.attempt_count + 1, statement_timestamp()) is null then $1::uuid end,
     last_run_id = $1::uuid,
     updated_at = statement_timestamp()
  returning 1
)`);
    }
    if (shape.resolved) {
      ctes.push(`resolved as (
  update public.retry_queue q
     set status = 'succeeded', resolution = 'synced', resolved_at = statement_timestamp(),
         resolved_run_id = $1::uuid, last_run_id = $1::uuid, updated_at = statement_timestamp()
   where q.status in ('pending', 'processing') and q.buyer_number = any(${arg('text[]')})
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
      );
    }
    if (shape.resolved) values.push(pgArray(batch.resolved));
    return { name: `buyer_sync_batch_${hash('md5', text, 'hex').slice(0, 16)}`, text, values };
  };
}
