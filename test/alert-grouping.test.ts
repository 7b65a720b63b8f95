/**
 * Alerts by condition (migration 067): the permanent failures of one run
 * share one alert that counts them and names every buyer
 * (details.buyer_numbers, complete; the message names the first 50), sent
 * once (one row: delivery rounds POST each undelivered row once, and the
 * updates that add buyers insert nothing), and resolved once every buyer it names has cleared, with one
 * notice. Property 15 holds: every permanently failed buyer is named by an
 * alert. Rows a full sync rejected for good raise one rows_rejected alert,
 * resolved by a full sync that rejects none.
 */
import { expect, it } from 'vitest';
import { useTestDatabase } from './helpers.ts';

const db = useTestDatabase();

const q = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) =>
  (await db.pool.query<T>(sql, values)).rows;

async function run(status = 'succeeded', ago = '0 minutes'): Promise<string> {
  const [r] = await q<{ id: string }>(
    `insert into sync_runs (started_at, finished_at, status, mode, source, batch_size, total_rows, blank_rows, inserted, updated, unchanged, failed, errors_by_type)
     values (now() - $2::interval, now() - $2::interval, $1, 'full', 'x.csv', 100, 0, 0, 0, 0, 0, 0, '{}') returning id`,
    [status, ago],
  );
  return r!.id;
}

async function failForGood(runId: string, buyers: string[]): Promise<void> {
  // One statement per buyer, as a retry round closes them one by one.
  for (const b of buyers) {
    await q(
      `insert into retry_queue (buyer_number, error_info, attempt_count, next_retry_at, status, last_run_id, resolution, row_number)
       values ($1, '{"error_type": "data_type", "column_name": "budget", "error_message": "row 2: Budget is not an amount"}', 4, now(), 'failed', $2, 'exhausted', 2)`,
      [b, runId],
    );
  }
}

const open = (type: string) =>
  q<{
    id: string;
    condition: string;
    message: string;
    details: { buyer_numbers: string[]; count: number; capped: boolean; buyers: unknown[] };
  }>(
    `select id, condition, message, details from sync_alerts where type = $1 and resolved_at is null and resolves is null order by created_at`,
    [type],
  );

it('one alert per run names every buyer that failed for good (capped in the message, complete in details), is sent once and resolves when all have cleared', async () => {
  const buyers = Array.from({ length: 60 }, (_, i) => `G${String(i + 1).padStart(3, '0')}`);
  // On the sheet (a buyer gone from the sheet clears by the next full sync).
  await q(
    `insert into buyer_sync_private.sheet_buyers (buyer_number, row_number) select b, k + 1 from unnest($1::text[]) with ordinality u(b, k)`,
    [[...buyers, 'H001']],
  );
  const r1 = await run();
  await failForGood(r1, buyers);
  const [alert, ...others] = await open('permanent_failure');
  expect(others).toEqual([]);
  expect(alert!.condition).toBe(`permanent_failure:run:${r1}`);
  expect(alert!.details).toMatchObject({ count: 60, capped: true, buyer_numbers: buyers });
  expect(alert!.details.buyers).toHaveLength(50);
  expect(alert!.message).toMatch(/^60 buyers could not be synced and failed for good: G001, G002, .*G050 and 10 more;/);
  expect(alert!.message).not.toContain('G051');
  // Sent once: one row (delivery rounds POST each undelivered row once; the updates that added buyers insert nothing).
  expect(
    (await q<{ n: number }>(`select count(*)::int as n from sync_alerts where type = 'permanent_failure'`))[0]!.n,
  ).toBe(1);

  // Another run: its own alert; a buyer the first names is not named again.
  const r2 = await run();
  await failForGood(r2, ['G001', 'H001']);
  const both = await open('permanent_failure');
  expect(both.map((a) => a.details.buyer_numbers)).toEqual([buyers, ['H001']]);
  expect(both[1]!.message).toMatch(
    /^buyer H001 could not be synced after 4 attempt\(s\): row 2: Budget is not an amount;/,
  );
  // Property 15: every buyer that failed for good is named by an open alert.
  const named = new Set(both.flatMap((a) => a.details.buyer_numbers));
  for (const { buyer_number } of await q<{ buyer_number: string }>(
    `select buyer_number from retry_queue where status = 'failed'`,
  ))
    expect(named.has(buyer_number)).toBe(true);
  // The dashboard counts buyers, not alerts.
  expect((await q<{ n: number }>(`select permanent_failures as n from buyer_sync.dashboard_summary`))[0]!.n).toBe(61);

  // All but one of the first run's buyers written since: still open; the last one too: resolved, with one notice.
  await q(
    `insert into buyers (buyer_number, created_at) select b, clock_timestamp() + interval '1 second' from unnest($1::text[]) b`,
    [buyers.slice(1)],
  );
  await q(`select * from buyer_sync.evaluate_alerts()`);
  expect((await open('permanent_failure')).map((a) => a.details.count)).toEqual([60, 1]);
  await q(`insert into buyers (buyer_number, created_at) values ('G001', clock_timestamp() + interval '1 second')`);
  const raised = await q<{ type: string; resolves: string | null; details: { now: { count: number } } }>(
    `select * from buyer_sync.evaluate_alerts()`,
  );
  expect(raised.filter((a) => a.type === 'permanent_failure')).toEqual([
    expect.objectContaining({
      resolves: alert!.id,
      details: expect.objectContaining({ now: expect.objectContaining({ count: 60 }) }),
    }),
  ]);
  expect((await open('permanent_failure')).map((a) => a.details.buyer_numbers)).toEqual([['H001']]);
}, 60_000);

it('rows a full sync rejected for good raise one rows_rejected alert naming rows and buyer numbers; a full sync with none resolves it', async () => {
  const r = await run('succeeded', '-1 minute');
  await q(
    `insert into sync_error_log (buyer_number, row_number, error_message, error_type, run_id)
     select case when g % 2 = 0 then 'D' || g end, g + 1, 'duplicate or missing buyer number', 'constraint_violation', $1::uuid from generate_series(1, 70) g`,
    [r],
  );
  await q(`select * from buyer_sync.evaluate_alerts()`);
  const [alert, ...more] = await open('rows_rejected');
  expect(more).toEqual([]);
  expect(alert!.details).toMatchObject({ count: 70, capped: true, run_id: r });
  expect((alert!.details as unknown as { rows: unknown[] }).rows).toHaveLength(50);
  expect(alert!.message).toMatch(
    /^the last full sync rejected 70 sheet row\(s\) for good .*: row 2 \(no buyer number\), row 3 \(D2\), .* and 60 more;/,
  );
  expect(
    (await q<{ severity: string }>(`select severity from sync_alerts where id = $1`, [alert!.id]))[0]!.severity,
  ).toBe('error');
  // The next full sync rejects none: resolved.
  await run('succeeded', '-2 minutes');
  await q(`select * from buyer_sync.evaluate_alerts()`);
  expect(await open('rows_rejected')).toEqual([]);
  expect(
    (
      await q<{ n: number }>(
        `select count(*)::int as n from sync_alerts where type = 'rows_rejected' and resolves = $1`,
        [alert!.id],
      )
    )[0]!.n,
  ).toBe(1);
});
