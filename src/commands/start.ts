/**
 * `npm start`: the service on the embedded defaults (or DATABASE_URL): migrate,
 * enqueue a first sync of the configured sheet (the sample sheet unless
 * SHEET_SOURCE says otherwise), and serve. Ctrl-C stops it cleanly.
 */
import { migrate } from '../db/migrate.ts';
import { getConfig, withDatabase } from './common.ts';
import { runServe, serviceLog } from './serve.ts';

export async function startCommand(): Promise<number> {
  const config = getConfig();
  return withDatabase(
    config,
    async (db, ctx) => {
      const { applied } = await migrate(db.url, db.pool, config.migrationsDir, serviceLog);
      serviceLog(applied.length > 0 ? `migrated: applied ${applied.length} migration(s)` : 'database up to date');
      const { rows } = await db.pool.query<{ id: string }>('select buyer_sync.request_sync() as id');
      serviceLog(`enqueued a first sync of ${config.sheetSource ?? 'the sample sheet (data/sample-buyers.csv)'} (job ${rows[0]!.id})`);
      return runServe(db, config, ctx);
    },
    { createIfMissing: true, requireMigrated: false },
  );
}
