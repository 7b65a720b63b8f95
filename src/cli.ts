/**
 * The `buyer-sync` command line (contract.md). Each command lives in
 * src/commands/; this file only declares them and maps failures to exit codes:
 * 0 ok, 1 problems found, 2 usage error, 3 could not run.
 */
import { Command, CommanderError } from 'commander';
import type { DbUrlCommandOptions } from './commands/db-url.ts';
import type { ErrorsCommandOptions } from './commands/errors.ts';
import type { HealthCommandOptions } from './commands/health.ts';
import type { MissingCommandOptions } from './commands/missing.ts';
import type { ReportCommandOptions } from './commands/report.ts';
import type { RetryCommandOptions } from './commands/retry.ts';
import type { SyncCommandOptions } from './commands/sync.ts';
import type { VerifyCommandOptions } from './commands/verify.ts';
import { ExitCode, UserFacingError } from './errors.ts';
import { oneLine } from './printable.ts';

// Commands are loaded when run, so `--help` and small commands start fast.
const commands = {
  checkSchema: () => import('./commands/check-schema.ts'),
  dbUrl: () => import('./commands/db-url.ts'),
  errors: () => import('./commands/errors.ts'),
  health: () => import('./commands/health.ts'),
  migrate: () => import('./commands/migrate.ts'),
  missing: () => import('./commands/missing.ts'),
  retry: () => import('./commands/retry.ts'),
  report: () => import('./commands/report.ts'),
  serve: () => import('./commands/serve.ts'),
  start: () => import('./commands/start.ts'),
  sync: () => import('./commands/sync.ts'),
  verify: () => import('./commands/verify.ts'),
};

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('buyer-sync')
    .description('Keeps the PostgreSQL buyers table exactly in step with the buyers spreadsheet, and proves it.')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();

  program
    .command('migrate')
    .description('apply the database migrations in db/migrations (idempotent); installs the graphile-worker schema too')
    .action(async () => setExitCode(await (await commands.migrate()).migrateCommand()));

  program
    .command('check-schema')
    .description(
      'check that every text-like column of the synced tables is text and that the tables fit the column mapping (exit 1 when not)',
    )
    .option(
      '--fix',
      'write one dbmate migration under db/migrations: the offending columns converted to text, mapped columns added, the content hash rebuilt over them',
      false,
    )
    .option('--json', 'print the result as one JSON object', false)
    .action(async (opts: { fix: boolean; json: boolean }) =>
      setExitCode(await (await commands.checkSchema()).checkSchemaCommand(opts)),
    );

  const sourceHelp =
    'the buyers sheet: a Google Sheets URL, gsheets:<id>, or a .csv export (overrides SHEET_SOURCE; default: the sample sheet)';
  const encodingHelp =
    "character encoding of a .csv export: utf-8, utf-16le, utf-16be, shift_jis (cp932), euc-jp, euc-kr (cp949), gbk (gb18030, gb2312), big5 (cp950) or windows-1252 (latin1, cp1252, iso-8859-1) (overrides SHEET_ENCODING; default: a byte order mark, else detected from the text's language, refusing when unclear)";

  program
    .command('sync')
    .description(
      'one sync run from the sheet into buyers; every row ends in buyers or in sync_error_log (exit 1 when rows failed)',
    )
    .option('--source <sheet>', sourceHelp)
    .option('--encoding <name>', encodingHelp)
    .option('--only <numbers>', 'sync only these buyer numbers, comma-separated (B1,B2,...)')
    .option('--batch-size <n>', 'sheet rows per batch (default SYNC_BATCH_SIZE or 100)')
    .option(
      '--dry-run',
      'do the whole run, then roll it back: report what it would insert, update and fail (buyer numbers, changed columns), write nothing',
      false,
    )
    .option(
      '--if-changed',
      "read the sheet only if it changed since the last full sync read it (a CSV export's hash, a Google sheet's Drive version) or that read is SHEET_FULL_READ_MINUTES old; else record a skipped run (for cron)",
      false,
    )
    .option(
      '--allow-mass-change',
      'let this run through the mass-change guard: a run that would update more than SYNC_MAX_CHANGED_PERCENT (default 25) % of the buyers in the database, and at least SYNC_MAX_CHANGED_MIN (default 50), is otherwise refused (exit 3, nothing written, a mass_change alert)',
      false,
    )
    .option('--json', 'print the result as one JSON object', false)
    .action(async (opts: SyncCommandOptions) => setExitCode(await (await commands.sync()).syncCommand(opts)));

  program
    .command('missing')
    .description(
      'buyer numbers on the sheet but not in the database, and the other way round (exit 1 when any are missing)',
    )
    .option('--source <sheet>', sourceHelp)
    .option('--encoding <name>', encodingHelp)
    .option('--json', 'print the result as one JSON object', false)
    .action(async (opts: MissingCommandOptions) => setExitCode(await (await commands.missing()).missingCommand(opts)));

  program
    .command('errors')
    .description('query the sync error log, newest first')
    .option('--type <type>', 'only this error type: field_length, data_type, constraint_violation, transient, unknown')
    .option('--buyer <number>', 'only this buyer number')
    .option('--since <iso>', 'only errors at or after this time (2026-01-31 or 2026-01-31T09:00:00Z)')
    .option('--until <iso>', 'only errors before this time')
    .option('--run <id>', 'only errors of this sync run')
    .option('--limit <n>', 'at most this many, newest first (default 1000; --json says when the list was cut)')
    .option('--json', 'print the result as one JSON object', false)
    .action(async (opts: ErrorsCommandOptions) => setExitCode(await (await commands.errors()).errorsCommand(opts)));

  program
    .command('retry')
    .description(
      'one retry round: the retry-queue entries due now (exit 1 when any failed, 3 when a sheet could not be read)',
    )
    .option('--json', 'print the result as one JSON object', false)
    .action(async (opts: RetryCommandOptions) => setExitCode(await (await commands.retry()).retryCommand(opts)));

  program
    .command('report')
    .description(
      'the sync report: every failing sheet row (row, buyer number, column, what is wrong), duplicate and look-alike buyer numbers, buyers no longer on the sheet; what the report tab (SHEET_REPORT_TAB) shows (exit 1 when rows fail)',
    )
    .option('--format <format>', 'md, csv or json', 'md')
    .option('--json', 'the same as --format json', false)
    .action(async (opts: ReportCommandOptions) => setExitCode(await (await commands.report()).reportCommand(opts)));

  program
    .command('health')
    .description(
      'one health check: reads the sheet, judges the thresholds, records it, raises and delivers alerts (exit 1 when unhealthy)',
    )
    .option('--source <sheet>', sourceHelp)
    .option('--encoding <name>', encodingHelp)
    .option('--json', 'print the result as one JSON object', false)
    .action(async (opts: HealthCommandOptions) => setExitCode(await (await commands.health()).healthCommand(opts)));

  program
    .command('verify')
    .description(
      'integrity check: every sheet buyer in the database, and a sample compared column by column; stored (exit 1 when it fails)',
    )
    .option('--source <sheet>', sourceHelp)
    .option('--encoding <name>', encodingHelp)
    .option(
      '--sample <n>',
      'buyers to compare column by column, or "all" (default VERIFY_SAMPLE or 100; at or above the count means all)',
    )
    .option('--seed <n>', "the sample's seed, to draw the same buyers again (default: random, printed with the report)")
    .option('--format <format>', 'text or md (a Markdown report for a ticket)', 'text')
    .option('--json', 'print the result as one JSON object', false)
    .action(async (opts: VerifyCommandOptions) => setExitCode(await (await commands.verify()).verifyCommand(opts)));

  program
    .command('db-url')
    .description(
      'print the connection string of the database in use (DATABASE_URL or the embedded server), for psql and BI tools',
    )
    .option('--json', 'print {url, embedded, running} as one JSON object', false)
    .action(async (opts: DbUrlCommandOptions) => setExitCode(await (await commands.dbUrl()).dbUrlCommand(opts)));

  program
    .command('serve')
    .description(
      'the long-running service: the dashboard at / and the GraphQL API at /graphql on PORT, and the worker (scheduled syncs and verifications, retry rounds, health checks, alert delivery, jobs requested from SQL or the dashboard) until Ctrl-C or SIGTERM',
    )
    .action(async () => setExitCode(await (await commands.serve()).serveCommand()));

  program
    .command('start', { hidden: true })
    .description('what `npm start` runs: migrate, enqueue a first sync, serve')
    .action(async () => setExitCode(await (await commands.start()).startCommand()));

  program.addHelpText(
    'after',
    `
Environment (see .env.example):
  DATABASE_URL   PostgreSQL connection string; unset: an embedded server (data in .data/)
  SHEET_SOURCE   the buyers sheet (Google Sheets URL, gsheets:<id>, .csv path); unset: the sample sheet
  SHEET_TAB      the tab of a Google spreadsheet; unset: the URL's gid, else the first tab
  SHEET_ENCODING the encoding of a .csv export; unset: a byte order mark, else detected from the text's language
  GOOGLE_APPLICATION_CREDENTIALS / GOOGLE_API_KEY   Google auth (service-account key file / API key)
  ALERT_WEBHOOK_URL  where alerts are POSTed; unset: only recorded in sync_alerts
  SYNC_MAX_CHANGED_PERCENT / SYNC_MAX_CHANGED_MIN   the mass-change guard (default 25 % of the buyers, at least 50)
  SYNC_CRON      serve's full-sync schedule (default "*/15 * * * *", UTC); HEALTH_CRON its health checks' (every 5 minutes, at 2, 7, … past the hour)
  VERIFY_SAMPLE  buyers the verification compares (default 100, or "all"); RETRY_ROUND_LIMIT, WORKER_CONCURRENCY
  PORT, HOST     where serve's dashboard and GraphQL API listen (default 127.0.0.1:5678)
  DASHBOARD_OPERATOR_TOKEN  the bearer token of the dashboard's operator actions; unset: read-only

Exit codes: 0 ok, 1 problems found, 2 usage error, 3 could not run; 130/143/129 stopped by Ctrl-C/SIGTERM/SIGHUP.`,
  );
  return program;
}

// `buyer-sync missing | head -1`: a closed pipe ends the output, not the command: it finishes and
// exits with its own code (1 while buyers are missing), without a stack trace.
// Any other failure to write the result (a full disk) is remembered, and fails the command.
let stdoutError: NodeJS.ErrnoException | null = null;
let stdoutClosed = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') stdoutClosed = true;
  else if (!stdoutClosed) stdoutError ??= err;
});

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram((code) => (exitCode = code));
  if (argv.length <= 2) {
    program.outputHelp();
    return ExitCode.usage;
  }
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version are not errors; everything commander rejects is a usage error.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (err instanceof UserFacingError) {
      process.stderr.write(`buyer-sync: ${oneLine(err.message)}\n`);
      return err.exitCode;
    }
    const { connectionLost, isConnectionLevel } = await import('./sync/error-types.ts');
    if (isConnectionLevel(err)) {
      // The database went away outside a sync run (a restart, pg_terminate_backend): not a bug. A run says so itself.
      process.stderr.write(`buyer-sync: ${connectionLost(err)} before the command finished; run it again\n`);
      return ExitCode.cannotRun;
    }
    return bug(err);
  }
}

/** Anything that escapes a command unexplained is a bug: one line saying so, the stack, exit 3. */
function bug(err: unknown): number {
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(
    `buyer-sync: unexpected error (this is a bug, please report it): ${oneLine(err instanceof Error ? err.message : String(err))}\n${text}\n`,
  );
  return ExitCode.cannotRun;
}

/*
 * Honest exits: whatever happens, the process ends with the command's own
 * exit code and, on failure, one line saying why. An error nobody awaited, or
 * a command left waiting on something that will never answer (the event loop
 * ran dry before it finished), is a failure (exit 3), never a silent exit 0.
 */
let finished = false;
process.on('uncaughtException', (err) => process.exit(bug(err)));
process.on('unhandledRejection', (err) => process.exit(bug(err)));
process.on('beforeExit', () => {
  if (finished) return;
  process.stderr.write(
    'buyer-sync: the command stopped before it finished, waiting on something that will never answer (this is a bug, please report it)\n',
  );
  process.exit(ExitCode.cannotRun);
});
const code = await main(process.argv);
finished = true;
// Exit explicitly: our code is the one that counts. First let the result
// reach its destination (writes to some devices finish later), and fail if it could not.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
if (stdoutError !== null) {
  process.stderr.write(
    `buyer-sync: could not write the result to standard output (${(stdoutError as NodeJS.ErrnoException).code ?? 'error'})\n`,
  );
  process.exit(ExitCode.cannotRun);
}
process.exit(code);
