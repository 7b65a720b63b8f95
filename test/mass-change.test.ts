/**
 * The mass-change guard and the record of every run, through the command
 * line as operators run it: a run that would update more than
 * SYNC_MAX_CHANGED_PERCENT of the existing buyers (and at least
 * SYNC_MAX_CHANGED_MIN) is refused before it commits (exit 3, nothing
 * written, recorded, one mass_change alert per condition), a dry run says
 * what the guard would do, and --allow-mass-change or a one-shot approval
 * lets it through. A run that finds the sync lock held is recorded as a
 * skipped (busy) run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { HEADER } from '../src/sample/generate.ts';
import { readBuyers, resetSyncState, runCli, useTestDatabase, writeCsv } from './helpers.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-guard-'));
const db = useTestDatabase();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  await resetSyncState(db.pool);
  await db.pool.query('truncate buyers, sync_alerts, buyer_sync_private.mass_change_approvals cascade');
});

const env = (extra: Record<string, string | undefined> = {}) => ({
  DATABASE_URL: db.url,
  SHEET_SOURCE: undefined,
  ALERT_WEBHOOK_URL: undefined,
  ...extra,
});
const NAME = HEADER.indexOf('Name');
const NOTES = HEADER.indexOf('Notes');
const key = (i: number) => `G${String(i).padStart(5, '0')}`;

/** 200 buyers; the first `renamed` of them with another name (a person's name is personal data: it must never show in a message). */
function sheet(renamed = 0, marker = 'Renamed'): string {
  const rows = [HEADER];
  for (let i = 0; i < 200; i++) {
    const r = HEADER.map(() => '');
    r[0] = key(i);
    r[NAME] = i < renamed ? `${marker} Person ${i}` : `Person ${i}`;
    r[NOTES] = `note ${i}`;
    rows.push(r);
  }
  return writeCsv(dir, rows);
}

async function openAlerts(type: string) {
  const { rows } = await db.pool.query<{ id: string; message: string; details: Record<string, unknown> }>(
    `select id, message, details from sync_alerts where type = $1 and resolved_at is null and resolves is null`,
    [type],
  );
  return rows;
}

async function latestRun() {
  const { rows } = await db.pool.query<{
    status: string;
    failure: string | null;
    skipped_kind: string | null;
    skipped_because: string | null;
    error_message: string | null;
  }>(
    `select status, failure, skipped_kind, skipped_because, error_message from sync_runs order by started_at desc limit 1`,
  );
  return rows[0]!;
}

describe('the mass-change guard', () => {
  it('refuses a run that would update 30 % of the buyers: exit 3, nothing written, recorded, one alert with counts and columns, no values', async () => {
    expect((await runCli(['sync', '--source', sheet()], env())).code).toBe(0);
    const before = await readBuyers(db.pool);

    const file = sheet(60);
    const r = await runCli(['sync', '--source', file, '--json'], env());
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('the mass-change guard refused it');
    expect(r.stderr).toContain('it would update 60 of the 200 buyers in the database (30 %');
    expect(r.stderr).toContain('--allow-mass-change');
    expect(r.stderr).not.toContain('Renamed Person');
    expect(await readBuyers(db.pool)).toEqual(before);

    const run = await latestRun();
    expect(run).toMatchObject({ status: 'failed', failure: 'mass_change' });
    expect(run.error_message).toContain('most changed: name (60)');

    const alerts = await openAlerts('mass_change');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.details).toMatchObject({
      updated: 60,
      existing: 200,
      percent: 30,
      max_percent: 25,
      min: 50,
      columns: [{ column: 'name', buyers: 60 }],
    });
    expect(JSON.stringify(alerts[0])).not.toContain('Renamed Person');

    // Refused again: still one alert (one per condition), its figures those of the latest refusal.
    expect((await runCli(['sync', '--source', sheet(70, 'Other')], env())).code).toBe(3);
    const again = await openAlerts('mass_change');
    expect(again).toHaveLength(1);
    expect(again[0]!.id).toBe(alerts[0]!.id);
    expect(again[0]!.details).toMatchObject({ updated: 70 });
    expect(await readBuyers(db.pool)).toEqual(before);
  });

  it('--dry-run reports what the guard would say, and writes nothing', async () => {
    expect((await runCli(['sync', '--source', sheet()], env())).code).toBe(0);
    const before = await readBuyers(db.pool);
    const file = sheet(60);
    const json = await runCli(['sync', '--source', file, '--dry-run', '--json'], env());
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).mass_change).toMatchObject({
      would_refuse: true,
      updated: 60,
      existing: 200,
      percent: 30,
      columns: [{ column: 'name', buyers: 60 }],
    });
    const text = await runCli(['sync', '--source', file, '--dry-run'], env());
    expect(text.stdout).toContain('mass-change guard: refused: it would update 60 of the 200 buyers');
    expect(text.stdout).toContain('Without --dry-run the run would be refused');
    const within = await runCli(['sync', '--source', sheet(10), '--dry-run', '--json'], env());
    expect(JSON.parse(within.stdout).mass_change).toMatchObject({ would_refuse: false, updated: 10, percent: 5 });
    expect(await readBuyers(db.pool)).toEqual(before);
    expect(await openAlerts('mass_change')).toHaveLength(0);
  });

  it('--allow-mass-change lets the run through, and the open alert resolves', async () => {
    expect((await runCli(['sync', '--source', sheet()], env())).code).toBe(0);
    const file = sheet(60);
    expect((await runCli(['sync', '--source', file], env())).code).toBe(3);
    expect(await openAlerts('mass_change')).toHaveLength(1);
    const r = await runCli(['sync', '--source', file, '--allow-mass-change', '--json'], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ updated: 60, unchanged: 140 });
    expect(r.stderr).toContain('the mass-change guard let this run through (--allow-mass-change)');
    expect((await readBuyers(db.pool)).get(key(0))).toContain('Renamed Person 0');
    expect(await openAlerts('mass_change')).toHaveLength(0);
    const { rows } = await db.pool.query(
      `select count(*)::int as n from sync_alerts where type = 'mass_change' and resolves is not null`,
    );
    expect(rows[0].n).toBe(1);
  });

  it('a one-shot approval from SQL (as the operator role) lets exactly the next such run through', async () => {
    expect((await runCli(['sync', '--source', sheet()], env())).code).toBe(0);
    expect((await runCli(['sync', '--source', sheet(60)], env())).code).toBe(3);

    // The dashboard's role may approve; a role without it may not.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('begin');
      await client.query('set local role buyer_sync_dashboard');
      await expect(client.query('select buyer_sync.approve_mass_change()')).rejects.toMatchObject({ code: '42501' });
      await client.query('rollback');
      await client.query('begin');
      await client.query('set local role buyer_sync_operator');
      const { rows } = await client.query<{ id: string }>('select buyer_sync.approve_mass_change() as id');
      await client.query('commit');
      expect(rows[0]!.id).toMatch(/^\d+$/);
    } finally {
      await client.end();
    }

    const r = await runCli(['sync', '--source', sheet(60), '--json'], env());
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/let this run through \(approval \d+\)/);
    const used = await db.pool.query(`select used_by_run from buyer_sync_private.mass_change_approvals`);
    expect(used.rows[0].used_by_run).toBe(JSON.parse(r.stdout).run_id);

    // Used: the next mass change is refused again.
    expect((await runCli(['sync', '--source', sheet(120, 'Again')], env())).code).toBe(3);
  });

  it('a dry run does not use up an approval', async () => {
    expect((await runCli(['sync', '--source', sheet()], env())).code).toBe(0);
    await db.pool.query('select buyer_sync.approve_mass_change()');
    const dry = await runCli(['sync', '--source', sheet(60), '--dry-run', '--json'], env());
    expect(JSON.parse(dry.stdout).mass_change).toMatchObject({ would_refuse: false, updated: 60 });
    const open = await db.pool.query(
      `select count(*)::int as n from buyer_sync_private.mass_change_approvals where used_at is null`,
    );
    expect(open.rows[0].n).toBe(1);
  });

  it('a 5 % update passes; the limits come from SYNC_MAX_CHANGED_PERCENT and SYNC_MAX_CHANGED_MIN', async () => {
    const baseline = async () => {
      await db.pool.query('truncate buyers');
      expect((await runCli(['sync', '--source', sheet()], env())).code).toBe(0);
    };
    await baseline();
    const small = await runCli(['sync', '--source', sheet(10), '--json'], env());
    expect(small.code).toBe(0);
    expect(JSON.parse(small.stdout)).toMatchObject({ updated: 10 });

    await baseline();
    const wider = await runCli(['sync', '--source', sheet(60), '--json'], env({ SYNC_MAX_CHANGED_PERCENT: '50' }));
    expect(wider.code).toBe(0);
    expect(JSON.parse(wider.stdout)).toMatchObject({ updated: 60 });

    // Under the minimum count any share passes: 40 of 200 is 20 %, above a 10 % limit, but fewer than 50 buyers.
    await baseline();
    const fewer = await runCli(['sync', '--source', sheet(40), '--json'], env({ SYNC_MAX_CHANGED_PERCENT: '10' }));
    expect(fewer.code).toBe(0);
    expect(JSON.parse(fewer.stdout)).toMatchObject({ updated: 40 });
    await baseline();
    const tight = await runCli(
      ['sync', '--source', sheet(40)],
      env({ SYNC_MAX_CHANGED_PERCENT: '10', SYNC_MAX_CHANGED_MIN: '20' }),
    );
    expect(tight.code).toBe(3);

    const bad = await runCli(['sync', '--source', sheet()], env({ SYNC_MAX_CHANGED_PERCENT: 'lots' }));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('SYNC_MAX_CHANGED_PERCENT must be a percentage from 0 to 100');
  });
});

describe('every run leaves a record', () => {
  it('a sync that finds the lock held exits 3 and is recorded as a skipped (busy) run, naming the run that holds it', async () => {
    const file = sheet();
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      // What a running sync holds: the sync lock, and its run record marked running.
      await holder.query('select pg_advisory_lock(7340001)');
      const { rows } = await db.pool.query<{ id: string }>(
        `insert into sync_runs (mode, source, batch_size) values ('full', 'elsewhere.csv', 100) returning id`,
      );
      const r = await runCli(['sync', '--source', file], env());
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('another sync run is in progress');
      expect(r.stderr).toContain(rows[0]!.id);
      const recorded = await db.pool.query<{
        id: string;
        status: string;
        skipped_kind: string;
        skipped_because: string;
        mode: string;
      }>(`select id, status, skipped_kind, skipped_because, mode from sync_runs where status = 'skipped'`);
      expect(recorded.rows).toHaveLength(1);
      expect(recorded.rows[0]).toMatchObject({ status: 'skipped', skipped_kind: 'busy', mode: 'full' });
      expect(recorded.rows[0]!.skipped_because).toContain(`another sync run (${rows[0]!.id}, full) held the sync lock`);
      expect(r.stderr).toContain(`recorded as skipped run ${recorded.rows[0]!.id}`);
      await db.pool.query(`delete from sync_runs where id = $1`, [rows[0]!.id]);
    } finally {
      await holder.end();
    }
    expect(await db.pool.query('select count(*)::int as n from buyers').then((x) => x.rows[0].n)).toBe(0);
    // A busy run says nothing about the sheet being in the database: it never counts as a full read.
    const { rows: seen } = await db.pool.query(
      `select details->>'last_seen_unchanged_at' as seen from buyer_sync.health_conditions() where type = 'stale_sync'`,
    );
    expect(seen[0].seen).toBeNull();
  });
});
