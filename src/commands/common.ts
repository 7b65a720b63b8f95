/**
 * What every command shares: configuration, opening (and always closing) the
 * database, printing JSON or text, and turning failures into exit codes.
 */
import { readConfig, loadEnvFile, type Config } from '../config.ts';
import { openDatabase, type Database, type OpenOptions } from '../db/connection.ts';
import { CannotRunError } from '../errors.ts';

export interface Output {
  json: boolean;
}

/** Diagnostics and progress go to stderr; results go to stdout. */
export function diag(line: string): void {
  process.stderr.write(`buyer-sync: ${line}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The sheet source a command reads: --source, else SHEET_SOURCE, else the sample sheet. */
export async function sourceFor(config: Config, override: string | undefined) {
  const { openSource } = await import('../sheet/open.ts');
  return openSource(override ?? config.sheetSource, {
    tab: config.sheetTab,
    rootUrl: config.sheetsRootUrl,
    backoffBaseMs: config.sheetsBackoffMs,
    perMinute: config.sheetsReadsPerMinute,
    log: (l) => diag(l),
  });
}

export function getConfig(): Config {
  loadEnvFile();
  return readConfig();
}

/**
 * Opens the database for the duration of `fn`, closes it afterwards, and also
 * on Ctrl-C / SIGTERM, so that an embedded server this process started is
 * always stopped cleanly.
 */
export async function withDatabase<T>(
  config: Config,
  fn: (db: Database) => Promise<T>,
  options: OpenOptions & { requireMigrated?: boolean } = {},
): Promise<T> {
  const { requireMigrated = true, ...open } = options;
  const db = await openDatabase(config, { log: diag, ...open });
  if (requireMigrated) {
    try {
      const { pendingMigrations } = await import('../db/migrate.ts');
      const pending = await pendingMigrations(db.pool, config.migrationsDir);
      if (pending.length > 0) {
        throw new CannotRunError(
          `the database is not migrated (${pending.length} pending: ${pending.slice(0, 3).join(', ')}${pending.length > 3 ? ', …' : ''}); run \`buyer-sync migrate\` first`,
        );
      }
    } catch (err) {
      await db.close();
      throw err;
    }
  }
  /*
   * Ctrl-C / SIGTERM: stop now. Exiting closes our connections, so PostgreSQL
   * rolls back a sync's transaction (nothing half-written); the next sync marks
   * this run interrupted. An embedded server we started is stopped first.
   */
  const onSignal = (signal: NodeJS.Signals) => {
    diag(`${signal} received, stopping (a sync in progress is rolled back)`);
    const code = signal === 'SIGINT' ? 130 : 143;
    const stopServer = db.embedded?.stop() ?? Promise.resolve();
    void Promise.race([stopServer, new Promise((r) => setTimeout(r, 10_000))]).finally(() => process.exit(code));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(db);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await db.close();
  }
}
