import { migrate } from '../db/migrate.ts';
import { ExitCode } from '../errors.ts';
import { diag, getConfig, withDatabase } from './common.ts';

export async function migrateCommand(): Promise<number> {
  const config = getConfig();
  return withDatabase(
    config,
    async (db) => {
      const { applied } = await migrate(db.url, db.pool, config.migrationsDir, diag);
      if (applied.length === 0) {
        process.stdout.write('Database is up to date; no migrations to apply.\n');
      } else {
        for (const name of applied) process.stdout.write(`Applied ${name}\n`);
        process.stdout.write(`${applied.length} migration(s) applied.\n`);
      }
      return ExitCode.ok;
    },
    { createIfMissing: true, requireMigrated: false },
  );
}
