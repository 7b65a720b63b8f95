/**
 * Alerts end to end, with a webhook receiver on 127.0.0.1 inside the test and
 * the real service (`buyer-sync serve`, graphile-worker) beside the real
 * command line: each alert arrives once per condition over repeated health
 * checks (the CLI and the worker racing to deliver it), is retried when the
 * receiver answers 500 or is down, clears with one resolved notice, and
 * never carries a name, phone, e-mail, address or note (canaries planted in
 * those cells). The health check's schedule is seen to fire under `serve`.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertBody } from '../src/alerts/deliver.ts';
import { HEADER } from '../src/sample/generate.ts';
import {
  createTestDatabase,
  runCli,
  spawnCli,
  waitFor,
  type CliProcess,
  type TestDatabase,
  writeCsv,
} from './helpers.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-alerts-'));
let db: TestDatabase;

interface Received {
  key: string | undefined;
  body: { type: string; severity: string; message: string; details: Record<string, unknown>; text: string };
  raw: string;
}

/** A webhook receiver: answers each POST with the next planned status (204 once the plan runs out). */
class Receiver {
  readonly received: Received[] = [];
  readonly attempts: string[] = [];
  plan: number[] = [];
  private server: Server | null = null;
  port = 0;
  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        const key = req.headers['idempotency-key'] as string | undefined;
        this.attempts.push(key ?? '');
        const status = this.plan.shift() ?? 204;
        if (status < 300) this.received.push({ key, body: JSON.parse(raw), raw });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
  }
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  get url() {
    return `http://127.0.0.1:${this.port}/hooks/buyer-sync`;
  }
  of(type: string, resolved = false) {
    return this.received.filter((r) => r.body.type === type && (r.body.details.resolved === true) === resolved);
  }
}

// Personal data in every cell that may hold it: none of it may ever reach a receiver.
const CANARY = {
  name: 'CANARY-NAME-名前',
  phone: 'CANARY-PHONE-090',
  email: 'canary-mail@example.jp',
  address: 'CANARY-ADDR-東京都',
  notes: 'CANARY-NOTE-秘密',
};
function canaryRow(key: string, over: Record<number, string> = {}): string[] {
  const cells = HEADER.map((h, i) => {
    if (i === 0) return key;
    if (over[i] !== undefined) return over[i]!;
    return (
      { Name: CANARY.name, Phone: CANARY.phone, Email: CANARY.email, Address: CANARY.address, Notes: CANARY.notes }[
        h
      ] ?? ''
    );
  });
  return cells;
}
const csv = (rows: string[][]) => writeCsv(dir, [HEADER, ...rows]);
// Twelve new buyers whose inquiry date is not a date: missing (12 > 10) and a high error rate; two good ones.
const broken = [
  ...Array.from({ length: 12 }, (_, i) => canaryRow(`A${String(i).padStart(3, '0')}`, { 5: 'sometime soon' })),
  canaryRow('G001'),
  canaryRow('G002'),
];
const fixed = [
  ...Array.from({ length: 12 }, (_, i) => canaryRow(`A${String(i).padStart(3, '0')}`, { 5: '2024-03-15' })),
  canaryRow('G001'),
  canaryRow('G002'),
];

const query = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) =>
  (await db.pool.query<T>(sql, values)).rows;
const env = (extra: Record<string, string | undefined> = {}) => ({
  DATABASE_URL: db.url,
  SHEET_ENCODING: undefined,
  ALERT_WEBHOOK_URL: undefined,
  ...extra,
});
const undelivered = async () =>
  (await query<{ n: number }>('select count(*)::int as n from sync_alerts where delivered_at is null'))[0]!.n;

const receiver = new Receiver();
let serve: CliProcess;
let sheetFile = '';

beforeAll(async () => {
  db = await createTestDatabase();
  await receiver.start();
  sheetFile = csv(broken);
  // A skipped run (a sheet found unchanged) just now: serve enqueues no first sync of its own, which would race the
  // test's CLI sync for the sync lock (the CLI's then exits 3, "another sync run is in progress").
  await db.pool.query(
    `insert into sync_runs (started_at, finished_at, status, mode, source, batch_size, total_rows, blank_rows, inserted, updated, unchanged, failed, errors_by_type, skipped_kind, skipped_because)
     values (now(), now(), 'skipped', 'full', 'seeded', 100, 0, 0, 0, 0, 0, 0, '{}', 'unchanged', 'seeded by the test: no first sync')`,
  );
  // The service, on the same sheet and webhook; its scheduled full sync never fires during the test, its health check every minute.
  serve = spawnCli(
    ['serve'],
    env({ SHEET_SOURCE: sheetFile, ALERT_WEBHOOK_URL: receiver.url, SYNC_CRON: '0 0 1 1 *', HEALTH_CRON: '* * * * *' }),
  );
  await waitFor(
    'the worker registered',
    async () => (await query('select 1 from buyer_sync_private.workers')).length > 0,
    30_000,
  );
});
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.done;
  await receiver.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('alerts at the webhook', () => {
  it('each alert arrives once per condition, with the CLI and the worker both delivering, over repeated health checks; a resolved notice when it clears', async () => {
    const sync = await runCli(['sync', '--source', sheetFile, '--json'], env({ ALERT_WEBHOOK_URL: receiver.url }));
    expect(sync.code).toBe(1);
    await waitFor(
      'both alerts delivered',
      async () =>
        receiver.of('missing_buyers').length === 1 &&
        receiver.of('high_error_rate').length === 1 &&
        (await undelivered()) === 0,
      20_000,
    );

    // Five more checks, from the CLI and from the worker: the conditions last, nothing new arrives.
    for (let i = 0; i < 3; i++) {
      const h = await runCli(['health', '--source', sheetFile, '--json'], env({ ALERT_WEBHOOK_URL: receiver.url }));
      expect(h.code).toBe(1);
      expect(JSON.parse(h.stdout)).toMatchObject({
        healthy: false,
        missing_count: 12,
        error_rate: expect.closeTo(85.71, 2),
      });
    }
    await db.pool.query(`select graphile_worker.add_job('health__check', '{}'::json)`);
    await db.pool.query(`select graphile_worker.add_job('health__check', '{}'::json)`);
    await waitFor(
      'the worker checks done',
      async () =>
        (await query(`select 1 from graphile_worker.jobs where task_identifier = 'health__check' and run_at <= now()`))
          .length === 0,
      20_000,
    );
    // Every delivery settled (none waiting, none being made): a second POST of an alert would have arrived by now.
    await waitFor(
      'the deliveries settled',
      async () =>
        (await undelivered()) === 0 &&
        (
          await query(
            `select 1 from graphile_worker.jobs where task_identifier = 'alerts__deliver' and locked_at is not null`,
          )
        ).length === 0,
      20_000,
    );
    expect(receiver.of('missing_buyers')).toHaveLength(1);
    expect(receiver.of('high_error_rate')).toHaveLength(1);
    const [missing] = receiver.of('missing_buyers');
    expect(missing!.body).toMatchObject({
      type: 'missing_buyers',
      severity: 'error',
      details: { missing_count: 12, threshold: 10 },
    });
    expect(missing!.body.text).toMatch(/^\[error\] missing_buyers: 12 buyer\(s\) on the sheet are not in the database/);
    expect(missing!.body.details.first_missing).toEqual(
      Array.from({ length: 12 }, (_, i) => `A${String(i).padStart(3, '0')}`),
    );
    // Exactly the recorded alert, sent once, under its own id.
    const [row] = await query<{
      id: string;
      type: string;
      severity: string;
      message: string;
      details: Record<string, unknown>;
    }>(`select id, type, severity, message, details from sync_alerts where type = 'missing_buyers'`);
    expect(missing!.key).toBe(row!.id);
    // The open alert follows its condition (its figures are the latest check's: when the sheet was read); the rest is what was sent.
    const sent = missing!.body.details.sheet_read_at;
    expect(missing!.body).toEqual(
      JSON.parse(JSON.stringify(alertBody({ ...row!, details: { ...row!.details, sheet_read_at: sent } }))),
    );

    // The sheet fixed: one resolved notice per condition, once.
    const fixedFile = csv(fixed);
    expect((await runCli(['sync', '--source', fixedFile], env({ ALERT_WEBHOOK_URL: receiver.url }))).code).toBe(0);
    await waitFor(
      'the notices delivered',
      async () => receiver.of('missing_buyers', true).length === 1 && receiver.of('high_error_rate', true).length === 1,
      20_000,
    );
    expect(
      (await runCli(['health', '--source', fixedFile, '--json'], env({ ALERT_WEBHOOK_URL: receiver.url }))).code,
    ).toBe(0);
    const [notice] = receiver.of('missing_buyers', true);
    expect(notice!.body).toMatchObject({ severity: 'info', details: { resolved: true, alert_id: row!.id } });
    expect(notice!.body.message).toMatch(/^resolved: 12 buyer\(s\) on the sheet are not in the database/);
    // Every alert delivered once: one accepted POST per id, delivered_at set.
    const keys = receiver.received.map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
    const { n: rows } = (await query<{ n: number }>('select count(*)::int as n from sync_alerts'))[0]!;
    expect(keys.length).toBe(rows);
    expect(await undelivered()).toBe(0);
  });

  it('a receiver answering 500 gets the alert again, with backoff, until it accepts it: delivered once, every attempt counted', async () => {
    const before = receiver.received.length;
    receiver.plan = [500, 500];
    // A permanent failure raised from SQL (as a retry round does): the worker alone delivers it.
    await db.pool.query(
      `insert into retry_queue (buyer_number, error_info, attempt_count, next_retry_at, status, resolution, resolved_at)
       values ('R500', '{"error_type": "data_type", "error_message": "row 9: column \\"Budget\\" (budget) is not an integer amount"}', 4, now(), 'failed', 'exhausted', now())`,
    );
    await waitFor('the alert accepted', async () => receiver.received.length > before, 30_000);
    const [a] = await query<{
      id: string;
      delivered_at: Date | null;
      delivery_attempts: number;
      delivery_error: string | null;
    }>(
      `select id, delivered_at, delivery_attempts, delivery_error from sync_alerts where type = 'permanent_failure' and resolves is null and details->'buyer_numbers' ? 'R500'`,
    );
    expect(a).toMatchObject({ delivered_at: expect.any(Date), delivery_attempts: 3, delivery_error: null });
    expect(receiver.attempts.filter((k) => k === a!.id)).toHaveLength(3);
    expect(receiver.received.filter((r) => r.key === a!.id)).toHaveLength(1);
    expect(receiver.received.at(-1)!.body).toMatchObject({
      type: 'permanent_failure',
      severity: 'critical',
      details: { buyer_number: 'R500', attempts: 4 },
    });
  });

  it('a receiver that is down: the command says so and exits with its own code; the worker delivers once it is back', async () => {
    await receiver.stop();
    await db.pool.query(`update buyer_sync.alert_thresholds set slow_sync_after = interval '1 millisecond'`);
    try {
      const r = await runCli(['sync', '--source', csv(fixed), '--json'], env({ ALERT_WEBHOOK_URL: receiver.url }));
      expect(r.code).toBe(0);
      // The run raised slow_sync (and resolved the permanent failure above, a notice): the first POST fails, the rest is left to the worker.
      expect(r.stderr).toMatch(
        /^buyer-sync: alert (slow_sync|permanent_failure) \([0-9a-f-]{36}\) not delivered to ALERT_WEBHOOK_URL: ECONNREFUSED; the worker \(buyer-sync serve\) tries again$/m,
      );
    } finally {
      await db.pool.query(`update buyer_sync.alert_thresholds set slow_sync_after = interval '5 minutes'`);
      await receiver.start(receiver.port);
    }
    await waitFor(
      'the slow_sync alert delivered by the worker',
      async () => receiver.of('slow_sync').length === 1,
      30_000,
    );
    const [a] = await query<{ delivery_attempts: number; delivered_at: Date | null }>(
      `select delivery_attempts, delivered_at from sync_alerts where type = 'slow_sync' and resolves is null`,
    );
    expect(a!.delivered_at).not.toBeNull();
    // The POST that failed while the receiver was down is counted (on whichever alert the command tried first).
    await waitFor('everything delivered', async () => (await undelivered()) === 0, 70_000);
    const [failed] = await query<{ n: number }>(
      `select count(*)::int as n from sync_alerts where delivery_attempts >= 2`,
    );
    expect(failed!.n).toBeGreaterThanOrEqual(1);
  });

  it('an outage of the receiver: one POST and one log line per delivery round, the next round within a minute, and the queued alerts arrive in order once it is back', async () => {
    await receiver.stop();
    const linesBefore = (serve.output().stdout.match(/alert delivery failed/g) ?? []).length;
    for (const b of ['O1', 'O2', 'O3']) {
      await db.pool.query(
        `insert into sync_alerts (type, severity, condition, message, details) values ('permanent_failure', 'critical', $1, 'outage', jsonb_build_object('buyer_number', $2::text))`,
        [`permanent_failure:${b}`, b],
      );
    }
    const rounds = async () => (serve.output().stdout.match(/alert delivery failed/g) ?? []).length - linesBefore;
    await waitFor('two failed rounds', async () => (await rounds()) >= 2, 30_000);
    // One line per round (not per alert), naming how many wait; the round's job back in the queue with its attempts whole, due within a minute.
    expect(serve.output().stdout).toMatch(
      /alert delivery failed: ALERT_WEBHOOK_URL answered ECONNREFUSED; \d+ alert\(s\) wait, next try in \d+ s/,
    );
    const tried = await query<{ n: number }>(
      `select sum(delivery_attempts)::int as n from sync_alerts where condition like 'permanent_failure:O%'`,
    );
    expect(tried[0]!.n).toBeLessThanOrEqual((await rounds()) + 1);
    // Read between rounds: a round being run holds its job (taken, so counted once) until it has queued the next.
    const jobs = await waitFor('the round back in the queue', async () => {
      const rows = await query<{ attempts: number; due_within_a_minute: boolean }>(
        `select attempts, run_at <= now() + interval '61 seconds' as due_within_a_minute from graphile_worker.jobs
          where task_identifier = 'alerts__deliver' and not exists (select 1 from graphile_worker.jobs j where j.task_identifier = 'alerts__deliver' and j.locked_at is not null)`,
      );
      return rows.length > 0 ? rows : null;
    });
    expect(jobs).toEqual([{ attempts: 0, due_within_a_minute: true }]);
    await receiver.start(receiver.port);
    // Time passes (the round due now, instead of waiting out the backoff): everything queued arrives, oldest first, once.
    await db.pool.query(
      `update graphile_worker._private_jobs set run_at = now() where task_id = (select id from graphile_worker._private_tasks where identifier = 'alerts__deliver')`,
    );
    await waitFor('the queued alerts delivered', async () => (await undelivered()) === 0, 30_000);
    const order = receiver.received.filter((r) => r.body.message === 'outage').map((r) => r.body.details.buyer_number);
    expect(order).toEqual(['O1', 'O2', 'O3']);
  });

  it("an alert reaches the webhook as the API shows it: without the sheet's address, a server path or an id", async () => {
    const file = path.join(dir, 'exports', 'buyers.csv');
    const id = '1CnryAlertSheet0123456789abcdefghijklmnopq';
    await db.pool.query(
      `insert into sync_alerts (type, severity, condition, message, details)
       values ('stale_sync', 'error', 'test:redaction', $1,
               jsonb_build_object('source', $2::text, 'error_message', $1::text, 'nested', jsonb_build_object('where', $3::text)))`,
      [`cannot read the sheet export ${file}: no such file`, file, `gsheets:${id}`],
    );
    const got = await waitFor(
      'the alert delivered',
      async () => receiver.received.find((r) => r.body.details.nested !== undefined),
      20_000,
    );
    expect(got.raw).not.toContain(path.basename(dir));
    expect(got.raw).not.toContain(id);
    expect(got.body.message).toBe('cannot read the sheet export <file>: no such file');
    expect(got.body.text).toBe('[error] stale_sync: cannot read the sheet export <file>: no such file');
    expect(got.body.details).toEqual({
      error_message: 'cannot read the sheet export <file>: no such file',
      nested: { where: 'gsheets:<id>' },
    });
  });

  it('no alert ever carries a name, phone, e-mail, address or note, nor where the sheet is', () => {
    expect(receiver.received.length).toBeGreaterThan(4);
    for (const r of receiver.received) {
      for (const canary of Object.values(CANARY)) expect(r.raw).not.toContain(canary);
      expect(r.raw).not.toContain(path.basename(dir));
    }
  });

  it('under serve the health check runs on its schedule', async () => {
    // HEALTH_CRON is every minute here; the worker's checks write sync_health_metrics rows of their own. Nothing
    // else checks health while this test waits, so a new row is the schedule's (counted from here, not from what
    // the tests before it did).
    const checks = async () => (await query<{ n: number }>('select count(*)::int as n from sync_health_metrics'))[0]!.n;
    const before = await checks();
    await waitFor('a scheduled health check', async () => (await checks()) > before, 75_000);
    expect(serve.output().stdout).toContain('health check at "* * * * *"');
  }, 90_000);
});
