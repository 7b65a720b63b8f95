/**
 * For src/sync/unchanged.ts: whether the sheet's current version differs from
 * the one the last full sync read only by buyer-sync's own report write
 * (migration 068, buyer_sync.is_own_report_version). Versions as unchanged.ts
 * records them: "<drive version> (<tab>); <fingerprint>"; everything but the
 * Drive version must be the same.
 */
import type pg from 'pg';
import { isOwnReportVersion } from './sql.ts';

export async function isOwnReportWrite(
  pool: pg.Pool,
  sourceDescription: string,
  lastVersion: string | null,
  version: string,
): Promise<boolean> {
  const m = /^gsheets:([^#!]+)/.exec(sourceDescription);
  const a = lastVersion ? /^(\d+)( .*)$/s.exec(lastVersion) : null;
  const b = /^(\d+)( .*)$/s.exec(version);
  if (!m || !a || !b || a[2] !== b[2]) return false;
  return isOwnReportVersion(pool, m[1]!, a[1]!, b[1]!);
}
