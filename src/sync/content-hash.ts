/**
 * The content hash of a buyer's mapped values: how a run tells a changed
 * sheet row from an unchanged one without reading or writing the row.
 *
 * The encoding is defined once, in SQL (buyer_sync.hash_part, migration 056:
 * `n` for null, `v<bytes>:<text>` otherwise, dates as days since 2000-01-01),
 * which the generated column buyers.content_hash uses. This module computes
 * the same from a sheet row in TypeScript, and writes the SQL that computes it
 * for a column mapping the generated column does not cover; a property test
 * holds the TypeScript and the SQL together.
 */
import { hash } from 'node:crypto';
import { escapeIdentifier } from 'pg';
import type { ColumnType, ResolvedColumn } from '../mapping/mapping.ts';

/** One value's part: `n` for null, else `v<bytes>:<text>` (a date as its days since 2000-01-01). */
export function hashPart(type: ColumnType, value: string | null, dateDays: number | null): string {
  if (value === null) return 'n';
  const text = type === 'date' ? String(dateDays) : value;
  return `v${Buffer.byteLength(text, 'utf8')}:${text}`;
}

export function contentHash(parts: string[]): string {
  return hash('md5', parts.join(''), 'hex');
}

/** The SQL expression computing the same hash from a row of the mapped table (alias `b`). */
export function sqlContentHash(columns: Pick<ResolvedColumn, 'column' | 'type'>[], alias = 'b'): string {
  const parts = columns.map(
    ({ column, type }) => `buyer_sync.hash_part(${alias}.${escapeIdentifier(column)}::${type})`,
  );
  return `md5(${parts.join(' || ')})`;
}
