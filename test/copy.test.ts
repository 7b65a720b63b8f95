/**
 * COPY in and out (src/sync/sql/copy.ts): what the run's bulk load sends and
 * what it reads back (the content hashes it starts from) is every value
 * exactly, whatever it holds: tabs, newlines, backslashes, the text COPY
 * itself uses for null, Japanese, values long enough to cross the pieces
 * the stream arrives in.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyField, copyOut, copyRows, copyValue } from '../src/sync/sql/copy.ts';
import { useTestDatabase } from './helpers.ts';

const db = useTestDatabase();

/** Text people and programs put in cells, COPY's own escapes among it. */
const hostile = fc.oneof(
  // Any code point but NUL, which no PostgreSQL text holds.
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replaceAll('\u0000', '')) },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.constantFrom('\t', '\n', '\r', '\\', '\\N', 'N', '\\t', '東京', 'ｱ', '😀', '', 'x', ' '), {
        maxLength: 30,
      })
      .map((a) => a.join('')),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('a', '東', '\\', '\t'), fc.integer({ min: 20_000, max: 200_000 }))
      .map(([c, n]) => c.repeat(n)),
  },
);
const value = fc.option(hostile, { freq: 6 });

describe('COPY text format', () => {
  it('copyField reads back what copyValue writes, for any text and null', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(copyField(copyValue(v))).toBe(v);
      }),
      { numRuns: 300 },
    );
  });

  it('values that fill a piece to its last byte, or more than a piece, arrive whole', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('create temporary table copy_edge (n integer, a text, b text)');
      // A piece is 128 KiB: three-byte characters by the 43,690 come within a byte or two of its end.
      const sent: [number, string | null, string | null][] = [];
      for (const length of [43_689, 43_690, 43_691, 21_845, 65_536, 1, 0]) {
        for (const tail of ['', 'x', '東', '\t', null]) sent.push([sent.length, '東'.repeat(length), tail]);
      }
      await copyRows(client, 'copy copy_edge (n, a, b) from stdin', sent, 3);
      const back: (string | null)[][] = [];
      await copyOut(client, 'copy (select n, a, b from copy_edge order by n) to stdout', (fields) => back.push(fields));
      expect(back.length).toBe(sent.length);
      back.forEach((r, i) => expect(r).toEqual(sent[i]!.map((v) => (typeof v === 'number' ? String(v) : v))));
    } finally {
      client.release();
    }
  });

  it('rows sent with copyRows and read with copyOut are the same rows, in the database in between', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('create temporary table copy_trip (n integer, a text, b text)');
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(value, value), { maxLength: 25 }), async (rows) => {
          await client.query('truncate copy_trip');
          const sent = rows.map(([a, b], i) => [i, a, b] as [number, string | null, string | null]);
          await copyRows(client, 'copy copy_trip (n, a, b) from stdin', sent, 3);
          // What the database holds is exactly what was sent (read the ordinary way)…
          const { rows: held } = await client.query<{ n: number; a: string | null; b: string | null }>(
            'select n, a, b from copy_trip order by n',
          );
          expect(held.map((r) => [r.n, r.a, r.b])).toEqual(sent);
          // …and what copyOut reads back is the same.
          const back: (string | null)[][] = [];
          await copyOut(client, 'copy (select n, a, b from copy_trip order by n) to stdout', (fields) =>
            back.push(fields),
          );
          expect(back).toEqual(sent.map(([n, a, b]) => [String(n), a, b]));
        }),
        { numRuns: 100 },
      );
    } finally {
      await client.query('drop table if exists copy_trip').catch(() => undefined);
      client.release();
    }
  });
});
