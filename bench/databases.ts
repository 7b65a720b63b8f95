/** Scratch databases for the benchmark, on DATABASE_URL's server or the embedded one. */
import path from 'node:path';
import pg from 'pg';
import { projectRoot } from '../src/config.ts';
import { createPool, inDatabase } from '../src/db/connection.ts';
import { migrate } from '../src/db/migrate.ts';

async function admin(adminUrl: string, sql: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const s of sql) await client.query(s);
  } finally {
    await client.end();
  }
}

/** A new empty database; migrated unless `migrated` is false. */
export async function freshDatabase(adminUrl: string, name: string, migrated = true): Promise<string> {
  await admin(adminUrl, [`drop database if exists ${name} with (force)`, `create database ${name}`]);
  const url = inDatabase(adminUrl, name);
  if (migrated) {
    const pool = createPool(url, 2);
    await migrate(url, pool, path.join(projectRoot, 'db', 'migrations'));
    await pool.end();
  }
  return url;
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await admin(adminUrl, [`drop database if exists ${name} with (force)`]);
}
