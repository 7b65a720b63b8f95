/**
 * `buyer-sync retry`: one retry round, the retry-queue entries due now
 * (contract.md): `{processed, succeeded, failed, permanently_failed}`, exit 1
 * when any failed. Alerts it raised (permanent failures) are delivered before
 * it exits. A sheet that could not be read leaves its entries unchanged and
 * makes the exit 3.
 */
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { ExitCode } from '../errors.ts';
import { fmt } from '../format.ts';
import { loadMapping } from '../mapping/mapping.ts';
import { sourceFromConfig } from '../sheet/open.ts';
import { processRetryQueue, retryRoundJson, type RetryRoundResult } from '../sync/retry-round.ts';
import { diag, getConfig, printJson, withDatabase, type CommandContext } from './common.ts';
import { alertsFrom, deliverBeforeExit } from './delivery.ts';
import { engineOptions } from './sync.ts';

export interface RetryCommandOptions {
  json: boolean;
}

function printRound(r: RetryRoundResult): void {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  if (r.processed === 0 && r.skipped.length === 0) {
    out('Retry round: nothing is due.');
    return;
  }
  out(`Retry round: ${fmt(r.processed)} processed`);
  out(
    `  succeeded:          ${fmt(r.succeeded)}${r.leftSheet > 0 ? ` (${fmt(r.leftSheet)} closed because the row left the sheet)` : ''}`,
  );
  out(`  failed, next later: ${fmt(r.failed)}`);
  out(
    `  failed for good:    ${fmt(r.permanentlyFailed)}${r.permanentlyFailed > 0 ? ' (a permanent_failure alert each)' : ''}`,
  );
  if (r.deferred > 0) out(`  left for the next round: ${fmt(r.deferred)} (RETRY_ROUND_LIMIT)`);
  for (const run of r.runs) out(`  run ${run.runId} re-read ${run.source}`);
  if (r.failed + r.permanentlyFailed > 0)
    out('Why: `npx buyer-sync errors --type <type>`, or the runs above with `errors --run <id>`.');
}

export async function runRetry(
  db: Database,
  config: Config,
  opts: RetryCommandOptions,
  ctx?: CommandContext,
): Promise<number> {
  const mapping = loadMapping(config.mappingFile);
  const since = await alertsFrom(db);
  const r = await processRetryQueue(db.pool, {
    mapping,
    limit: config.retryRoundLimit,
    sourceFor: (description) => sourceFromConfig(config, description, { log: (l) => diag(l) }),
    batchSize: config.batchSize,
    ...(ctx ? { signal: ctx.signal } : {}),
    warn: (w) => diag(`warning: ${w}`),
    engine: engineOptions(db, config),
  });
  await deliverBeforeExit(db, config, since);
  if (opts.json) printJson(retryRoundJson(r));
  else printRound(r);
  for (const s of r.skipped) diag(`retries of ${s.source} were not run: ${s.reason}`);
  if (r.skipped.length > 0) return ExitCode.cannotRun;
  return r.failed + r.permanentlyFailed > 0 ? ExitCode.problems : ExitCode.ok;
}

export async function retryCommand(opts: RetryCommandOptions): Promise<number> {
  const config = getConfig();
  return withDatabase(config, (db, ctx) => runRetry(db, config, opts, ctx));
}
