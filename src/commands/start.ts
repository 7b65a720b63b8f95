/**
 * `npm start`: the service on the embedded defaults (or DATABASE_URL): migrate,
 * print the connection string analysts use, enqueue a first sync of the
 * configured sheet (the sample sheet unless SHEET_SOURCE says otherwise),
 * and serve. Ctrl-C stops it cleanly.
 */
import { migrate } from '../db/migrate.ts';
import { getConfig, withDatabase } from './common.ts';
import { runServe, serviceDiag, serviceLog } from './serve.ts';

/**
 * The connection string as the service log shows it: the embedded server's
 * in full (local only, its password a file of this checkout), DATABASE_URL's
 * without its password (a production secret stays out of logs).
 */
export function shownUrl(url: string, embedded: boolean): string {
  if (embedded) return url;
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '****';
    return u.toString();
  } catch {
    return '(DATABASE_URL)';
  }
}

export async function startCommand(): Promise<number> {
  const config = getConfig();
  return withDatabase(
    config,
    async (db, ctx) => {
      const { applied } = await migrate(db.url, db.pool, config.migrationsDir, serviceLog);
      serviceLog(applied.length > 0 ? `migrated: applied ${applied.length} migration(s)` : 'database up to date');
      // The one connection string the log keeps (redaction would hide it): what analysts connect to, its password masked unless embedded.
      const shown = shownUrl(db.url, db.embedded !== null);
      serviceLog(`database: ${shown} (psql, BI tools; \`npx buyer-sync db-url\` prints it; docs/analysts.md)`, [shown]);
      // The first sync is serve's to enqueue (one job, its key that of buyer_sync.request_sync()): always, here.
      return runServe(db, config, ctx, { firstSync: 'always' });
    },
    { createIfMissing: true, requireMigrated: false, log: serviceDiag },
  );
}
