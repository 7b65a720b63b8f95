/** The mapped table (buyers), as a run reads it before writing: content hashes and size. */
import type pg from 'pg';
import { escapeIdentifier as id } from 'pg';
import type { Mapping, ResolvedColumn } from '../../mapping/mapping.ts';
import { sqlContentHash } from '../content-hash.ts';
import type { Queryable } from '../types.ts';
import { copyOut } from './copy.ts';

/**
 * Streams `buyer number -> content hash` for the whole table (with COPY: a
 * million buyers never sit in one result, nor become a million objects), or
 * for the given buyer numbers.
 */
export async function loadContentHashes(
  client: pg.ClientBase,
  mapping: Mapping,
  columns: ResolvedColumn[],
  into: (key: string, md5hex: string) => void,
  only: string[] | null,
): Promise<void> {
  const table = `public.${id(mapping.table)}`;
  const stored = await storedHashMatches(client, mapping, columns);
  const select = `select b.${id(mapping.key)}, ${stored ? 'b.content_hash' : sqlContentHash(columns)} from ${table} b`;
  if (only !== null) {
    const { rows } = await client.query<[string, string]>({
      text: `${select} where b.${id(mapping.key)} = any($1::text[])`,
      values: [only],
      rowMode: 'array',
    });
    for (const [k, h] of rows) into(k, h);
    return;
  }
  await copyOut(client, `copy (${select}) to stdout`, ([k, h]) => into(k!, h!));
}

/**
 * Whether buyers.content_hash (migrations 054, 056, 070) covers exactly the
 * mapped columns, in order and as the same types; then it is read instead of
 * hashing every row on the fly. For buyers a sync never gets here otherwise
 * (buyer_sync.mapping_problems refuses, naming `check-schema --fix`); another
 * mapped table has no stored hash and is hashed in SQL.
 */
export async function storedHashMatches(
  db: Queryable,
  mapping: Mapping,
  columns: Pick<ResolvedColumn, 'column' | 'type'>[],
): Promise<boolean> {
  if (mapping.table !== 'buyers') return false;
  const { rows } = await db.query<{ column_name: string; column_type: string }>(
    `select column_name, column_type from buyer_sync_private.content_hash_columns order by position`,
  );
  return (
    rows.length === columns.length &&
    rows.every((r, i) => r.column_name === columns[i]!.column && r.column_type === columns[i]!.type)
  );
}

/** The planner's estimate of the table's size: enough to size the run's index, without counting. */
export async function buyerCount(db: Queryable, mapping: Mapping): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select greatest(reltuples, 0)::bigint::int as n from pg_catalog.pg_class where oid = to_regclass($1)`,
    [`public.${id(mapping.table)}`],
  );
  return rows[0]?.n ?? 0;
}

/**
 * The predicate of the partial index buyers_unplain_key_idx (migration 062),
 * written exactly so, so that the planner uses the index: the buyer numbers
 * that are not printable ASCII without surrounding spaces (lookalikes.ts's PLAIN).
 */
const UNPLAIN = (column: string) => `${column} !~ '^[!-~]([ -~]*[!-~])?$'`;

/**
 * The buyer numbers a pass needs to recognize look-alikes (StoredLookalikes),
 * in one statement: every buyer number that is not plain (through the partial
 * index: a million ASCII buyers cost nothing), and, for an `only` or retry
 * pass whose index holds only the listed buyers, the buyer numbers equal to
 * the listed numbers' folds.
 */
export async function loadFoldCandidates(
  client: pg.ClientBase,
  mapping: Mapping,
  listedFolds: string[] | null,
  into: (key: string) => void,
): Promise<void> {
  const key = `b.${id(mapping.key)}`;
  const { rows } = await client.query<[string]>({
    text: `select ${key} from public.${id(mapping.table)} b where ${UNPLAIN(key)}${listedFolds ? ` or ${key} = any($1::text[])` : ''}`,
    values: listedFolds ? [listedFolds] : [],
    rowMode: 'array',
  });
  for (const [k] of rows) into(k);
}
