/**
 * Alerts as the database raises them: buyer_sync.evaluate_alerts() compares
 * the health conditions with the thresholds (buyer_sync.alert_thresholds),
 * raises one alert per condition while it lasts and resolves it, with an
 * info notice, when it clears. Every sync run calls it inside its own
 * transaction, so a run's alerts commit (or roll back) with the run.
 */
import { printable } from '../printable.ts';
import type { Queryable } from '../sync/types.ts';

/** An alert or resolved notice an evaluation raised. */
export interface RaisedAlert {
  id: string;
  type: string;
  severity: string;
  message: string;
  /** A resolved notice (the condition cleared). */
  resolved: boolean;
}

export async function evaluateAlerts(db: Queryable): Promise<RaisedAlert[]> {
  const { rows } = await db.query<RaisedAlert>(
    `select id, type, severity, message, resolves is not null as resolved from buyer_sync.evaluate_alerts() with ordinality a order by a.ordinality`,
  );
  return rows;
}

/**
 * The alerts this transaction raised so far by other means than an
 * evaluation (the retry queue's trigger, as a buyer fails for good): their
 * created_at is the transaction's own timestamp, also under savepoints.
 */
export async function alertsRaisedSoFar(db: Queryable): Promise<RaisedAlert[]> {
  const { rows } = await db.query<RaisedAlert>(
    `select id, type, severity, message, resolves is not null as resolved from public.sync_alerts
      where created_at = transaction_timestamp() order by condition, id`,
  );
  return rows;
}

/** One line per raised alert, for a command's output. */
export function alertLine(a: RaisedAlert): string {
  return a.resolved ? `resolved: ${a.type}` : `alert raised: ${a.type} (${a.severity}): ${printable(a.message, 300)}`;
}
