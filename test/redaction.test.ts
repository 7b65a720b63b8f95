/**
 * One redaction, everywhere (migration 067): for random sources (spreadsheet
 * ids, Google URLs, POSIX, Windows and UNC paths with canary directory
 * names, connection strings) written into every place a text leaves through
 * the API (run error messages, skipped_because, error-log messages, retry
 * entries, alert messages and details, the verification summary, and so the
 * verdict's reason), no row of any buyer_sync_api view or function, read as
 * the dashboard's role, contains a canary. And the service log's redaction
 * (src/redact.ts, in TypeScript so the log works with the database gone)
 * is the API's, text for text.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { redactIds } from '../src/redact.ts';
import { useTestDatabase } from './helpers.ts';

const db = useTestDatabase();

const word = fc.stringMatching(/^[A-Za-z0-9_-]{3,12}$/);
const idChars = fc.stringMatching(/^[A-Za-z0-9_-]{38}$/);
/** A canary: a text that must never reach the API, and the place it hides in. */
const leakArb = fc
  .record({ canary: fc.stringMatching(/^[A-Z][a-z]{5,9}$/).map((s) => `Cnry${s}`), salt: word })
  .chain(({ canary, salt }) =>
    fc.oneof(
      idChars.map((id) => ({
        canary: `1${canary}${id}`.slice(0, 44),
        text: (c: string) => `spreadsheet ${c} was not found`,
        source: (c: string) => `gsheets:${c}`,
      })),
      idChars.map((id) => ({
        canary: `1${canary}${id}`.slice(0, 44),
        text: (c: string) => `GET https://docs.google.com/spreadsheets/d/${c}/edit#gid=0 answered 404`,
        source: (c: string) => `gsheets:${c}`,
      })),
      fc.constant({
        canary,
        text: (c: string) => `could not open /tmp/${salt}/${c}/private-buyers.csv: ENOENT`,
        source: (c: string) => `/tmp/${salt}/${c}/private-buyers.csv`,
      }),
      fc.constant({
        canary,
        text: (c: string) => `could not open '/home/${c} docs/buyers list.csv'`,
        source: (c: string) => `/home/${c} docs/buyers list.csv`,
      }),
      fc.constant({
        canary,
        text: (c: string) => `cannot read C:\\Users\\${c}\\Desktop\\buyers.csv (EACCES)`,
        source: (c: string) => `C:\\Users\\${c}\\Desktop\\buyers.csv`,
      }),
      fc.constant({
        canary,
        text: (c: string) => `share \\\\fileserver\\${c}\\buyers.csv is offline`,
        source: (c: string) => `\\\\fileserver\\${c}\\buyers.csv`,
      }),
      fc.constant({
        canary,
        text: (c: string) => `database postgres://sync:${c}@db.internal:5432/buyers refused`,
        source: (c: string) => `/srv/${c}/b.csv`,
      }),
    ),
  );

it('no API field, read as the dashboard, shows a spreadsheet id, URL, path or connection string', async () => {
  const c = await db.pool.connect();
  try {
    const { rows: views } = await c.query<{ name: string }>(
      `select table_name as name from information_schema.views where table_schema = 'buyer_sync_api' order by 1`,
    );
    expect(views.map((v) => v.name)).toEqual(
      expect.arrayContaining([
        'alerts',
        'current_verdict',
        'recent_errors',
        'recent_runs',
        'retry_entries',
        'verification',
        'dashboard_summary',
      ]),
    );
    await fc.assert(
      fc.asyncProperty(leakArb, async (leak) => {
        const text = leak.text(leak.canary);
        const source = leak.source(leak.canary);
        await c.query('begin');
        try {
          const {
            rows: [run],
          } = await c.query<{ id: string }>(
            `insert into sync_runs (started_at, finished_at, status, mode, source, batch_size, total_rows, blank_rows, inserted, updated, unchanged, failed, errors_by_type, failure, error_message, error_type)
             values (now(), now(), 'failed', 'full', $1, 100, 0, 0, 0, 0, 0, 0, '{}', 'sheet', $2, 'unknown') returning id`,
            [source, text],
          );
          await c.query(
            `insert into sync_runs (started_at, finished_at, status, mode, source, batch_size, total_rows, blank_rows, inserted, updated, unchanged, failed, errors_by_type, skipped_kind, skipped_because)
             values (now() - interval '1 minute', now(), 'skipped', 'full', $1, 100, 0, 0, 0, 0, 0, 0, '{}', 'busy', $2)`,
            [source, text],
          );
          await c.query(
            `insert into sync_error_log (buyer_number, row_number, error_message, error_type, run_id) values ('B1', 2, $1, 'unknown', $2)`,
            [text, run!.id],
          );
          await c.query(
            `insert into retry_queue (buyer_number, error_info, attempt_count, next_retry_at, status, last_run_id, source)
             values ('B2', jsonb_build_object('error_type', 'transient', 'error_message', $1::text), 1, now(), 'pending', $2, $3)`,
            [text, run!.id, source],
          );
          await c.query(
            `insert into sync_alerts (type, severity, condition, message, details, delivery_error)
             values ('stale_sync', 'error', 'stale_sync', $1, jsonb_build_object('error_message', $1::text, 'where', $2::text, 'nested', jsonb_build_object('path', $2::text)), $1)`,
            [text, source],
          );
          await c.query(
            `insert into buyer_sync.verification_reports (source, trigger, seed, sample_size, spreadsheet_count, database_count, missing_count, extra_count, unverifiable_count, mismatch_count, mismatched_buyers, complete, accurate, passed, summary, duration_ms)
             values ($1, 'command', 1, 0, 0, 0, 0, 0, 0, 0, 0, true, true, true, $2, 1)`,
            [source, text],
          );
          await c.query('set local role buyer_sync_dashboard');
          const out: string[] = [];
          for (const v of views)
            out.push(JSON.stringify((await c.query(`select * from buyer_sync_api.${v.name}`)).rows));
          for (const f of ['summary', 'latest_verification', 'verdict'])
            out.push(JSON.stringify((await c.query(`select * from buyer_sync_api.${f}()`)).rows));
          const all = out.join('\n');
          expect(all).not.toContain(leak.canary);
          // The texts are there, redacted: the failed run's reason reads as a reason.
          expect(all).toMatch(/<(file|url|id|connection)>/);
        } finally {
          await c.query('rollback');
        }
      }),
      { numRuns: 100 },
    );
  } finally {
    c.release();
  }
}, 120_000);

it("the service log's redaction (src/redact.ts) is the API's (buyer_sync_private.redact_ids), text for text", async () => {
  // ASCII only: PostgreSQL's \s and case folding outside ASCII follow the database's locale, JavaScript's do not.
  const noise = fc.string({
    unit: fc.constantFrom(...`abcsXYZ019_-./\\:'" =,;(){}[]<>@+~\t\n`.split('')),
    maxLength: 20,
  });
  const fragment = fc.oneof(
    noise,
    leakArb.map((l) => l.text(l.canary)),
    leakArb.map((l) => l.source(l.canary)),
    fc.constantFrom(
      'spreadsheet ',
      'Sheet: "',
      "SPREADSHEET '",
      'sheet=',
      'document ',
      'password=',
      'PWD=',
      'gsheets:',
      'C:\\',
      '\\\\',
      '~/',
      '/',
      'https://',
      'Postgres://',
      'amqps://',
      'x:',
    ),
    fc.stringMatching(/^[A-Za-z0-9_-]{18,45}$/),
  );
  const texts = fc.array(
    fc.array(fragment, { maxLength: 6 }).map((a) => a.join('')),
    { minLength: 1, maxLength: 40 },
  );
  await fc.assert(
    fc.asyncProperty(texts, async (batch) => {
      const { rows } = await db.pool.query<{ r: string }>(
        'select buyer_sync_private.redact_ids(t) as r from unnest($1::text[]) with ordinality as u(t, i) order by i',
        [batch],
      );
      expect(batch.map(redactIds)).toEqual(rows.map((r) => r.r));
    }),
    { numRuns: 60 },
  );
});
