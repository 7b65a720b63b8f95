/**
 * The integrity checker (design §6, Data Flow 6): reads the sheet through the
 * sync's own row rules, checks that every sheet buyer is in the database and
 * that a seeded sample matches column by column, and stores the report.
 *
 * It holds the sync lock for the whole check, so no sync writes between the
 * read and the comparison (a sync that tries meanwhile is told to try again),
 * and it refreshes the sheet snapshot the missing-buyer views compare
 * against, as any full read does.
 *
 * After a scheduled sync the worker runs it on the very copy of the sheet the
 * sync read (trigger after_sync): then any difference is the database's, not
 * an edit made since, and raises a verification_failed alert.
 */
import { randomInt } from 'node:crypto';
import type pg from 'pg';
import { CannotRunError } from '../errors.ts';
import type { Mapping } from '../mapping/mapping.ts';
import type { SheetSource } from '../sheet/source.ts';
import { openHint } from '../sync/open-hint.ts';
import { keyMaxLength } from '../sync/sql/policy.ts';
import { tryRunLock } from '../sync/sql/runs.ts';
import { replaceSheetSnapshot } from '../sync/sql/snapshot.ts';
import { compareWithDatabase } from './compare.ts';
import { lookalikeGroups } from './lookalikes.ts';
import { buildReport, storeReport, type VerificationReport, type VerificationTrigger } from './report.ts';
import { stageSheet } from './stage.ts';

export interface VerifyRequest {
  source: SheetSource;
  mapping: Mapping;
  /** Buyers to compare; null: every one. */
  sample: number | null;
  /** The sample's seed; random when absent. */
  seed?: bigint;
  trigger?: VerificationTrigger;
  /** The sync run an after_sync verification follows. */
  runId?: string | null;
  signal?: AbortSignal;
  onRows?: (rows: number) => void;
  /** Leave the source's copy of the sheet for the caller to release. */
  keepSource?: boolean;
}

/** The latest full sync that succeeded, or null. */
async function lastFullRun(client: pg.ClientBase): Promise<string | null> {
  const { rows } = await client.query<{ run_id: string }>(`select run_id from buyer_sync.last_full_sync`);
  return rows[0]?.run_id ?? null;
}

/** The buyers an open verification_failed alert found different: an after-sync verification compares them again. */
async function openMismatchedBuyers(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ buyer_number: string }>(
    `select distinct m.buyer_number from public.sync_alerts a
       join buyer_sync.verification_mismatches m on m.report_id = (a.details->>'report_id')::uuid
      where a.type = 'verification_failed' and a.resolved_at is null and a.resolves is null`,
  );
  return rows.map((r) => r.buyer_number);
}

/** A random seed for a sample (non-negative, fits every JSON reader). */
export function randomSeed(): bigint {
  return BigInt(randomInt(0, 2 ** 47));
}

/** One verification, stored; throws CannotRunError when the sheet cannot be read or a sync is running. */
export async function verifyIntegrity(pool: pg.Pool, request: VerifyRequest): Promise<VerificationReport> {
  const started = performance.now();
  const startedAt = new Date();
  const seed = request.seed ?? randomSeed();
  const { source, mapping } = request;
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('begin');
    if (!(await tryRunLock(client))) {
      throw new CannotRunError(
        'a sync run is in progress; verify when it has finished (a verification compares a database no sync is writing)',
      );
    }
    const maxKey = await keyMaxLength(client);
    const reader = await source.open(openHint(mapping, request.signal));
    let staged;
    try {
      staged = await stageSheet(client, reader, {
        mapping,
        keyMaxLength: maxKey,
        source: source.description,
        signal: request.signal,
        onRows: request.onRows,
      });
    } finally {
      await reader.close().catch(() => undefined);
    }
    await replaceSheetSnapshot(client, {
      source: source.description,
      keys: staged.keys,
      count: staged.keys.length,
      keysHash: staged.keysHash,
      runId: null,
    });
    const trigger = request.trigger ?? 'command';
    const comparison = await compareWithDatabase(client, {
      mapping,
      columns: staged.columns,
      seed,
      sample: request.sample,
      // After a sync, the rows that run could not write; by hand, the last full sync's.
      refusedIn: trigger === 'after_sync' ? (request.runId ?? null) : await lastFullRun(client),
      alwaysCompare: trigger === 'after_sync' ? await openMismatchedBuyers(client) : [],
    });
    const report = buildReport({
      source: source.description,
      trigger,
      runId: request.runId ?? null,
      spreadsheetCount: staged.spreadsheetCount,
      comparison,
      seed,
      sampleRequested: request.sample,
      startedAt,
      durationMs: performance.now() - started,
      lookalikes: await lookalikeGroups(client),
    });
    report.id = await storeReport(client, report);
    await client.query('commit');
    return report;
  } catch (err) {
    await client.query('rollback').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken);
    if (!request.keepSource) await source.release?.().catch(() => undefined);
  }
}

/** The design's IntegrityChecker (§6) by its own names, over verifyIntegrity. */
export class IntegrityChecker {
  private readonly pool: pg.Pool;
  private readonly base: Omit<VerifyRequest, 'sample'>;
  constructor(pool: pg.Pool, base: Omit<VerifyRequest, 'sample'>) {
    this.pool = pool;
    this.base = base;
  }

  /** Completeness only (every sheet buyer in the database): a verification comparing no sample. */
  async verifyCompleteness(): Promise<VerificationReport['completeness']> {
    return (await verifyIntegrity(this.pool, { ...this.base, sample: 0 })).completeness;
  }

  async verifySampleData(sampleSize: number): Promise<VerificationReport['accuracy']> {
    return (await verifyIntegrity(this.pool, { ...this.base, sample: sampleSize })).accuracy;
  }

  async generateReport(sampleSize: number | null = null): Promise<VerificationReport> {
    return verifyIntegrity(this.pool, { ...this.base, sample: sampleSize });
  }
}
