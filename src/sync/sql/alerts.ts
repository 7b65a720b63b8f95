/**
 * Alerts as the database raises them: buyer_sync.evaluate_alerts() compares
 * the health conditions with the thresholds (buyer_sync.alert_thresholds),
 * raises one alert per condition while it lasts and resolves it, with an
 * info notice, when it clears. Every sync run calls it inside its own
 * transaction, so a run's alerts commit (or roll back) with the run.
 */
import type { Queryable } from '../../db/queryable.ts';

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
 * evaluation (the retry queue's trigger, as buyers fail for good: one alert
 * per run, condition permanent_failure:run:<run id>, that names every buyer
 * the run failed for good, migration 067): their created_at is the
 * transaction's own timestamp, also under savepoints. Read at the end of the
 * run, the message counts every buyer added to it.
 */
export async function alertsRaisedSoFar(db: Queryable): Promise<RaisedAlert[]> {
  const { rows } = await db.query<RaisedAlert>(
    `select id, type, severity, message, resolves is not null as resolved from public.sync_alerts
      where created_at = transaction_timestamp() order by condition, id`,
  );
  return rows;
}
