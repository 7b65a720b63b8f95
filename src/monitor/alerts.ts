/**
 * Alerts for a command's output. The database raises them (the SQL that
 * evaluates and reads them is src/sync/sql/alerts.ts, below the sync engine,
 * which calls it inside every run's transaction).
 */
import { printable } from '../printable.ts';
import type { RaisedAlert } from '../sync/sql/alerts.ts';

export type { RaisedAlert } from '../sync/sql/alerts.ts';

/** One line per raised alert, for a command's output. */
export function alertLine(a: RaisedAlert): string {
  return a.resolved ? `resolved: ${a.type}` : `alert raised: ${a.type} (${a.severity}): ${printable(a.message, 300)}`;
}
