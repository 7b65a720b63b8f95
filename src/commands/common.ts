/**
 * What every command shares: configuration, opening (and always closing) the
 * database, printing JSON or text, and turning failures into exit codes.
 */
import { readConfig, loadEnvFile, type Config } from '../config.ts';
import { openDatabase, type Database, type OpenOptions } from '../db/connection.ts';
import { CannotRunError, ExitCode, UserFacingError } from '../errors.ts';

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
export async function sourceFor(config: Config, override: string | undefined, encoding?: string) {
  const { sourceFromConfig } = await import('../sheet/open.ts');
  return sourceFromConfig(config, override, { encodingFlag: encoding, log: (l) => diag(l) });
}

export function getConfig(): Config {
  loadEnvFile();
  return readConfig();
}

/** What a command may watch while it runs. */
export interface CommandContext {
  /** Fires on the first Ctrl-C / SIGTERM: stop what you are doing, roll back, say so. */
  signal: AbortSignal;
}

/** How long a command may take to stop after the first Ctrl-C / SIGTERM before it is cut off. */
const STOP_GRACE_MS = 15_000;

/**
 * Opens the database for the duration of `fn`, closes it afterwards (an
 * embedded server this process started is stopped cleanly), and turns
 * Ctrl-C / SIGTERM into a stop the command can honour: the first signal fires
 * `signal` (a sync rolls back and records why it stopped), the second, or the
 * grace period running out, ends the process at once. Either way the exit
 * code is 130 (SIGINT) or 143 (SIGTERM).
 */
export async function withDatabase<T>(
  config: Config,
  fn: (db: Database, ctx: CommandContext) => Promise<T>,
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
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const exitCode = (signal: NodeJS.Signals) =>
    signal === 'SIGINT' ? ExitCode.interrupted : signal === 'SIGHUP' ? ExitCode.hungUp : ExitCode.terminated;
  const hardStop = (signal: NodeJS.Signals) => {
    const stopServer = db.embedded?.stop() ?? Promise.resolve();
    void Promise.race([stopServer, new Promise((r) => setTimeout(r, 10_000))]).finally(() =>
      process.exit(exitCode(signal)),
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (received !== null) {
      diag(`${signal} received again: stopping now`);
      hardStop(signal);
      return;
    }
    received = signal;
    diag(
      `${signal} received: stopping (a sync in progress is rolled back and recorded as stopped; ${signal === 'SIGINT' ? 'Ctrl-C' : 'signal'} again to stop at once)`,
    );
    controller.abort(`${signal} received${signal === 'SIGINT' ? ' (Ctrl-C)' : ''}`);
    setTimeout(() => {
      diag(`still not stopped after ${STOP_GRACE_MS / 1000} s: stopping now`);
      hardStop(signal);
    }, STOP_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The terminal went away (a closed SSH session): stop as for SIGTERM, so the run is recorded as stopped.
  process.on('SIGHUP', onSignal);
  /*
   * Run through npm (`npx buyer-sync …`, `npm start`), the signal a supervisor
   * sends goes to npm, which exits without passing it on: buyer-sync would go
   * on alone. So when the npm process that started it ends, stop as for SIGTERM.
   */
  const launcher = process.env.npm_command ? process.ppid : null;
  const orphaned =
    launcher === null
      ? null
      : setInterval(() => {
          if (process.ppid === launcher || received !== null) return;
          diag('the npm process that started buyer-sync ended (send signals to buyer-sync itself to stop it cleanly)');
          onSignal('SIGTERM');
        }, 500);
  orphaned?.unref();
  try {
    // A command that finished despite the signal finished: its own result and exit code stand.
    return await fn(db, { signal: controller.signal });
  } catch (err) {
    if (received !== null && !(err instanceof UserFacingError && err.exitCode >= 128)) {
      const message = err instanceof Error ? err.message : String(err);
      throw new UserFacingError(message, exitCode(received), { cause: err });
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    if (orphaned) clearInterval(orphaned);
    await db.close();
  }
}
