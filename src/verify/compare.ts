/**
 * The verification's comparison, in SQL over the staged sheet (stage.ts):
 *
 * - completeness: the sheet's buyer numbers missing from buyers, and the
 *   buyers no longer on the sheet, by set difference (NOT EXISTS both ways);
 * - accuracy: a seeded sample of the buyers that are in both, whose sheet row
 *   the sync can write, compared column by column with IS DISTINCT FROM on
 *   the typed values (a date is a date, an amount a bigint, text is exact).
 *   The sample is the buyers with the lowest md5(seed:buyer number): the same
 *   seed over the same sheet draws the same buyers, whatever the row order.
 *
 * Buyers whose every sheet row breaks a rule, or whose row the database
 * refused in the sync run, cannot be compared (the sync keeps their last good
 * values and logs the row): they are counted as unverifiable, and their
 * failures are in the error log. Buyers an open verification_failed alert
 * names are always compared, so that the alert resolves only once they match.
 */
import { escapeIdentifier as id } from 'pg';
import type pg from 'pg';
import type { Mapping, ResolvedColumn } from '../mapping/mapping.ts';
import { pgLiteral } from '../sync/sql/pg-array.ts';

/** At most this many mismatches are listed (and stored) per report; all are counted. */
export const MISMATCH_LIST_LIMIT = 1000;
/** A compared value longer than this is shown cut, with its length. */
const VALUE_SHOWN = 1000;

export interface Mismatch {
  buyerNumber: string;
  field: string;
  spreadsheetValue: string | null;
  databaseValue: string | null;
}

export interface Comparison {
  databaseCount: number;
  missing: { buyerNumber: string; rowNumber: number }[];
  extra: string[];
  unverifiable: { buyerNumber: string; rowNumber: number }[];
  sampleSize: number;
  mismatchCount: number;
  mismatchedBuyers: number;
  /** The first MISMATCH_LIST_LIMIT, in sample order, then column order. */
  mismatches: Mismatch[];
}

function shown(value: string | null): string | null {
  if (value === null || value.length <= VALUE_SHOWN) return value;
  return `${value.slice(0, VALUE_SHOWN)}… (${value.length.toLocaleString('en-US')} characters)`;
}

/** A typed column as text for the report: dates as YYYY-MM-DD whatever DateStyle says. */
function asText(alias: string, c: ResolvedColumn): string {
  const col = `${alias}.${id(c.column)}`;
  return c.type === 'date' ? `to_char(${col}, 'YYYY-MM-DD')` : `${col}::text`;
}

export async function compareWithDatabase(
  client: pg.ClientBase,
  a: {
    mapping: Mapping;
    columns: ResolvedColumn[];
    seed: bigint;
    sample: number | null;
    /** The sync run whose refused rows are not compared (the database refused them: it keeps the old values, the run logged why). */
    refusedIn: string | null;
    /** Buyers compared whatever the sample draws (the ones an open verification_failed alert names). */
    alwaysCompare: string[];
  },
): Promise<Comparison> {
  const table = `public.${id(a.mapping.table)}`;
  const key = id(a.mapping.key);

  const { rows: counts } = await client.query<{ n: number }>(`select count(*)::int as n from ${table}`);
  const { rows: missing } = await client.query<{ buyer_number: string; row_number: number }>(
    `select k.buyer_number, k.row_number from pg_temp.verify_keys k
      where not exists (select 1 from ${table} b where b.${key} = k.buyer_number)
      order by k.row_number`,
  );
  const { rows: extra } = await client.query<{ buyer_number: string }>(
    `select b.${key} as buyer_number from ${table} b
      where not exists (select 1 from pg_temp.verify_keys k where k.buyer_number = b.${key})
      order by b.${key}`,
  );
  // Rows the rules accept that the database refused in the run (a constraint, a trigger): the sync could not write them either.
  await client.query(
    `create temporary table verify_refused on commit drop as
     select r.${key} as buyer_number from pg_temp.verify_rows r
      where exists (select 1 from public.sync_error_log e
                     where e.run_id = $1 and e.buyer_number = r.${key} and e.row_number = r.row_number)`,
    [a.refusedIn],
  );
  const { rows: unverifiable } = await client.query<{ buyer_number: string; row_number: number }>(
    `select k.buyer_number, k.row_number from pg_temp.verify_keys k
      where exists (select 1 from ${table} b where b.${key} = k.buyer_number)
        and (not exists (select 1 from pg_temp.verify_rows r where r.${key} = k.buyer_number)
             or exists (select 1 from pg_temp.verify_refused f where f.buyer_number = k.buyer_number))
      order by k.row_number`,
  );

  const comparable = `exists (select 1 from ${table} b where b.${key} = r.${key})
        and not exists (select 1 from pg_temp.verify_refused f where f.buyer_number = r.${key})`;
  await client.query(
    `create temporary table verify_sample on commit drop as
     select r.*, md5($1::text || ':' || r.${key}) as pick from pg_temp.verify_rows r
      where ${comparable} and r.${key} = any($3::text[])
     union
     (select r.*, md5($1::text || ':' || r.${key}) as pick from pg_temp.verify_rows r
       where ${comparable}
       order by pick, r.${key}
       limit $2)`,
    [a.seed.toString(), a.sample, a.alwaysCompare],
  );
  const compared = a.columns.filter((c) => c.column !== a.mapping.key);
  const { rows: sampled } = await client.query<{ n: number }>(`select count(*)::int as n from pg_temp.verify_sample`);
  let mismatchCount = 0;
  let mismatchedBuyers = 0;
  let mismatches: Mismatch[] = [];
  if (compared.length > 0) {
    const values = compared
      .map(
        (c, i) =>
          `(${i + 1}, ${pgLiteral(c.column)}, ${asText('s', c)}, ${asText('b', c)}, s.${id(c.column)} is distinct from b.${id(c.column)})`,
      )
      .join(',\n              ');
    await client.query(
      `create temporary table verify_mismatches on commit drop as
       select s.${key} as buyer_number, s.pick, f.ord, f.field, f.spreadsheet_value, f.database_value
         from pg_temp.verify_sample s
         join ${table} b on b.${key} = s.${key}
         cross join lateral (values
              ${values}
         ) f(ord, field, spreadsheet_value, database_value, differs)
        where f.differs`,
    );
    const { rows: n } = await client.query<{ n: number; buyers: number }>(
      `select count(*)::int as n, count(distinct buyer_number)::int as buyers from pg_temp.verify_mismatches`,
    );
    mismatchCount = n[0]!.n;
    mismatchedBuyers = n[0]!.buyers;
    const { rows } = await client.query<{
      buyer_number: string;
      field: string;
      spreadsheet_value: string | null;
      database_value: string | null;
    }>(
      `select buyer_number, field, spreadsheet_value, database_value from pg_temp.verify_mismatches
        order by pick, buyer_number, ord limit $1`,
      [MISMATCH_LIST_LIMIT],
    );
    mismatches = rows.map((r) => ({
      buyerNumber: r.buyer_number,
      field: r.field,
      spreadsheetValue: shown(r.spreadsheet_value),
      databaseValue: shown(r.database_value),
    }));
  }
  return {
    databaseCount: counts[0]!.n,
    missing: missing.map((r) => ({ buyerNumber: r.buyer_number, rowNumber: r.row_number })),
    extra: extra.map((r) => r.buyer_number),
    unverifiable: unverifiable.map((r) => ({ buyerNumber: r.buyer_number, rowNumber: r.row_number })),
    sampleSize: sampled[0]!.n,
    mismatchCount,
    mismatchedBuyers,
    mismatches,
  };
}
