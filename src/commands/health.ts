/**
 * `buyer-sync health`: one health check (contract.md): reads the sheet's
 * buyer numbers, evaluates the alert thresholds, writes a
 * sync_health_metrics row, raises or resolves alerts and delivers them before
 * exiting. Exit 1 when unhealthy; 3 when the sheet could not be read (the
 * check still judged the last snapshot, and says so).
 */
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { ExitCode } from '../errors.ts';
import { fmt } from '../format.ts';
import { loadMapping } from '../mapping/mapping.ts';
import { alertLine } from '../monitor/alerts.ts';
import { checkHealth, healthJson, type HealthReport } from '../monitor/health.ts';
import { diag, getConfig, printJson, sourceFor, withDatabase, type CommandContext } from './common.ts';
import { alertsFrom, deliverBeforeExit } from './delivery.ts';

export interface HealthCommandOptions {
  source?: string;
  encoding?: string;
  json: boolean;
}

export function printHealth(h: HealthReport): void {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out(h.healthy ? 'Healthy.' : `Unhealthy: ${fmt(h.issues.length)} issue(s)`);
  for (const i of h.issues) out(`  - ${i}`);
  out(
    `  last full sync:  ${h.lastSyncTime ? h.lastSyncTime.toISOString() : 'never'}; error rate ${h.errorRate.toFixed(2)} % of its non-blank rows`,
  );
  out(
    `  sheet:           ${fmt(h.spreadsheetCount)} buyers${h.sheetReadAt ? ` (read ${h.sheetReadAt.toISOString()})` : ''}; database ${fmt(h.databaseCount)}`,
  );
  out(
    `  missing:         ${fmt(h.missingCount)} on the sheet, not in the database; ${fmt(h.extraCount)} in the database, not on the sheet`,
  );
  out(`  retry queue:     ${fmt(h.retryQueueSize)} buyer(s)`);
  for (const a of h.alerts) out(`  ${alertLine(a)}`);
  if (h.missingCount > 0)
    out('Missing buyers: `npx buyer-sync missing`. Every number in SQL: select * from buyer_sync.current_health;');
}

export async function runHealth(
  db: Database,
  config: Config,
  opts: HealthCommandOptions,
  ctx?: CommandContext,
): Promise<number> {
  const mapping = loadMapping(config.mappingFile);
  const source = await sourceFor(config, opts.source, opts.encoding);
  const since = await alertsFrom(db);
  const h = await checkHealth(db.pool, { source, mapping, ...(ctx ? { signal: ctx.signal } : {}) });
  await deliverBeforeExit(db, config, since);
  if (opts.json) printJson(healthJson(h));
  else printHealth(h);
  if (h.sheetUnread !== null) {
    diag(`the sheet could not be read: ${h.sheetUnread}`);
    return ExitCode.cannotRun;
  }
  return h.healthy ? ExitCode.ok : ExitCode.problems;
}

export async function healthCommand(opts: HealthCommandOptions): Promise<number> {
  const config = getConfig();
  return withDatabase(config, (db, ctx) => runHealth(db, config, opts, ctx));
}
