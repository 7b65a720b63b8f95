/**
 * sync_alerts as delivery reads and marks them (deliver.ts): the undelivered
 * alerts, oldest first; one alert locked for its POST and its outcome
 * recorded, both on the client of the transaction that holds the lock.
 */
import type pg from 'pg';
import type { Queryable } from '../db/queryable.ts';

/**
 * An alert as delivery reads it: its message and details as the API shows
 * them (buyer_sync_api.alerts), so a receiver never learns a server path,
 * the sheet's address or a URL: details without `source`, every text through
 * buyer_sync_private.redact_ids.
 */
export interface AlertRow {
  id: string;
  type: string;
  severity: string;
  message: string;
  details: Record<string, unknown>;
  delivered_at: Date | null;
  delivery_attempts: number;
}

const COLUMNS = `id, type, severity, buyer_sync_private.redact_ids(message) as message,
  buyer_sync_private.redact_ids((details - 'source')::text)::jsonb as details, delivered_at, delivery_attempts`;

/** The database's clock now: where a command's "alerts raised since" starts. */
export async function databaseNow(db: Queryable): Promise<Date> {
  const { rows } = await db.query<{ now: Date }>('select clock_timestamp() as now');
  return rows[0]!.now;
}

/** The ids of at most `limit` undelivered alerts, oldest first: what a delivery round goes through. */
export async function undeliveredAlertIds(db: Queryable, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `select id from public.sync_alerts where delivered_at is null order by created_at, id limit $1`,
    [limit],
  );
  return rows.map((r) => r.id);
}

/** How many alerts are undelivered: what a delivery round leaves to the next one. */
export async function undeliveredAlertCount(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from public.sync_alerts where delivered_at is null`,
  );
  return rows[0]!.n;
}

/** The ids of the undelivered alerts raised since `since`, oldest first: what a command delivers before it exits. */
export async function undeliveredAlertIdsSince(db: Queryable, since: Date): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `select id from public.sync_alerts where delivered_at is null and created_at >= $1 order by created_at, id`,
    [since],
  );
  return rows.map((r) => r.id);
}

/**
 * Bounds how long the transaction waits for a lock (set_config local to it):
 * a deliverer waits for an alert another one is POSTing at most that long.
 */
export async function setTransactionLockTimeout(client: pg.ClientBase, ms: number): Promise<void> {
  await client.query(`select set_config('lock_timeout', $1, true)`, [`${ms}ms`]);
}

/** Locks one alert for the transaction (a concurrent deliverer waits) and reads it; undefined when it is gone. */
export async function lockAlert(client: pg.ClientBase, id: string): Promise<AlertRow | undefined> {
  const { rows } = await client.query<AlertRow>(`select ${COLUMNS} from public.sync_alerts where id = $1 for update`, [
    id,
  ]);
  return rows[0];
}

/**
 * Records one POST of a locked alert, in the transaction holding its lock:
 * delivered now when `failure` is null, else why not; the attempt counted.
 */
export async function recordDeliveryAttempt(client: pg.ClientBase, id: string, failure: string | null): Promise<void> {
  await client.query(
    `update public.sync_alerts
        set delivered_at = case when $2::text is null then now() end,
            delivery_attempts = delivery_attempts + 1,
            delivery_error = $2
      where id = $1`,
    [id, failure],
  );
}
