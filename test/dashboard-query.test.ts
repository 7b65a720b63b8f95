/**
 * The dashboard's one query (src/dashboard/api.ts, DASHBOARD_QUERY) against
 * the API's schema (db/schema.graphql, regenerated with the migrations): it
 * must validate, and the page's hand-written interfaces must name exactly the
 * fields it selects, no more and no fewer.
 *
 * The field lists below are checked by the compiler against the interfaces
 * (`satisfies Record<keyof T, true>`: a field missing from a list, or one the
 * interface does not have, fails `npm run typecheck`); this test compares
 * them with the query's selection sets.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, Kind, parse, validate, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import {
  DASHBOARD_QUERY,
  type Alert,
  type AlertThresholds,
  type DailyErrorRate,
  type DailyFailingBuyers,
  type DashboardData,
  type MissingBuyer,
  type RecentError,
  type ReportStatus,
  type RetryEntry,
  type Run,
  type Summary,
  type Verdict,
  type Verification,
} from '../src/dashboard/api.ts';

type Fields<T> = Record<keyof T, true>;

/** Per top-level field of the query, the fields of the interface its rows are typed by. */
const INTERFACES = {
  verdict: {
    level: true,
    rule: true,
    headline: true,
    reason: true,
    since: true,
    whatToDo: true,
    runbook: true,
    lastAttemptAt: true,
    lastAttemptStatus: true,
    lastAttemptSkippedKind: true,
    latestRunStatus: true,
    latestErrorRate: true,
    lastSuccessAt: true,
    sheetReadAt: true,
    lastCheckAt: true,
    lastCheckHealthy: true,
    schedule: true,
    nextSyncAt: true,
  } satisfies Fields<Verdict>,
  summary: {
    lastSyncTime: true,
    errorRate: true,
    rowSuccessRate: true,
    runs24H: true,
    failedRuns24H: true,
    runSuccessRate24H: true,
    missingCount: true,
    extraCount: true,
    spreadsheetCount: true,
    databaseCount: true,
    sheetReadAt: true,
    retryQueueSize: true,
    oldestRetryAt: true,
    permanentFailures: true,
    openAlerts: true,
    lastSyncDurationMs: true,
    lastSyncRowsPerSecond: true,
    lastCheckHealthy: true,
    lastCheckTime: true,
  } satisfies Fields<Summary>,
  alertThresholds: { errorRateMax: true, missingBuyersMax: true } satisfies Fields<AlertThresholds>,
  dailyErrorRate: {
    day: true,
    fullRuns: true,
    failedRuns: true,
    lastStatus: true,
    lastFailure: true,
    nonBlankRows: true,
    failedRows: true,
    errorRate: true,
  } satisfies Fields<DailyErrorRate>,
  dailyFailingBuyers: {
    day: true,
    errorType: true,
    buyers: true,
    buyersAllTypes: true,
  } satisfies Fields<DailyFailingBuyers>,
  alerts: {
    id: true,
    type: true,
    severity: true,
    message: true,
    createdAt: true,
    deliveredAt: true,
    acknowledgedAt: true,
    whatToDo: true,
  } satisfies Fields<Alert>,
  missingBuyers: { buyerNumber: true, rowNumber: true, lastErrorType: true } satisfies Fields<MissingBuyer>,
  retryEntries: {
    id: true,
    buyerNumber: true,
    rowNumber: true,
    status: true,
    attemptCount: true,
    nextRetryAt: true,
    errorType: true,
    columnName: true,
  } satisfies Fields<RetryEntry>,
  recentRuns: {
    runId: true,
    startedAt: true,
    finishedAt: true,
    mode: true,
    status: true,
    failure: true,
    totalRows: true,
    inserted: true,
    updated: true,
    unchanged: true,
    failed: true,
    errorRate: true,
    durationMs: true,
    errorMessage: true,
    skippedBecause: true,
    skippedKind: true,
  } satisfies Fields<Run>,
  recentErrors: {
    id: true,
    createdAt: true,
    buyerNumber: true,
    rowNumber: true,
    columnName: true,
    errorType: true,
    errorMessage: true,
  } satisfies Fields<RecentError>,
  latestVerification: {
    createdAt: true,
    trigger: true,
    passed: true,
    summary: true,
    sampleSize: true,
    missingCount: true,
    extraCount: true,
    mismatchCount: true,
  } satisfies Fields<Verification>,
  reportStatus: {
    tab: true,
    writtenAt: true,
    lines: true,
    failingSince: true,
    lastFailure: true,
  } satisfies Fields<ReportStatus>,
} satisfies Record<keyof DashboardData, Record<string, true>>;

const schema = buildSchema(readFileSync(path.join(projectRoot, 'db', 'schema.graphql'), 'utf8'));
const document = parse(DASHBOARD_QUERY);

/** A selection set's fields (by the name the response uses), with their own selection sets. */
function selected(set: SelectionSetNode): Map<string, SelectionSetNode | undefined> {
  const out = new Map<string, SelectionSetNode | undefined>();
  for (const s of set.selections) {
    // Fragments would hide fields from this comparison: the page's query has none.
    if (s.kind !== Kind.FIELD)
      throw new Error(`the dashboard query uses a ${s.kind}; this test compares plain fields only`);
    out.set(s.alias?.value ?? s.name.value, s.selectionSet);
  }
  return out;
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

describe('the dashboard query', () => {
  it('validates against db/schema.graphql', () => {
    expect(validate(schema, document).map((e) => e.message)).toEqual([]);
  });

  it('is one query operation', () => {
    expect(document.definitions).toHaveLength(1);
    expect((document.definitions[0] as OperationDefinitionNode).operation).toBe('query');
  });

  const root = selected((document.definitions[0] as OperationDefinitionNode).selectionSet);

  it('selects exactly the fields of DashboardData', () => {
    expect(sorted(root.keys())).toEqual(sorted(Object.keys(INTERFACES)));
  });

  for (const [field, keys] of Object.entries(INTERFACES)) {
    it(`${field}: the interface's fields are exactly the fields selected`, () => {
      const set = root.get(field);
      expect(set, `${field} selects no fields`).toBeDefined();
      const fields = selected(set!);
      expect(sorted(fields.keys())).toEqual(sorted(Object.keys(keys)));
      // Leaves only: a nested object would need an interface of its own here.
      for (const [name, nested] of fields) expect(nested, `${field}.${name} is an object`).toBeUndefined();
    });
  }
});
