/**
 * The errors a sync run throws, in one place: what a caller (the command
 * line, a worker task, the library) tells apart with instanceof, and the one
 * the writer throws for the engine to catch. How each is recorded and told is
 * failure.ts's; the mass-change guard's refusal (MassChangeRefused) stays
 * with the guard, whose words it carries, and a broken row rule
 * (RowRuleError) with the error categories it is sorted into.
 */
import { CannotRunError } from '../errors.ts';
import type { ErrorType } from './error-types.ts';

/** Another run holds the sync lock: this one read and wrote nothing (recorded as a skipped run, kind busy); try again later. */
export class SyncBusy extends CannotRunError {
  /** The skipped run's record, once written. */
  skippedRunId: string | null = null;
  constructor(message = 'another sync run is in progress; try again when it has finished') {
    super(message);
    this.name = 'SyncBusy';
  }
}

/** Thrown for a run that started and then could not finish; the run record holds the details. */
export class SyncAbortedError extends CannotRunError {
  readonly runId: string;
  readonly errorType: ErrorType;
  constructor(message: string, runId: string, errorType: ErrorType, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SyncAbortedError';
    this.runId = runId;
    this.errorType = errorType;
  }
}

/** The connection was lost as the run committed, and no one could say whether the commit happened. */
export class CommitUnknown extends Error {
  override readonly cause: unknown;
  constructor(cause: unknown) {
    super('the database connection was lost as the run committed');
    this.name = 'CommitUnknown';
    this.cause = cause;
  }
}

/** A run stopped on purpose (Ctrl-C, SIGTERM, a worker shutting down): the signal's reason. */
export class SyncCancelled extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SyncCancelled';
  }

  /** The stop `signal` asked for, saying why (its reason). */
  static by(signal: AbortSignal): SyncCancelled {
    return new SyncCancelled(String(signal.reason ?? 'stopped'));
  }
}

/** The database refused a row in a pass that does not isolate batches. */
export class RowRejected extends Error {
  override readonly cause: unknown;
  constructor(cause: unknown) {
    super('the database refused a row');
    this.cause = cause;
  }
}
