/**
 * What `check-schema --fix` writes when the column mapping changed: the
 * mapped columns the table lacks, added with the mapping's types, and, for
 * buyers, the content hash rebuilt over the mapping's columns (in order) by
 * buyer_sync_private.rebuild_content_hash (migration 070). The mapping is the
 * one definition of the sheet's columns; this turns it into the migration.
 */
import { escapeIdentifier as id, escapeLiteral } from 'pg';
import type { Queryable } from '../db/queryable.ts';
import type { ColumnType, Mapping } from '../mapping/mapping.ts';

export interface TypedColumn {
  column: string;
  type: ColumnType;
}

export interface MappingFix {
  table: string;
  /** Mapped columns the table does not have yet. */
  add: TypedColumn[];
  /** The content hash's columns now and as the mapping wants them; null when they agree (or the table is not buyers). */
  hash: { from: TypedColumn[]; to: TypedColumn[] } | null;
}

const same = (a: TypedColumn[], b: TypedColumn[]) =>
  a.length === b.length && a.every((c, i) => c.column === b[i]!.column && c.type === b[i]!.type);

/** What the mapping needs of the database that a migration can add; null when nothing. */
export async function mappingFix(db: Queryable, mapping: Mapping): Promise<MappingFix | null> {
  const wanted: TypedColumn[] = mapping.columns.map((c) => ({ column: c.column, type: c.type }));
  const { rows: present } = await db.query<{ column_name: string }>(
    `select a.attname::text as column_name from pg_catalog.pg_attribute a
      where a.attrelid = to_regclass(format('public.%I', $1::text)) and a.attnum > 0 and not a.attisdropped`,
    [mapping.table],
  );
  if (present.length === 0) return null; // no such table: a migration of the team's own, not a fix
  const have = new Set(present.map((r) => r.column_name));
  const add = wanted.filter((c) => !have.has(c.column));
  let hash: MappingFix['hash'] = null;
  if (mapping.table === 'buyers') {
    const { rows } = await db.query<{ column_name: string; column_type: ColumnType }>(
      `select column_name, column_type from buyer_sync_private.content_hash_columns order by position`,
    );
    const from = rows.map((r) => ({ column: r.column_name, type: r.column_type }));
    if (!same(from, wanted)) hash = { from, to: wanted };
  }
  return add.length > 0 || hash ? { table: mapping.table, add, hash } : null;
}

/** One line per change, for the migration's comment and the command's output. */
export function describeMappingFix(fix: MappingFix): string[] {
  const lines = fix.add.map((c) => `${fix.table}.${c.column} is added as ${c.type} (the column mapping reads it)`);
  if (fix.hash)
    lines.push(
      `buyers.content_hash is rebuilt over the mapped columns: ${fix.hash.to.map((c) => c.column).join(', ')}`,
    );
  return lines;
}

const rebuild = (columns: TypedColumn[]) =>
  `call buyer_sync_private.rebuild_content_hash(${escapeLiteral(JSON.stringify(columns))}::jsonb);\n`;

/** The up and down SQL of the fix: columns first, then the hash over them; undone the other way round. */
export function mappingFixSql(fix: MappingFix): { up: string; down: string } {
  const table = `public.${id(fix.table)}`;
  const add = fix.add.length
    ? `alter table ${table}\n${fix.add.map((c) => `  add column ${id(c.column)} ${c.type}`).join(',\n')};\n`
    : '';
  const drop = fix.add.length
    ? `alter table ${table}\n${fix.add.map((c) => `  drop column ${id(c.column)}`).join(',\n')};\n`
    : '';
  return {
    up: add + (fix.hash ? rebuild(fix.hash.to) : ''),
    down: (fix.hash ? rebuild(fix.hash.from) : '') + drop,
  };
}
