/**
 * `npm start`: the product's main job in one command, on the embedded defaults:
 * migrate, sync the sheet (the sample sheet unless SHEET_SOURCE says otherwise),
 * print the run summary and the missing-buyer report.
 */
import { migrate } from '../db/migrate.ts';
import { ExitCode } from '../errors.ts';
import { diag, getConfig, withDatabase } from './common.ts';
import { runMissing } from './missing.ts';
import { runSync } from './sync.ts';

export async function startCommand(): Promise<number> {
  const config = getConfig();
  return withDatabase(
    config,
    async (db) => {
      const { applied } = await migrate(db.url, db.pool, config.migrationsDir, diag);
      if (applied.length > 0) diag(`applied ${applied.length} migration(s)`);
      process.stdout.write('\n');
      await runSync(db, config, { json: false });
      process.stdout.write('\n');
      await runMissing(db, config, { json: false });
      // Failed rows and missing buyers are what the report is for, not a failure of `npm start`.
      return ExitCode.ok;
    },
    { createIfMissing: true, requireMigrated: false },
  );
}
