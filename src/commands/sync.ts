import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { loadMapping } from '../mapping/mapping.ts';
import { ERROR_TYPES } from '../sync/error-types.ts';
import { EnhancedBuyerSyncService, syncResultJson, type SyncResult } from '../sync/service.ts';
import { RunJournal } from '../sync/run-journal.ts';
import { diag, getConfig, printJson, sourceFor, withDatabase, type CommandContext } from './common.ts';
import { fmt, Progress } from './progress.ts';

export interface SyncCommandOptions {
  source?: string;
  encoding?: string;
  only?: string;
  batchSize?: string;
  json: boolean;
}

export function parseOnly(only: string | undefined): string[] | null {
  if (only === undefined) return null;
  const list = only.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0) throw new UsageError('--only needs at least one buyer number (B1,B2,...)');
  return list;
}

export function parseBatchSize(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--batch-size must be a positive whole number, got "${text}"`);
  return n;
}

export function printSyncSummary(r: SyncResult): void {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out(`Sync run ${r.runId}`);
  out(`  source:   ${r.source}${r.encoding ? ` (${r.encoding.label}, ${r.encoding.how})` : ''}`);
  out(
    `  rows:     ${fmt(r.totalRows)} read: ${fmt(r.inserted)} inserted, ${fmt(r.updated)} updated, ` +
      `${fmt(r.unchanged)} unchanged, ${fmt(r.failed)} failed, ${fmt(r.blankRows)} blank`,
  );
  if (r.failed > 0) {
    out(`  failed:   ${ERROR_TYPES.filter((t) => r.errorsByType[t] > 0).map((t) => `${t} ${fmt(r.errorsByType[t])}`).join(', ')}`);
  }
  out(`  retries:  ${fmt(r.retryQueueSize)} buyer(s) in the retry queue`);
  out(`  time:     ${(r.durationMs / 1000).toFixed(2)} s, ${fmt(Math.round(r.rowsPerSecond))} rows/s`);
  if (r.failed > 0) out(`Failed rows are listed by \`npx buyer-sync errors --run ${r.runId}\`.`);
}

/** The sync service as the command line uses it: failures that cannot reach the database go to the run journal. */
export function serviceFor(db: Database, config: Config): EnhancedBuyerSyncService {
  return new EnhancedBuyerSyncService(db.pool, {
    journal: new RunJournal(config.dataDir),
    // A lost connection is often noticed before the server's exit: give the exit a moment to show.
    databaseGone: async () => (await db.embedded?.stoppedBecause(1000)) ?? null,
  });
}

export async function runSync(db: Database, config: Config, opts: SyncCommandOptions, ctx?: CommandContext): Promise<number> {
  const only = parseOnly(opts.only);
  const batchSize = parseBatchSize(opts.batchSize, config.batchSize);
  const mapping = loadMapping(config.mappingFile);
  const source = await sourceFor(config, opts.source, opts.encoding);
  const progress = new Progress();
  const service = serviceFor(db, config);
  const options = {
    source,
    mapping,
    batchSize,
    ...(ctx ? { signal: ctx.signal } : {}),
    warn: (w: string) => diag(`warning: ${w}`),
    onProgress: (p: { rowsRead: number; elapsedMs: number }) =>
      progress.update(`syncing: ${fmt(p.rowsRead)} rows read, ${fmt(Math.round(p.rowsRead / Math.max(p.elapsedMs / 1000, 0.001)))} rows/s`),
  };
  let result: SyncResult;
  try {
    result = only ? await service.syncMissingBuyers(only, options) : await service.syncAllWithErrorHandling(options);
  } finally {
    progress.done();
  }
  if (opts.json) printJson(syncResultJson(result));
  else printSyncSummary(result);
  // Rows that failed, or buyers asked for with --only that the sheet does not have: problems found.
  return result.failed > 0 || result.notOnSheet.length > 0 ? ExitCode.problems : ExitCode.ok;
}

export async function syncCommand(opts: SyncCommandOptions): Promise<number> {
  const config = getConfig();
  return withDatabase(config, (db, ctx) => runSync(db, config, opts, ctx));
}
