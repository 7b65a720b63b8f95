/**
 * Why a run stopped, kept on local disk when the database could not be told
 * at the time (the server died mid-run, the network went away), and written
 * into sync_runs by the next run that can reach it. Without this, a run whose
 * server was killed would later read "interrupted" instead of what happened.
 *
 * A run refused before it started (the database lost before the schema
 * check) is kept the same way, with what its record needs.
 *
 * One JSON line per run in `<BUYER_SYNC_DATA_DIR>/unrecorded-runs.jsonl`
 * (mode 0600; messages never hold a cell value). An entry is applied only to
 * a run still marked running, so it can never overwrite a finished record; an
 * entry whose run this database does not know (the journal is per machine,
 * the database may not be) is kept for a week, then dropped.
 */
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ErrorType } from './error-types.ts';
import { markRunFailed, recordRefusedRun, type RunFailure } from './sql/runs.ts';
import type { Queryable, SyncMode } from './types.ts';

export interface UnrecordedFailure {
  runId: string;
  errorType: ErrorType;
  /** Absent in entries written before runs had a failure category. */
  failure?: RunFailure;
  message: string;
  /** ISO time the run stopped. */
  at: string;
  /** A run refused before it started (its record does not exist yet): what the record needs. */
  refused?: { mode: SyncMode; source: string; batchSize: number; durationMs: number };
  /** For a refused run: the database it was meant for (host:port/name), so it is only ever recorded there. */
  target?: string | null;
}

const KEEP_MS = 7 * 24 * 3600 * 1000;

export class RunJournal {
  readonly file: string;
  /** The database this process uses (host:port/name, no credentials): a refused run is recorded only there. */
  readonly target: string | null;
  constructor(dataDir: string, target: string | null = null) {
    this.file = path.join(dataDir, 'unrecorded-runs.jsonl');
    this.target = target;
  }

  async add(entry: UnrecordedFailure): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  }

  private async read(): Promise<UnrecordedFailure[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return [];
    }
    const entries: UnrecordedFailure[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const e = JSON.parse(line) as UnrecordedFailure;
        if (typeof e.runId === 'string' && typeof e.message === 'string') entries.push(e);
      } catch {
        // A line cut off by a crash: nothing to apply.
      }
    }
    return entries;
  }

  /** Writes what the journal holds into the runs still marked running; returns how many it completed. */
  async replay(db: Queryable): Promise<number> {
    const entries = await this.read();
    if (entries.length === 0) return 0;
    const kept: UnrecordedFailure[] = [];
    let applied = 0;
    for (const e of entries) {
      if (e.refused && (e.target ?? null) !== this.target) {
        if (Date.now() - Date.parse(e.at) < KEEP_MS) kept.push(e);
        continue;
      }
      const f = { failure: e.failure ?? 'error', errorType: e.errorType, message: e.message };
      const at = new Date(e.at);
      const done = e.refused
        ? await recordRefusedRun(db, { id: e.runId, ...e.refused, at }, f)
        : await markRunFailed(db, e.runId, f, at);
      if (done) applied++;
      else if (Date.now() - Date.parse(e.at) < KEEP_MS && !(await runExists(db, e.runId))) kept.push(e);
    }
    if (kept.length === 0) await rm(this.file, { force: true });
    else await writeFile(this.file, kept.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
    return applied;
  }
}

async function runExists(db: Queryable, runId: string): Promise<boolean> {
  const { rowCount } = await db.query(`select 1 from public.sync_runs where id = $1`, [runId]);
  return (rowCount ?? 0) > 0;
}
