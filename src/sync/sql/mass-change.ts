/**
 * The mass-change guard's queries (migration 061): what a run changed, read
 * inside its transaction before it commits; the one-shot approvals; the
 * mass_change alert.
 */
import { escapeIdentifier as id } from 'pg';
import type pg from 'pg';
import type { Mapping } from '../../mapping/mapping.ts';
import type { RaisedAlert } from './alerts.ts';
import type { Queryable } from '../types.ts';

/** Buyers in the mapped table now (inside the run's transaction: its own inserts included). */
export async function tableCount(db: Queryable, mapping: Mapping): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`select count(*) as n from public.${id(mapping.table)}`);
  return Number(rows[0]?.n ?? 0);
}

/** The columns the run's updates changed most, with how many buyers each (sync_buyer_changes, written by the run). */
export async function mostChangedColumns(
  db: Queryable,
  runId: string,
  limit = 5,
): Promise<{ column: string; buyers: number }[]> {
  const { rows } = await db.query<{ column: string; buyers: number }>(
    `select c.col as column, count(*)::int as buyers
       from public.sync_buyer_changes ch
      cross join lateral unnest(ch.changed_columns) as c(col)
      where ch.run_id = $1 and ch.action = 'update'
      group by c.col
      order by count(*) desc, c.col
      limit $2`,
    [runId, limit],
  );
  return rows;
}

/** Uses an open approval for the run (committed with it, or not at all); its id, or null when there is none. */
export async function useApproval(client: pg.ClientBase, runId: string): Promise<string | null> {
  const { rows } = await client.query<{ id: string | null }>(
    `select buyer_sync_private.use_mass_change_approval($1) as id`,
    [runId],
  );
  return rows[0]?.id ?? null;
}

/** Raises the mass_change alert (or updates the open one's figures). */
export async function raiseMassChangeAlert(
  db: Queryable,
  message: string,
  details: Record<string, unknown>,
): Promise<RaisedAlert[]> {
  const { rows } = await db.query<RaisedAlert>(
    `select id, type, severity, message, false as resolved from buyer_sync_private.raise_mass_change($1, $2)`,
    [message, JSON.stringify(details)],
  );
  return rows;
}

/** Resolves the open mass_change alert, inside a run that is about to commit. */
export async function resolveMassChangeAlert(client: pg.ClientBase, runId: string): Promise<RaisedAlert[]> {
  const { rows } = await client.query<RaisedAlert>(
    `select id, type, severity, message, true as resolved from buyer_sync_private.resolve_mass_change($1)`,
    [runId],
  );
  return rows;
}
