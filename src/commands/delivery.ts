/**
 * A command that raises alerts delivers them before it exits (contract.md),
 * so that cron-driven use without `serve` still alerts. A receiver that fails
 * is one line on stderr; the alert stays pending and the worker's delivery
 * job retries it.
 */
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { databaseNow, deliverRaisedSince } from '../alerts/deliver.ts';
import { diag } from './common.ts';

/** Marks the start of a command: the alerts raised from now on are its own. */
export async function alertsFrom(db: Database): Promise<Date> {
  return databaseNow(db.pool);
}

export async function deliverBeforeExit(db: Database, config: Config, since: Date): Promise<void> {
  await deliverRaisedSince(db.pool, config.alertWebhookUrl, since, { log: (l) => diag(l) }).catch((err: unknown) =>
    diag(`alerts could not be delivered now: ${(err as Error).message}; the worker (buyer-sync serve) delivers them`),
  );
}
