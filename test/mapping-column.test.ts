/**
 * A new sheet column is the column mapping plus one migration, and the
 * migration is written from the mapping: the way a newcomer adds one.
 *
 * The mapping (db/sheet-mapping.json, here a copy) gains two columns. A sync
 * is refused until the database follows: first because a column does not
 * exist, then, with the column added by hand, because buyers.content_hash
 * does not cover it (never a quietly slow sync). `check-schema --fix` writes
 * the one migration that adds what is missing and rebuilds the hash; after
 * `migrate` the sheet (generated from the same mapping) syncs exactly, with
 * the stored hash in use, and the migration's down undoes it.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMapping, resolveHeader, type Mapping } from '../src/mapping/mapping.ts';
import { projectRoot } from '../src/paths.ts';
import { DEFAULT_MAPPING, generateRows, writeCsv } from '../src/sample/generate.ts';
import { storedHashMatches } from '../src/sync/sql/buyers.ts';
import { migrationSections, readBuyers, runCli, useTestDatabase } from './helpers.ts';

const db = useTestDatabase();
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-mapping-'));
const migrationsDir = path.join(dir, 'migrations');
const mappingFile = path.join(dir, 'sheet-mapping.json');
const sheet = path.join(dir, 'sheet.csv');

const raw = JSON.parse(readFileSync(path.join(projectRoot, 'db', 'sheet-mapping.json'), 'utf8')) as {
  columns: unknown[];
};
raw.columns.push(
  { header: 'Parking', column: 'parking', type: 'text' },
  { header: 'Move-in Date', column: 'move_in_date', type: 'date' },
);
const mapping: Mapping = parseMapping(raw, mappingFile);
const env = () => ({
  DATABASE_URL: db.url,
  BUYER_SYNC_MIGRATIONS_DIR: migrationsDir,
  BUYER_SYNC_MAPPING: mappingFile,
  SHEET_ENCODING: undefined,
});

beforeAll(async () => {
  cpSync(path.join(projectRoot, 'db', 'migrations'), migrationsDir, { recursive: true });
  writeFileSync(mappingFile, JSON.stringify(raw, null, 2));
  await writeCsv(sheet, { count: 300, seed: 7, mapping });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a new sheet column', () => {
  it('is the mapping plus the migration check-schema --fix writes from it; until then a sync is refused, naming the fix', async () => {
    // The generator reads the mapping: the sheet has the new headers, filled.
    const [header, ...rows] = [...generateRows({ count: 300, seed: 7, mapping })];
    expect(header!.slice(-2)).toEqual(['Parking', 'Move-in Date']);
    expect(rows.filter((r) => r[15] !== '').length).toBe(rows.length);

    const missing = await runCli(['sync', '--source', sheet, '--json'], env());
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/buyers\.parking does not exist \(the mapping reads header "Parking" into it\)/);

    // Added by hand, as before 0.10: the column exists, but the stored hash does not cover it.
    await db.pool.query('alter table buyers add column parking text');
    const unhashed = await runCli(['sync', '--source', sheet, '--json'], env());
    expect(unhashed.code).toBe(3);
    expect(unhashed.stderr).toContain('move_in_date does not exist');
    await db.pool.query('alter table buyers add column move_in_date date');
    const slow = await runCli(['sync', '--source', sheet, '--json'], env());
    expect(slow.code).toBe(3);
    expect(slow.stderr).toMatch(
      /buyers\.content_hash does not cover the mapped columns \(the mapping adds parking, move_in_date\), so every sync would hash every stored buyer on the fly: run `npx buyer-sync check-schema --fix`/,
    );
    expect(await db.pool.query('select 1 from buyers')).toMatchObject({ rowCount: 0 });
    await db.pool.query('alter table buyers drop column parking, drop column move_in_date');

    const check = await runCli(['check-schema', '--json'], env());
    expect(check.code).toBe(1);
    expect(JSON.parse(check.stdout)).toMatchObject({
      valid: false,
      non_text_fields: [],
      errors: [
        expect.stringContaining('buyers.parking does not exist'),
        expect.stringContaining('buyers.move_in_date does not exist'),
      ],
    });

    const fix = await runCli(['check-schema', '--fix', '--json'], env());
    expect(fix.code).toBe(1);
    const file = path.resolve(projectRoot, JSON.parse(fix.stdout).migration_file as string);
    expect(path.dirname(file)).toBe(migrationsDir);
    expect(path.basename(file)).toMatch(/^\d{14}_follow_the_column_mapping\.sql$/);
    const { up, down } = migrationSections(file);
    expect(up).toContain(
      'alter table public."buyers"\n  add column "parking" text,\n  add column "move_in_date" date;',
    );
    expect(up).toContain('call buyer_sync_private.rebuild_content_hash(');

    expect((await runCli(['migrate'], env())).code).toBe(0);
    expect(JSON.parse((await runCli(['check-schema', '--json'], env())).stdout)).toEqual({
      valid: true,
      errors: [],
      non_text_fields: [],
    });
    const columns = resolveHeader(mapping, header!).columns;
    expect(await storedHashMatches(db.pool, mapping, columns)).toBe(true);
    expect(
      await storedHashMatches(db.pool, DEFAULT_MAPPING, resolveHeader(DEFAULT_MAPPING, header!.slice(0, 14)).columns),
    ).toBe(false);

    // The sheet syncs exactly, new columns included; a second run finds every row unchanged by the stored hash.
    const sync = await runCli(['sync', '--source', sheet, '--json'], env());
    expect(sync.code).toBe(0);
    expect(JSON.parse(sync.stdout)).toMatchObject({ total_rows: 300, inserted: 300, failed: 0 });
    const stored = await readBuyers(db.pool, mapping);
    for (const row of rows) {
      const values = stored.get(row[0]!)!;
      expect([values[14] ?? '', values[15]]).toEqual([row[14], row[15]]);
    }
    const again = await runCli(['sync', '--source', sheet, '--json'], env());
    expect(JSON.parse(again.stdout)).toMatchObject({ unchanged: 300, updated: 0 });

    // The down undoes it: the hash over the shipped columns again, the new columns gone.
    await db.pool.query(down);
    const back = await runCli(['check-schema', '--json'], { ...env(), BUYER_SYNC_MAPPING: undefined });
    expect(JSON.parse(back.stdout).valid).toBe(true);
    expect(
      await storedHashMatches(db.pool, DEFAULT_MAPPING, resolveHeader(DEFAULT_MAPPING, header!.slice(0, 14)).columns),
    ).toBe(true);
  });
});
