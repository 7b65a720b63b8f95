/**
 * Once per test run: find the PostgreSQL server (DATABASE_URL, or an embedded
 * server of the suite's own under .data/test-postgres), build one migrated
 * template database, and hand its name to the test files, each of which clones
 * its own database from it (test/helpers.ts). graphile/worker does the same.
 */
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { projectRoot } from '../src/config.ts';
import { createPool, inDatabase } from '../src/db/connection.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL of the server's maintenance database (`postgres`). */
    adminUrl: string;
    /** The migrated template database every test file clones. */
    templateDatabase: string;
    /** 'external' (DATABASE_URL) or 'embedded'. */
    serverKind: string;
  }
}

export default async function setup(project: TestProject) {
  let adminUrl: string;
  let stopServer = async () => {};
  const external = process.env.DATABASE_URL?.trim();
  if (external) {
    adminUrl = inDatabase(external, 'postgres');
  } else {
    const server = await startEmbeddedPostgres({
      dataDir: path.join(projectRoot, '.data', 'test-postgres'),
      port: Number(process.env.TEST_EMBEDDED_PG_PORT ?? 54330),
      database: 'postgres',
    });
    adminUrl = server.adminUrl;
    stopServer = server.stop;
  }

  const template = `buyer_sync_test_tpl_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  // Leftovers of runs that were killed before their teardown.
  const { rows } = await admin.query<{ datname: string }>(
    `select datname from pg_database where datname like 'buyer_sync_test_%'`,
  );
  for (const { datname } of rows) {
    const pid = Number(/_(\d+)(?:_|$)/.exec(datname)?.[1]);
    if (!Number.isInteger(pid) || !isAlive(pid)) {
      await admin.query(`drop database if exists ${admin.escapeIdentifier(datname)} with (force)`);
    }
  }
  await admin.query(`create database ${admin.escapeIdentifier(template)}`);

  const templateUrl = inDatabase(adminUrl, template);
  const pool = createPool(templateUrl, 2);
  try {
    await migrate(templateUrl, pool, path.join(projectRoot, 'db', 'migrations'));
  } finally {
    await pool.end();
  }

  project.provide('adminUrl', adminUrl);
  project.provide('templateDatabase', template);
  project.provide('serverKind', external ? 'external' : 'embedded');

  return async () => {
    const { rows: mine } = await admin.query<{ datname: string }>(
      `select datname from pg_database where datname like $1 or datname = $2`,
      [`buyer_sync_test_${process.pid}_%`, template],
    );
    // Eight at a time: each DROP DATABASE waits for a checkpoint, and concurrent requests share one.
    const queue = mine.map((r) => r.datname);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        try {
          for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
            await client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`);
          }
        } finally {
          await client.end();
        }
      }),
    );
    await admin.end();
    await stopServer();
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
