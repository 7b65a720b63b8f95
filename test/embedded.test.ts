/**
 * With DATABASE_URL unset the project starts its own PostgreSQL (real server
 * binaries), migrates it, and stops it on exit. Runs in a scratch data
 * directory on a free port so it never touches the developer's .data/.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, slowWrites, waitUntilWriting } from './helpers.ts';

// As root the server runs as `postgres`, which must be able to enter the directory.
function scratchDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-embedded-'));
  chmodSync(dir, 0o755);
  return dir;
}
const dataDir = scratchDir();
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

describe('embedded PostgreSQL (DATABASE_URL unset)', () => {
  it('initialises, migrates, checks the schema and stops cleanly', async () => {
    const port = await freePort();
    const env = { DATABASE_URL: undefined, BUYER_SYNC_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port) };

    const first = await runCli(['migrate'], env);
    expect(first.stderr).toContain('initialising embedded PostgreSQL');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Applied 050_buyers_text_columns.sql');
    expect(existsSync(path.join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(await listening(port)).toBe(false);

    const again = await runCli(['migrate'], env);
    expect(again.stderr).not.toContain('initialising');
    expect(again.stdout).toContain('up to date');
    expect(again.code).toBe(0);

    const check = await runCli(['check-schema', '--json'], env);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ valid: true });
    expect(await listening(port)).toBe(false);
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)(
    'as root, a data directory under a private (0700) directory still works: the path is made traversable, and it says so',
    async () => {
      const privateDir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-private-')); // 0700
      try {
        const env = {
          DATABASE_URL: undefined,
          BUYER_SYNC_DATA_DIR: path.join(privateDir, 'data'),
          EMBEDDED_PG_PORT: String(await freePort()),
        };
        const r = await runCli(['migrate'], env);
        expect(r.code).toBe(0);
        expect(r.stderr).toContain(`made ${privateDir} traversable (o+x)`);
        expect(statSync(privateDir).mode & 0o777).toBe(0o701);
      } finally {
        rmSync(privateDir, { recursive: true, force: true });
      }
    },
  );

  it('a port taken by something else is one clear line and exit 3', async () => {
    const blocker = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const other = scratchDir();
      const r = await runCli(['check-schema'], {
        DATABASE_URL: undefined,
        BUYER_SYNC_DATA_DIR: other,
        EMBEDDED_PG_PORT: String(port),
      });
      rmSync(other, { recursive: true, force: true });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`embedded PostgreSQL .*port ${port}.* did not start`));
    } finally {
      blocker.close();
    }
  });
});

describe('the embedded server is ours alone', () => {
  it('its superuser password is random, kept in the data directory (0600, directory 0700); the old constant no longer opens it', async () => {
    const { readFileSync } = await import('node:fs');
    const { default: pg } = await import('pg');
    const { startEmbeddedPostgres, PASSWORD_FILE } = await import('../src/db/embedded.ts');
    const port = await freePort();
    const data = scratchDir();
    const pgdata = path.join(data, 'postgres');
    try {
      const r = await runCli(['migrate'], {
        DATABASE_URL: undefined,
        BUYER_SYNC_DATA_DIR: data,
        EMBEDDED_PG_PORT: String(port),
      });
      expect(r.code).toBe(0);
      const secretFile = path.join(pgdata, PASSWORD_FILE);
      expect(statSync(secretFile).mode & 0o777).toBe(0o600);
      expect(statSync(pgdata).mode & 0o777).toBe(0o700);
      const secret = readFileSync(secretFile, 'utf8').trim();
      expect(secret).toMatch(/^[A-Za-z0-9_-]{32}$/);

      const server = await startEmbeddedPostgres({ dataDir: pgdata, port, database: 'buyer_sync' });
      try {
        const legacy = new pg.Client({ connectionString: `postgres://postgres:buyer_sync@127.0.0.1:${port}/postgres` });
        const err = await legacy.connect().then(
          () => null,
          (e: unknown) => e,
        );
        await legacy.end().catch(() => undefined);
        expect((err as { code?: string }).code).toBe('28P01');
        const ok = new pg.Client({ connectionString: server.adminUrl });
        await ok.connect();
        // A data directory from before: the old constant is replaced by a random password on the next start.
        await ok.query(`alter role postgres password 'buyer_sync'`);
        await ok.end();
      } finally {
        await server.stop();
      }
      rmSync(secretFile);
      const again = await runCli(['check-schema'], {
        DATABASE_URL: undefined,
        BUYER_SYNC_DATA_DIR: data,
        EMBEDDED_PG_PORT: String(port),
      });
      expect(again.code).toBe(0);
      expect(again.stderr).toContain('still had the old built-in password; it now has a random one');
      expect(readFileSync(secretFile, 'utf8').trim()).not.toBe('buyer_sync');
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('honest exits with the embedded server', () => {
  it('the server killed mid-sync: exit 3 and one line saying so; the next run records the real reason in sync_runs', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    const { default: pg } = await import('pg');
    const { startEmbeddedPostgres } = await import('../src/db/embedded.ts');
    const { HEADER } = await import('../src/sample/generate.ts');
    const port = await freePort();
    const data = scratchDir();
    const pgdata = path.join(data, 'postgres');
    const env = {
      DATABASE_URL: undefined,
      BUYER_SYNC_DATA_DIR: data,
      EMBEDDED_PG_PORT: String(port),
      SHEET_SOURCE: undefined,
    };
    try {
      expect((await runCli(['migrate'], env)).code).toBe(0);
      // A slow sync: every row waits a little, so the kill lands mid-run.
      const server = await startEmbeddedPostgres({ dataDir: pgdata, port, database: 'buyer_sync' });
      const c = new pg.Client({ connectionString: server.url });
      await c.connect();
      await slowWrites(c, 0.02);
      await c.end();
      await server.stop();
      const sheet = path.join(data, 'sheet.csv');
      writeFileSync(
        sheet,
        [HEADER.join(','), ...Array.from({ length: 300 }, (_, i) => `K${i},name${','.repeat(HEADER.length - 2)}`)].join(
          '\n',
        ),
      );

      const run = runCli(['sync', '--source', sheet, '--batch-size', '10'], env);
      let pid = 0;
      for (let i = 0; i < 100 && pid === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          const lines = readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n');
          if (lines[7]?.trim() === 'ready') pid = Number(lines[0]);
        } catch {
          // not started yet
        }
      }
      expect(pid).toBeGreaterThan(0);
      // The server the sync started is the one set up above (same directory, port and password): watch it write.
      const watcher = new pg.Client({ connectionString: server.url });
      await watcher.connect();
      try {
        await waitUntilWriting(watcher);
      } finally {
        await watcher.end();
      }
      process.kill(pid, 'SIGKILL');
      const r = await run;
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.includes('embedded PostgreSQL on 127.0.0.1'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^buyer-sync: sync run [0-9a-f-]{36} stopped after \d+ rows and wrote nothing: the database connection was lost \(.+\): the embedded PostgreSQL server stopped \(killed by SIGKILL\); run the sync again \(sync_runs could not be told now, .*; the next sync records it\)$/,
      );
      const runId = /sync run ([0-9a-f-]{36})/.exec(lines[0]!)![1];

      // The next command that syncs replays the journal into sync_runs.
      const next = await runCli(['sync', '--source', sheet, '--only', 'K1'], env);
      expect(next.code).toBe(0);
      const again = await startEmbeddedPostgres({ dataDir: pgdata, port, database: 'buyer_sync' });
      try {
        const q = new pg.Client({ connectionString: again.url });
        await q.connect();
        const { rows } = await q.query(`select status, error_type, error_message from sync_runs where id = $1`, [
          runId,
        ]);
        await q.end();
        expect(rows[0]).toMatchObject({ status: 'failed', error_type: 'transient' });
        expect(rows[0].error_message).toContain('the embedded PostgreSQL server stopped (killed by SIGKILL)');
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('`npm start` on the embedded defaults, and analysts reaching the views', () => {
  it('start migrates, prints the connection string and the dashboard URL, syncs the sample sheet and verifies it; the dashboard and GraphQL answer; db-url gives the same string, and psql-style clients read the views', async () => {
    const { spawnCli, waitFor } = await import('./helpers.ts');
    const pg = (await import('pg')).default;
    const env = {
      DATABASE_URL: undefined,
      BUYER_SYNC_DATA_DIR: scratchDir(),
      EMBEDDED_PG_PORT: String(await freePort()),
      SHEET_SOURCE: undefined,
      SYNC_CRON: '0 0 1 1 *',
    };
    const service = spawnCli(['start'], env);
    try {
      const logged = await waitFor(
        'the connection string in the log',
        async () => /database: (postgres:\/\/\S+)/.exec(service.output().stdout)?.[1],
        90_000,
      );
      // The dashboard and the GraphQL API answer at the printed address (the API logged in as buyer_sync_authenticator with its password).
      const dashboard = await waitFor(
        'the dashboard URL in the log',
        async () => /dashboard at (http:\/\/\S+\/) /.exec(service.output().stdout)?.[1],
        90_000,
      );
      expect(await (await fetch(dashboard)).text()).toContain('<div id="app"');
      const url = await runCli(['db-url', '--json'], env);
      expect(JSON.parse(url.stdout)).toEqual({ url: logged, embedded: true, running: true });
      const client = new pg.Client({ connectionString: logged });
      await client.connect();
      try {
        const summary = await waitFor(
          'the first sync and its verification',
          async () =>
            (await client.query('select * from buyer_sync.dashboard_summary where last_verification_at is not null'))
              .rows[0],
          90_000,
        );
        // The sample's broken rows: 30 buyers missing, and rows rejected for good (a buyer number used twice): two open alerts.
        expect(summary).toMatchObject({
          database_count: 4107,
          spreadsheet_count: 4137,
          missing_count: 30,
          open_alerts: 2,
        });
        const api = await fetch(`${dashboard}graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"query":"{ summary { databaseCount missingCount } }"}',
        });
        expect(await api.json()).toEqual({ data: { summary: { databaseCount: 4107, missingCount: 30 } } });
        expect(summary.last_verification_summary).toMatch(
          /^failed: 30 sheet buyers of 4,137 missing from the database/,
        );
        const { rows } = await client.query(
          `select trigger, sample_size, mismatch_count from buyer_sync.verification_reports`,
        );
        expect(rows).toEqual([{ trigger: 'after_sync', sample_size: 100, mismatch_count: 0 }]);
      } finally {
        await client.end();
      }
    } finally {
      service.child.kill('SIGTERM');
      const done = await service.done;
      expect(done.code).toBe(0);
      rmSync(env.BUYER_SYNC_DATA_DIR, { recursive: true, force: true });
    }
  }, 200_000);

  it('db-url while the embedded server is not running: the string, and a note that `npm start` runs it', async () => {
    const env = { DATABASE_URL: undefined, BUYER_SYNC_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) };
    expect((await runCli(['migrate'], env)).code).toBe(0);
    const r = await runCli(['db-url'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^postgres://postgres:[^@]+@127\\.0\\.0\\.1:${env.EMBEDDED_PG_PORT}/buyer_sync\\n$`),
    );
    expect(r.stderr).toContain('the embedded server is not running now; `npm start` runs it');
  });
});
