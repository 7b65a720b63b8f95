/**
 * Exit codes of the command line (contract.md):
 * 0 success, 1 ran and found problems, 2 usage error, 3 could not run.
 */
export const ExitCode = {
  ok: 0,
  problems: 1,
  usage: 2,
  cannotRun: 3,
  /** Stopped by SIGINT (Ctrl-C), SIGTERM or SIGHUP: 128 + the signal's number, as shells report it. */
  interrupted: 130,
  terminated: 143,
  hungUp: 129,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error meant for the person at the terminal: one clear line, no stack.
 * Anything else that escapes a command is a bug and is printed with its stack.
 */
export class UserFacingError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UserFacingError';
    this.exitCode = exitCode;
  }
}

/** The command cannot run: database unreachable, source unreadable, schema blocking. */
export class CannotRunError extends UserFacingError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.cannotRun, options);
    this.name = 'CannotRunError';
  }
}

export class UsageError extends UserFacingError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.usage, options);
    this.name = 'UsageError';
  }
}

/**
 * The sheet could not be read for a passing reason (Google kept failing or
 * did not answer, the network went away): the run is recorded as transient,
 * and trying again later is the fix.
 */
export class SourceUnavailableError extends CannotRunError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SourceUnavailableError';
  }
}
