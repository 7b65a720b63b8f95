/**
 * One sync run, in any of its three modes: syncBuyers() is what the command
 * line and every worker task call. It accounts for every sheet row: each
 * non-blank row ends in the mapped table or in sync_error_log.
 *
 * - Everything that can refuse the run without reading the sheet comes first
 *   (the schema check, the mapping against the table): exit 3, nothing read.
 * - The run is one transaction holding the sync lock, so runs (of any mode,
 *   from any process) never overlap: a sheet that cannot be read to the end,
 *   or a connection lost mid-run, leaves the database exactly as it was.
 * - Rows are planned in batches (planner.ts) and each batch that has
 *   something to do is one statement (writer.ts); the next batch is planned
 *   while the database writes this one (pass.ts).
 * - A row the database refuses rolls the pass back and repeats it isolating
 *   each batch, so only the refused rows fail.
 * - A run that cannot finish is recorded with its reason (run.ts,
 *   failure.ts); the source's snapshot of the sheet is released when the run
 *   ends, whatever the outcome.
 */
import type pg from 'pg';
import { runPass } from './pass.ts';
import { rowRules } from './rows.ts';
import { RunConnection, SyncRun, type EngineOptions, type PassAttempt } from './run.ts';
import { resolveMassChangeAlert } from './sql/mass-change.ts';
import { dryRunPreview } from './sql/preview.ts';
import { emptyRunCounts, type SyncRequest, type SyncResult } from './types.ts';

export type { EngineOptions };

/** One sync run (see the module's comment); throws CannotRunError (exit 3) when it could not run or finish. */
export async function syncBuyers(
  pool: pg.Pool,
  request: SyncRequest,
  options: EngineOptions = {},
): Promise<SyncResult> {
  const run = new SyncRun(pool, request, options);
  try {
    const maxKey = await run.preflight();
    const conn = await RunConnection.open(pool);
    try {
      return await passes(run, conn, maxKey);
    } finally {
      conn.release();
    }
  } finally {
    // The run's copy of the sheet goes with the run, whatever became of it (unless the caller reads it again).
    if (!request.keepSource) await request.source.release?.().catch(() => undefined);
  }
}

/** The run's pass, and once more isolating each batch when the database refused a row the rules accepted. */
async function passes(run: SyncRun, conn: RunConnection, maxKey: number): Promise<SyncResult> {
  for (let isolate = false; ; isolate = true) {
    const counts = emptyRunCounts();
    const pass: PassAttempt = { reader: await run.openSheet(conn, counts), counts, isolate };
    try {
      return await passInTransaction(run, conn, maxKey, pass);
    } catch (caught) {
      // Rolled back: throws what the run ends with, or returns to repeat the pass isolating each batch.
      await run.afterFailedPass(conn, pass, caught);
    }
  }
}

/** One pass in the run's transaction, ending in its commit (a dry run: its rollback). */
async function passInTransaction(
  run: SyncRun,
  conn: RunConnection,
  maxKey: number,
  { reader, counts, isolate }: PassAttempt,
): Promise<SyncResult> {
  const { client } = conn;
  const { runId, header } = await run.begin(conn, reader);
  const rules = rowRules(header, reader.format, maxKey);
  const result = await run.cancellable(client, () => runPass({ client, reader, rules, runId, counts, isolate }, run));
  // A stop that came between two statements cancelled nothing: it still stops the run before it commits.
  run.stopped();
  const massChange = await run.judgeMassChange(client, runId, result);
  if (run.dryRun) {
    const preview = await dryRunPreview(client, runId, run.request.mapping);
    await client.query('rollback');
    return { ...result, warnings: run.warnings, dryRun: true, preview, massChange };
  }
  run.letThrough(massChange);
  // A run that commits ends the mass-change condition, if one was open.
  if (run.request.mode === 'full') result.alerts.push(...(await resolveMassChangeAlert(client, runId)));
  await run.commit(conn, runId);
  return { ...result, warnings: run.warnings, dryRun: false, preview: null, massChange };
}
