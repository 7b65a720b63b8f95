/**
 * Error categories (contract.md) and how a failure is categorized: by its
 * cause (SQLSTATE, socket error code, our own parse failures), never by
 * matching message text.
 *
 * The categories and which are retried are defined once, in SQL: the table
 * buyer_sync.error_types (migration 056), which sync_error_log and
 * retry_queue refer to. ERROR_TYPES and isRetryable below copy it because
 * the sync needs them synchronously; test/policy.test.ts fails, naming the
 * difference, when the copy and the table disagree. Change the table first.
 */
export const ERROR_TYPES = ['field_length', 'data_type', 'constraint_violation', 'transient', 'unknown'] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

/** Retryable (buyer_sync.error_types.retryable): every type but constraint_violation. */
export function isRetryable(type: ErrorType): boolean {
  return type !== 'constraint_violation';
}

export function emptyErrorCounts(): Record<ErrorType, number> {
  return { field_length: 0, data_type: 0, constraint_violation: 0, transient: 0, unknown: 0 };
}

/** A value on the sheet broke one of the row rules (our own parse failure). */
export class RowRuleError extends Error {
  readonly errorType: ErrorType;
  readonly column: string | null;
  constructor(message: string, errorType: ErrorType, column: string | null) {
    super(message);
    this.name = 'RowRuleError';
    this.errorType = errorType;
    this.column = column;
  }
}

const SOCKET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '53300', '57P01', '57P02', '57P03', '55P03', '57014']);

/** The SQLSTATE or errno code of an error, if it carries one. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Categorizes a failure by cause:
 * 22001 (value too long) and 54000 (program limit exceeded: an index entry
 * too large) field_length; 22P02/22007/22008/22003 and our parse failures data_type;
 * 23xxx and 21000 constraint_violation; 08xxx, 40001, 40P01, 53300, 57P01 and
 * socket errors transient; anything else unknown.
 */
export function categorizeError(err: unknown): ErrorType {
  if (err instanceof RowRuleError) return err.errorType;
  const code = errorCode(err);
  if (code === undefined) {
    const message = err instanceof Error ? err.message : '';
    // node-postgres reports a dropped connection without a code.
    if (/Connection terminated|connection .*(closed|ended)|Client has encountered a connection error/i.test(message)) {
      return 'transient';
    }
    return 'unknown';
  }
  if (code === '22001' || code === '54000') return 'field_length';
  if (['22P02', '22007', '22008', '22003'].includes(code)) return 'data_type';
  if (code.startsWith('23') || code === '21000') return 'constraint_violation';
  if (code.startsWith('08') || TRANSIENT_SQLSTATES.has(code) || SOCKET_CODES.has(code)) return 'transient';
  return 'unknown';
}

/**
 * Errors in the statement itself (syntax, a missing table or column, a
 * prepared statement gone): no row is to blame, so the run stops instead of
 * failing every row one by one.
 */
export function isStatementLevel(err: unknown): boolean {
  const code = errorCode(err);
  return (
    code !== undefined &&
    (code.startsWith('42') || code.startsWith('26') || code.startsWith('0A') || code.startsWith('XX'))
  );
}

/** Errors that end the whole run rather than one row: the connection is gone or the server is going away. */
export function isConnectionLevel(err: unknown): boolean {
  const code = errorCode(err);
  if (code === undefined) return categorizeError(err) === 'transient';
  return code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code) || SOCKET_CODES.has(code);
}

/** How a lost connection is named in every message: "the database connection was lost (57P01)". */
export function connectionLost(err: unknown): string {
  return `the database connection was lost (${errorCode(err) ?? 'connection closed'})`;
}

/** Why something could not be done, in one phrase: a lost connection named as such, else the error's message. */
export function failureText(err: unknown): string {
  return isConnectionLevel(err) ? connectionLost(err) : (err as Error).message;
}
