import { ExitCode, UsageError } from '../errors.ts';
import { ERROR_TYPES, type ErrorType } from '../sync/error-types.ts';
import { SyncErrorLogger } from '../sync/error-logger.ts';
import { printable } from '../printable.ts';
import { getConfig, printJson, withDatabase } from './common.ts';
import { fmt } from './progress.ts';

export interface ErrorsCommandOptions {
  type?: string;
  buyer?: string;
  since?: string;
  until?: string;
  run?: string;
  limit?: string;
  json: boolean;
}

function parseTime(name: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(d.getTime())) {
    throw new UsageError(`${name} must be an ISO date or time (2026-01-31 or 2026-01-31T09:00:00Z), got "${text}"`);
  }
  return d;
}

export async function errorsCommand(opts: ErrorsCommandOptions): Promise<number> {
  if (opts.type !== undefined && !ERROR_TYPES.includes(opts.type as ErrorType)) {
    throw new UsageError(`--type must be one of ${ERROR_TYPES.join(', ')}, got "${opts.type}"`);
  }
  if (opts.run !== undefined && !/^[0-9a-f-]{36}$/i.test(opts.run))
    throw new UsageError(`--run must be a run id (a UUID), got "${opts.run}"`);
  const limit = opts.limit === undefined ? 1000 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit must be a positive whole number, got "${opts.limit}"`);
  const since = parseTime('--since', opts.since);
  const until = parseTime('--until', opts.until);
  const config = getConfig();
  return withDatabase(config, async (db) => {
    const logger = new SyncErrorLogger(db.pool);
    const { errors, total } = await logger.queryErrorPage({
      ...(since ? { startDate: since } : {}),
      ...(until ? { endDate: until } : {}),
      ...(opts.type ? { errorType: opts.type as ErrorType } : {}),
      ...(opts.buyer ? { buyerNumber: opts.buyer } : {}),
      ...(opts.run ? { runId: opts.run } : {}),
      limit,
    });
    const truncated = total > errors.length;
    if (opts.json) {
      printJson({
        total,
        truncated,
        errors: errors.map((e) => ({
          buyer_number: e.buyerNumber,
          row_number: e.rowNumber,
          error_message: e.errorMessage,
          error_type: e.errorType,
          retryable: e.retryable,
          created_at: e.createdAt.toISOString(),
        })),
      });
      return ExitCode.ok;
    }
    const out = (s = '') => process.stdout.write(`${s}\n`);
    if (errors.length === 0) {
      out('No sync errors match.');
      return ExitCode.ok;
    }
    for (const e of errors) {
      out(
        `${e.createdAt.toISOString()}  ${e.errorType.padEnd(20)} ${e.retryable ? 'retryable' : 'final    '}  ${e.buyerNumber === null ? '-' : printable(e.buyerNumber, 40)}  ${printable(e.errorMessage, 2000)}`,
      );
    }
    const stats = await logger.getErrorStats({ ...(since ? { start: since } : {}), ...(until ? { end: until } : {}) });
    out(
      `${fmt(errors.length)} shown${truncated ? ` of ${fmt(total)} (the newest; --limit for more)` : ''}. ` +
        `In the log${since || until ? ' for that period' : ''}: ${
          ERROR_TYPES.filter((t) => stats.byType[t] > 0)
            .map((t) => `${t} ${fmt(stats.byType[t])}`)
            .join(', ') || 'none'
        }.`,
    );
    return ExitCode.ok;
  });
}
