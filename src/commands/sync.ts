import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { loadMapping } from '../mapping/mapping.ts';
import { alertLine } from '../monitor/alerts.ts';
import { printable } from '../printable.ts';
import { ERROR_TYPES } from '../sync/error-types.ts';
import { syncBuyers, type EngineOptions } from '../sync/engine.ts';
import { describeMassChange, MassChangeRefused } from '../sync/mass-change.ts';
import { RunJournal } from '../sync/run-journal.ts';
import { retryQueueSize } from '../sync/sql/retry-queue.ts';
import { beforeFullRead } from '../sync/unchanged.ts';
import { dryRunJson, syncResultJson } from '../sync/json.ts';
import { emptyRunCounts, type SyncResult } from '../sync/types.ts';
import { targetLabel } from '../db/connection.ts';
import { diag, getConfig, printJson, sourceFor, withDatabase, type CommandContext } from './common.ts';
import { alertsFrom, deliverBeforeExit } from './delivery.ts';
import { fmt, Progress } from './progress.ts';

export interface SyncCommandOptions {
  source?: string;
  encoding?: string;
  only?: string;
  batchSize?: string;
  dryRun?: boolean;
  ifChanged?: boolean;
  allowMassChange?: boolean;
  json: boolean;
}

export function parseOnly(only: string | undefined): string[] | null {
  if (only === undefined) return null;
  const list = only
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (list.length === 0) throw new UsageError('--only needs at least one buyer number (B1,B2,...)');
  return list;
}

export function parseBatchSize(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--batch-size must be a positive whole number, got "${text}"`);
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
    out(
      `  failed:   ${ERROR_TYPES.filter((t) => r.errorsByType[t] > 0)
        .map((t) => `${t} ${fmt(r.errorsByType[t])}`)
        .join(', ')}`,
    );
  }
  out(`  retries:  ${fmt(r.retryQueueSize)} buyer(s) in the retry queue`);
  out(`  time:     ${(r.durationMs / 1000).toFixed(2)} s, ${fmt(Math.round(r.rowsPerSecond))} rows/s`);
  for (const a of r.alerts) out(`  ${alertLine(a)}`);
  if (r.failed > 0) out(`Failed rows are listed by \`npx buyer-sync errors --run ${r.runId}\`.`);
}

const LIST = 20;

/** A dry run's report: what the same run would have done. */
export function printDryRun(r: SyncResult): void {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  const p = r.preview!;
  const more = (n: number) => (n > LIST ? ` … and ${fmt(n - LIST)} more (--json lists all)` : '');
  out(`Dry run of ${r.source}${r.encoding ? ` (${r.encoding.label}, ${r.encoding.how})` : ''}: nothing was written`);
  out(
    `  rows:         ${fmt(r.totalRows)} read: would insert ${fmt(r.inserted)}, update ${fmt(r.updated)}, ` +
      `leave ${fmt(r.unchanged)} unchanged; ${fmt(r.failed)} would fail, ${fmt(r.blankRows)} blank`,
  );
  if (p.insert.length > 0)
    out(
      `  would insert: ${p.insert
        .slice(0, LIST)
        .map((b) => printable(b))
        .join(', ')}${more(p.insert.length)}`,
    );
  if (p.update.length > 0) {
    out('  would update:');
    for (const u of p.update.slice(0, LIST)) out(`    ${printable(u.buyerNumber)}: ${u.changedColumns.join(', ')}`);
    if (p.update.length > LIST) out(`   ${more(p.update.length)}`);
  }
  if (p.fail.length > 0) {
    out('  would fail:');
    for (const f of p.fail.slice(0, LIST)) {
      out(
        `    row ${f.rowNumber}${f.buyerNumber !== null ? ` (${printable(f.buyerNumber)})` : ''}: ${f.errorType}${f.column ? ` in ${f.column}` : ''}`,
      );
    }
    if (p.fail.length > LIST) out(`   ${more(p.fail.length)}`);
  }
  for (const a of r.alerts) out(`  would raise: ${alertLine(a).replace(/^alert raised: /, '')}`);
  const g = r.massChange;
  if (g?.beyond) {
    const by =
      g.allowedBy === 'flag'
        ? 'let through by --allow-mass-change'
        : g.allowedBy
          ? `let through by approval ${g.allowedBy.approval}`
          : 'refused';
    out(`  mass-change guard: ${by}: ${describeMassChange(g)}`);
  } else if (g) {
    out(
      `  mass-change guard: within the limits (${fmt(g.updated)} of ${fmt(g.existing)} buyers updated, ${g.percent} %; limit ${g.limits.maxPercent} %, at least ${fmt(g.limits.min)})`,
    );
  }
  out(
    g?.beyond && g.allowedBy === null
      ? 'Without --dry-run the run would be refused: see `buyer-sync sync --help` (--allow-mass-change).'
      : 'Run the same command without --dry-run to write it.',
  );
}

/** The engine as this process runs it: failures that cannot reach the database go to the run journal. */
export function engineOptions(db: Database, config: Config): EngineOptions {
  return {
    journal: new RunJournal(config.dataDir, targetLabel(db.url)),
    massChange: config.massChange,
    // A lost connection is often noticed before the server's exit: give the exit a moment to show.
    databaseGone: async () => (await db.embedded?.stoppedBecause(1000)) ?? null,
  };
}

export async function runSync(
  db: Database,
  config: Config,
  opts: SyncCommandOptions,
  ctx?: CommandContext,
): Promise<number> {
  const only = parseOnly(opts.only);
  const batchSize = parseBatchSize(opts.batchSize, config.batchSize);
  const mapping = loadMapping(config.mappingFile);
  const source = await sourceFor(config, opts.source, opts.encoding);
  if (opts.ifChanged && (only || opts.dryRun))
    throw new UsageError('--if-changed is for a full sync: not with --only or --dry-run');
  if (config.sheetReportTab !== null) {
    const problem = (await import('../report/tab.ts')).reportWriteProblem(config);
    if (problem) diag(`report tab not written: ${problem}`);
  }
  let sourceVersion: string | null = null;
  if (!only && !opts.dryRun) {
    const before = await beforeFullRead(db.pool, source, mapping, {
      skipIfUnchanged: opts.ifChanged === true,
      fullReadEveryMs: config.fullReadMinutes * 60_000,
      batchSize,
    });
    if (before.skipped) {
      const s = before.skipped;
      if (opts.json) {
        // The contract's shape of a sync (nothing read: every count 0), and why.
        const counts = { ...emptyRunCounts(), retryQueueSize: await retryQueueSize(db.pool), durationMs: s.durationMs };
        printJson({
          ...syncResultJson({ ...counts, runId: s.runId, source: source.description }),
          status: 'skipped',
          skipped_because: s.because,
          still_failing: s.lastFailed,
        });
      } else {
        process.stdout.write(`Sync run ${s.runId}: skipped, nothing read or written (${s.because})\n`);
        if (s.lastFailed > 0)
          process.stdout.write(
            `${fmt(s.lastFailed)} row(s) of that run still fail: \`npx buyer-sync errors --run ${s.lastRunId}\`.\n`,
          );
      }
      return s.lastFailed > 0 ? ExitCode.problems : ExitCode.ok;
    }
    if (before.note) diag(before.note);
    sourceVersion = before.sourceVersion;
  }
  const progress = new Progress();
  const since = await alertsFrom(db);
  let result: SyncResult;
  try {
    result = await syncBuyers(
      db.pool,
      {
        mode: only ? 'only' : 'full',
        keys: only,
        source,
        mapping,
        batchSize,
        ...(ctx ? { signal: ctx.signal } : {}),
        warn: (w: string) => diag(`warning: ${w}`),
        dryRun: opts.dryRun === true,
        sourceVersion,
        allowMassChange: opts.allowMassChange === true,
        onProgress: (p) =>
          progress.update(
            () =>
              `syncing: ${fmt(p.rowsRead)} rows read, ${fmt(Math.round(p.rowsRead / Math.max(p.elapsedMs / 1000, 0.001)))} rows/s`,
          ),
      },
      engineOptions(db, config),
    );
  } catch (err) {
    // A run the mass-change guard refused raised its alert: delivered before the command exits, like any other.
    if ((err as Error).cause instanceof MassChangeRefused) await deliverBeforeExit(db, config, since);
    throw err;
  } finally {
    progress.done();
  }
  if (!result.dryRun) await deliverBeforeExit(db, config, since);
  if (opts.json) printJson(result.dryRun ? dryRunJson(result) : syncResultJson(result));
  else if (result.dryRun) printDryRun(result);
  else printSyncSummary(result);
  // Rows that failed, or buyers asked for with --only that the sheet does not have: problems found.
  return result.failed > 0 || result.notOnSheet.length > 0 ? ExitCode.problems : ExitCode.ok;
}

export async function syncCommand(opts: SyncCommandOptions): Promise<number> {
  const config = getConfig();
  return withDatabase(config, (db, ctx) => runSync(db, config, opts, ctx));
}
