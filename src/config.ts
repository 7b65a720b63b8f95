/**
 * Configuration, read from the environment once (contract.md, .env.example).
 * A `.env` file in the working directory is loaded first; variables already
 * set in the environment win over it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { EmbeddedPostgresConfig } from './db/embedded.ts';
import { UsageError } from './errors.ts';
import { DEFAULT_MAPPING_FILE, projectRoot } from './paths.ts';
import { parseEncoding, type Encoding } from './sheet/csv/encoding.ts';
import { DEFAULT_BATCH_SIZE, DEFAULT_MASS_CHANGE, type MassChangeLimits } from './sync/types.ts';

export { projectRoot } from './paths.ts';

export interface Config {
  /** DATABASE_URL, or null: then the embedded server is used. */
  databaseUrl: string | null;
  /** BUYER_SYNC_DATA_DIR: the project's own files (the embedded server, the run journal). */
  dataDir: string;
  embedded: EmbeddedPostgresConfig;
  migrationsDir: string;
  schemaFile: string;
  /** SHEET_SOURCE, or null: the sample sheet. */
  sheetSource: string | null;
  /** SHEET_TAB, or null: the first tab. */
  sheetTab: string | null;
  /** SHEET_ENCODING: the encoding of a CSV export, or null: decided from the file. */
  sheetEncoding: Encoding | null;
  /** The column mapping file (BUYER_SYNC_MAPPING). */
  mappingFile: string;
  /** Sheet rows per batch (SYNC_BATCH_SIZE). */
  batchSize: number;
  /** The mass-change guard (SYNC_MAX_CHANGED_PERCENT, SYNC_MAX_CHANGED_MIN). */
  massChange: MassChangeLimits;
  /** SYNC_LOCK_WAIT_SECONDS: how long a worker's sync waits for the sync lock before it goes back to the queue. */
  syncLockWaitSeconds: number;
  /** GOOGLE_SHEETS_ROOT_URL, or null: Google's. */
  sheetsRootUrl: string | null;
  /** GOOGLE_DRIVE_ROOT_URL, or null: Google's (Drive says whether a Google sheet changed). */
  driveRootUrl: string | null;
  /**
   * SHEET_FULL_READ_MINUTES: a scheduled sync of a Google sheet whose Drive
   * version did not change skips the read, but reads it in full at least this often.
   */
  fullReadMinutes: number;
  /** GOOGLE_SHEETS_BACKOFF_MS, or null: the default (1 s, doubling). */
  sheetsBackoffMs: number | null;
  /** GOOGLE_SHEETS_READS_PER_MINUTE: read requests per minute per credential (Google's quota: 60). */
  sheetsReadsPerMinute: number;
  /** ALERT_WEBHOOK_URL, or null: alerts are only recorded in sync_alerts. */
  alertWebhookUrl: string | null;
  /** SYNC_CRON: when `serve` runs the full sync (five cron fields, UTC). */
  syncCron: string;
  /** HEALTH_CRON: when `serve` runs the health check (five cron fields, UTC). */
  healthCron: string;
  /** RETRY_ROUND_LIMIT: at most this many retry-queue entries a round. */
  retryRoundLimit: number;
  /** WORKER_CONCURRENCY: jobs one `serve` process runs at once (syncs still run one at a time). */
  workerConcurrency: number;
  /** VERIFY_SAMPLE: buyers the verification after each scheduled sync compares column by column; null: all. */
  verifySample: number | null;
  /** PORT: the HTTP port of `serve` (GraphQL API and dashboard); 0: any free port. */
  port: number;
  /** HOST: the address `serve` listens on. */
  host: string;
  /** DASHBOARD_OPERATOR_TOKEN: the bearer token of operator actions; null: the API is read-only. */
  operatorToken: string | null;
  /** DASHBOARD_DATABASE_URL: the GraphQL API's own login; null: buyer_sync_authenticator, set up by serve. */
  dashboardDatabaseUrl: string | null;
  /** GRAPHILE_ENV=development (or NODE_ENV=development): GraphiQL at /graphiql and unmasked errors. */
  development: boolean;
  /** SHEET_REPORT_TAB: the tab of the Google spreadsheet buyer-sync keeps as its sync report; null: no report tab. */
  sheetReportTab: string | null;
  /** SHEET_REPORT_NOTES=1: also a note on each failing cell of the buyers tab (buyer-sync's own notes only). */
  sheetReportNotes: boolean;
  /** DASHBOARD_PUBLIC_URL: the dashboard's address as people reach it, shown in the report; null: not shown. */
  dashboardPublicUrl: string | null;
}

/** A sample size: a whole number of buyers (0 compares none), or "all". */
export function sampleSize(name: string, value: string | undefined, fallback: number | null): number | null {
  const text = nonEmpty(value);
  if (text === null) return fallback;
  if (text.toLowerCase() === 'all') return null;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`${name} must be a whole number of buyers or "all", got "${text}"`);
  return n;
}

/**
 * The health check every 5 minutes, 2 minutes off the full sync's quarter
 * hours: the two never start together (graphile-worker's crontab has no
 * stepped ranges, hence the list).
 */
export const DEFAULT_HEALTH_CRON = '2,7,12,17,22,27,32,37,42,47,52,57 * * * *';

/** Five cron fields (minute hour day month weekday), as graphile-worker's crontab takes them. */
function cron(name: string, value: string | undefined, fallback: string): string {
  const text = nonEmpty(value);
  if (text === null) return fallback;
  const fields = text.split(/\s+/);
  if (fields.length !== 5 || !fields.every((f) => /^[0-9*/,-]+$/.test(f))) {
    throw new UsageError(
      `${name} must be five cron fields (minute hour day month weekday, UTC), like "*/15 * * * *", got "${text}"`,
    );
  }
  return fields.join(' ');
}

function webhook(name: string, value: string | undefined): string | null {
  const text = nonEmpty(value);
  if (text === null) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${name} must be an http(s) URL, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${name} must be an http(s) URL, got "${text}"`);
  return url.toString();
}

let envFileLoaded = false;

/** Loads `.env` from the working directory, once, without overriding the environment. */
export function loadEnvFile(): void {
  if (envFileLoaded) return;
  envFileLoaded = true;
  const file = path.resolve('.env');
  if (existsSync(file)) process.loadEnvFile(file);
}

/** At least 16 characters, no spaces: a token someone could guess or mistype is refused. */
function token(name: string, value: string | undefined): string | null {
  const text = nonEmpty(value);
  if (text === null) return null;
  if (text.length < 16 || /\s/.test(text)) {
    throw new UsageError(
      `${name} must be at least 16 characters without spaces (for example: openssl rand -hex 24), got ${text.length} character(s)`,
    );
  }
  return text;
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value.trim() === '' ? null : value.trim();
}

function port(name: string, value: string | undefined, fallback: number, min = 1): number {
  const text = nonEmpty(value);
  if (text === null) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > 65535) {
    throw new UsageError(`${name} must be a TCP port number (${min}-65535), got "${text}"`);
  }
  return n;
}

export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  const text = nonEmpty(value);
  if (text === null) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive whole number, got "${text}"`);
  return n;
}

/** A percentage, 0 to 100 (decimals allowed). */
function percent(name: string, value: string | undefined, fallback: number): number {
  const text = nonEmpty(value);
  if (text === null) return fallback;
  const n = Number(text.replace(/%$/, ''));
  if (!/^\d+(\.\d+)?%?$/.test(text) || !Number.isFinite(n) || n > 100)
    throw new UsageError(`${name} must be a percentage from 0 to 100, got "${text}"`);
  return n;
}

/** A whole number, 0 or more. */
function count(name: string, value: string | undefined, fallback: number): number {
  const text = nonEmpty(value);
  if (text === null) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
    throw new UsageError(`${name} must be a whole number (0 or more), got "${text}"`);
  return n;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = nonEmpty(env.BUYER_SYNC_DATA_DIR) ?? path.join(projectRoot, '.data');
  return {
    databaseUrl: nonEmpty(env.DATABASE_URL),
    dataDir: path.resolve(dataDir),
    embedded: {
      dataDir: path.resolve(dataDir, 'postgres'),
      port: port('EMBEDDED_PG_PORT', env.EMBEDDED_PG_PORT, 54329),
      database: 'buyer_sync',
    },
    migrationsDir: nonEmpty(env.BUYER_SYNC_MIGRATIONS_DIR) ?? path.join(projectRoot, 'db', 'migrations'),
    schemaFile: path.join(projectRoot, 'db', 'schema.sql'),
    sheetSource: nonEmpty(env.SHEET_SOURCE),
    sheetTab: nonEmpty(env.SHEET_TAB),
    sheetEncoding: nonEmpty(env.SHEET_ENCODING) === null ? null : parseEncoding(env.SHEET_ENCODING!, 'SHEET_ENCODING'),
    mappingFile: nonEmpty(env.BUYER_SYNC_MAPPING) ?? DEFAULT_MAPPING_FILE,
    batchSize: positiveInt('SYNC_BATCH_SIZE', env.SYNC_BATCH_SIZE, DEFAULT_BATCH_SIZE),
    syncLockWaitSeconds: count('SYNC_LOCK_WAIT_SECONDS', env.SYNC_LOCK_WAIT_SECONDS, 60),
    massChange: {
      maxPercent: percent('SYNC_MAX_CHANGED_PERCENT', env.SYNC_MAX_CHANGED_PERCENT, DEFAULT_MASS_CHANGE.maxPercent),
      min: count('SYNC_MAX_CHANGED_MIN', env.SYNC_MAX_CHANGED_MIN, DEFAULT_MASS_CHANGE.min),
    },
    sheetsRootUrl: nonEmpty(env.GOOGLE_SHEETS_ROOT_URL),
    driveRootUrl: nonEmpty(env.GOOGLE_DRIVE_ROOT_URL),
    fullReadMinutes: positiveInt('SHEET_FULL_READ_MINUTES', env.SHEET_FULL_READ_MINUTES, 60),
    sheetsReadsPerMinute: positiveInt('GOOGLE_SHEETS_READS_PER_MINUTE', env.GOOGLE_SHEETS_READS_PER_MINUTE, 60),
    sheetsBackoffMs:
      nonEmpty(env.GOOGLE_SHEETS_BACKOFF_MS) === null
        ? null
        : positiveInt('GOOGLE_SHEETS_BACKOFF_MS', env.GOOGLE_SHEETS_BACKOFF_MS, 1000),
    alertWebhookUrl: webhook('ALERT_WEBHOOK_URL', env.ALERT_WEBHOOK_URL),
    syncCron: cron('SYNC_CRON', env.SYNC_CRON, '*/15 * * * *'),
    healthCron: cron('HEALTH_CRON', env.HEALTH_CRON, DEFAULT_HEALTH_CRON),
    retryRoundLimit: positiveInt('RETRY_ROUND_LIMIT', env.RETRY_ROUND_LIMIT, 200),
    workerConcurrency: positiveInt('WORKER_CONCURRENCY', env.WORKER_CONCURRENCY, 2),
    verifySample: sampleSize('VERIFY_SAMPLE', env.VERIFY_SAMPLE, 100),
    port: port('PORT', env.PORT, 5678, 0),
    host: nonEmpty(env.HOST) ?? '127.0.0.1',
    operatorToken: token('DASHBOARD_OPERATOR_TOKEN', env.DASHBOARD_OPERATOR_TOKEN),
    dashboardDatabaseUrl: nonEmpty(env.DASHBOARD_DATABASE_URL),
    development:
      env.GRAPHILE_ENV === 'development' || (env.GRAPHILE_ENV === undefined && env.NODE_ENV === 'development'),
    sheetReportTab: nonEmpty(env.SHEET_REPORT_TAB),
    sheetReportNotes: /^(1|true|yes|on)$/i.test(nonEmpty(env.SHEET_REPORT_NOTES) ?? ''),
    dashboardPublicUrl: webhook('DASHBOARD_PUBLIC_URL', env.DASHBOARD_PUBLIC_URL),
  };
}
