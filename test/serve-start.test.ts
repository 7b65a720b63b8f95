/**
 * `serve` at start: a first full sync when the last one is older than the
 * schedule's period (here: none at all), without waiting for the cron tick;
 * none when a recent one succeeded; `start` always enqueues one, and the two
 * never make two jobs (the job key of buyer_sync.request_sync()). Its log
 * names the sheet's file as the API does, `<file>`, never its path.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HEADER } from '../src/sample/generate.ts';
import { spawnCli, useTestDatabase, waitFor, type CliProcess } from './helpers.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync serve start (営業 共有) '));
const db = useTestDatabase();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const { query } = db;
async function stop(p: CliProcess) {
  p.child.kill('SIGTERM');
  const r = await p.done;
  expect(r.code).toBe(0);
  return r;
}

describe('serve at start', () => {
  it('runs a first sync on an empty database without waiting for the tick; a second start within the period enqueues none', async () => {
    const source = path.join(dir, 'sheet.csv');
    const pad = ','.repeat(HEADER.length - 2);
    writeFileSync(
      source,
      [
        HEADER.join(','),
        ...Array.from({ length: 25 }, (_, i) => `S${String(i).padStart(5, '0')},name ${i}${pad}`),
      ].join('\n'),
    );
    // Once a year at midnight on January 1st: the tick never comes during the test.
    const env = {
      DATABASE_URL: db.url,
      SHEET_SOURCE: source,
      SYNC_CRON: '0 0 1 1 *',
      SHEET_ENCODING: undefined,
      ALERT_WEBHOOK_URL: undefined,
    };
    const first = spawnCli(['serve'], env);
    try {
      await waitFor(
        'the first sync',
        async () => (await query(`select 1 from sync_runs where status = 'succeeded' and mode = 'full'`)).length === 1,
        60_000,
      );
      expect((await query<{ n: number }>('select count(*)::int as n from buyers'))[0]!.n).toBe(25);
    } finally {
      const r = await stop(first);
      expect(r.stdout).toMatch(/enqueued a first sync of "<file>" \(job \d+\): no full sync has succeeded yet/);
      expect(r.stdout).toMatch(/sync run [0-9a-f-]{36} \(full\) of "<file>": 25 rows read/);
      expect(r.stdout).toMatch(/dashboard at http:\/\/127\.0\.0\.1:\d+\/ /);
      expect(r.stdout + r.stderr).not.toMatch(/serve start|営業/);
    }
    const again = spawnCli(['serve'], env);
    try {
      await waitFor(
        'the worker registered',
        async () => (await query('select 1 from buyer_sync_private.workers')).length === 1,
        30_000,
      );
      expect(await query(`select 1 from graphile_worker.jobs where task_identifier = 'buyers__sync'`)).toEqual([]);
      // The file gone: the failure the log shows says which file as `<file>`.
      renameSync(source, `${source}.moved`);
      await query('select buyer_sync.request_sync()');
      await waitFor(
        'the failed read logged',
        async () => /\(buyers__sync\) failed, attempt 1/.test(again.output().stdout),
        30_000,
      );
    } finally {
      const r = await stop(again);
      expect(r.stdout).not.toMatch(/enqueued a first sync/);
      expect(r.stdout).toMatch(/<file>/);
      expect(r.stdout + r.stderr).not.toMatch(/serve start|営業/);
    }
    expect(
      (
        await query<{ n: number }>(
          `select count(*)::int as n from sync_runs where mode = 'full' and status = 'succeeded'`,
        )
      )[0]!.n,
    ).toBe(1);
  });
});
