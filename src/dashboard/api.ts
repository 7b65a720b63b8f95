/**
 * The page's only source of data: POST /graphql. One query per refresh, the
 * operator's token (when entered) as a bearer token.
 */

export interface Summary {
  lastSyncTime: string | null;
  errorRate: string;
  rowSuccessRate: string | null;
  runs24H: number;
  failedRuns24H: number;
  runSuccessRate24H: string | null;
  missingCount: number;
  extraCount: number;
  spreadsheetCount: number;
  databaseCount: number;
  sheetReadAt: string | null;
  retryQueueSize: number;
  oldestRetryAt: string | null;
  permanentFailures: number;
  openAlerts: number;
  lastSyncDurationMs: number | null;
  lastSyncRowsPerSecond: string | null;
  lastCheckHealthy: boolean | null;
  lastCheckTime: string | null;
}

/** The verdict the page opens with (buyer_sync.verdict): the same answer an analyst gets in psql. */
export interface Verdict {
  level: 'ok' | 'warning' | 'failing' | 'unknown';
  rule: string;
  headline: string;
  reason: string;
  since: string | null;
  whatToDo: string;
  /** docs/runbooks.md#verdict-<rule> */
  runbook: string;
  lastAttemptAt: string | null;
  lastAttemptStatus: string | null;
  lastAttemptSkippedKind: string | null;
  latestRunStatus: string | null;
  /** Percent of the latest finished full sync's non-blank rows it did not write (100 when it failed). */
  latestErrorRate: string | null;
  lastSuccessAt: string | null;
  sheetReadAt: string | null;
  lastCheckAt: string | null;
  lastCheckHealthy: boolean | null;
  schedule: string | null;
  nextSyncAt: string | null;
}

/** The alert thresholds in force (buyer_sync.alert_thresholds): the page colours its cards with them, never with literals of its own. */
export interface AlertThresholds {
  /** Percent: high_error_rate is raised above it. */
  errorRateMax: string;
  /** missing_buyers is raised when more buyers than this are missing. */
  missingBuyersMax: number;
}

/** A day's last full sync: the percent of its non-blank rows not written (a failed run: 100). */
export interface DailyErrorRate {
  day: string;
  fullRuns: number;
  failedRuns: number;
  lastStatus: string;
  lastFailure: string | null;
  nonBlankRows: number;
  failedRows: number;
  errorRate: string;
}
/** Distinct failing buyers per day and error type. */
export interface DailyFailingBuyers {
  day: string;
  errorType: string;
  buyers: number;
  buyersAllTypes: number;
}
export interface Alert {
  id: string;
  type: string;
  severity: 'info' | 'warning' | 'error' | 'critical';
  message: string;
  createdAt: string;
  deliveredAt: string | null;
  acknowledgedAt: string | null;
  whatToDo: string;
}
export interface MissingBuyer {
  buyerNumber: string;
  rowNumber: number;
  lastErrorType: string | null;
}
export interface RetryEntry {
  id: string;
  buyerNumber: string;
  rowNumber: number | null;
  status: string;
  attemptCount: number;
  nextRetryAt: string;
  errorType: string | null;
  columnName: string | null;
}
export interface Run {
  runId: string;
  startedAt: string;
  finishedAt: string | null;
  mode: string;
  status: string;
  failure: string | null;
  totalRows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  failed: number;
  errorRate: string | null;
  durationMs: number | null;
  errorMessage: string | null;
  skippedBecause: string | null;
  /** unchanged (the sheet was as the last full read saw it) or busy (another run held the sync lock). */
  skippedKind: string | null;
}
export interface RecentError {
  id: string;
  createdAt: string;
  buyerNumber: string | null;
  rowNumber: number | null;
  columnName: string | null;
  errorType: string;
  errorMessage: string;
}
export interface Verification {
  createdAt: string;
  trigger: string;
  passed: boolean;
  summary: string;
  sampleSize: number;
  missingCount: number;
  extraCount: number;
  mismatchCount: number;
}

export interface DashboardData {
  verdict: Verdict;
  summary: Summary;
  /** One row (the API lists the singleton). */
  alertThresholds: AlertThresholds[];
  dailyErrorRate: DailyErrorRate[];
  dailyFailingBuyers: DailyFailingBuyers[];
  alerts: Alert[];
  missingBuyers: MissingBuyer[];
  retryEntries: RetryEntry[];
  recentRuns: Run[];
  recentErrors: RecentError[];
  latestVerification: Verification | null;
  /** The sync report tab, when one is configured (one row or none). */
  reportStatus: ReportStatus[];
}

/** The sync report tab written back to the spreadsheet (SHEET_REPORT_TAB): never the sheet's address. */
export interface ReportStatus {
  tab: string;
  writtenAt: string | null;
  lines: number;
  failingSince: string | null;
  lastFailure: string | null;
}

/** Rows shown per table; the counts come from the summary. */
export const LIST_LIMIT = 100;

export const DASHBOARD_QUERY = /* GraphQL */ `
  query Dashboard($limit: Int!) {
    verdict {
      level
      rule
      headline
      reason
      since
      whatToDo
      runbook
      lastAttemptAt
      lastAttemptStatus
      lastAttemptSkippedKind
      latestRunStatus
      latestErrorRate
      lastSuccessAt
      sheetReadAt
      lastCheckAt
      lastCheckHealthy
      schedule
      nextSyncAt
    }
    summary {
      lastSyncTime
      errorRate
      rowSuccessRate
      runs24H
      failedRuns24H
      runSuccessRate24H
      missingCount
      extraCount
      spreadsheetCount
      databaseCount
      sheetReadAt
      retryQueueSize
      oldestRetryAt
      permanentFailures
      openAlerts
      lastSyncDurationMs
      lastSyncRowsPerSecond
      lastCheckHealthy
      lastCheckTime
    }
    alertThresholds {
      errorRateMax
      missingBuyersMax
    }
    dailyErrorRate {
      day
      fullRuns
      failedRuns
      lastStatus
      lastFailure
      nonBlankRows
      failedRows
      errorRate
    }
    dailyFailingBuyers {
      day
      errorType
      buyers
      buyersAllTypes
    }
    alerts(orderBy: [SEVERITY_RANK_ASC, CREATED_AT_DESC]) {
      id
      type
      severity
      message
      createdAt
      deliveredAt
      acknowledgedAt
      whatToDo
    }
    missingBuyers(first: $limit, orderBy: ROW_NUMBER_ASC) {
      buyerNumber
      rowNumber
      lastErrorType
    }
    retryEntries(first: $limit, orderBy: NEXT_RETRY_AT_ASC) {
      id
      buyerNumber
      rowNumber
      status
      attemptCount
      nextRetryAt
      errorType
      columnName
    }
    recentRuns(first: 15, orderBy: STARTED_AT_DESC) {
      runId
      startedAt
      finishedAt
      mode
      status
      failure
      totalRows
      inserted
      updated
      unchanged
      failed
      errorRate
      durationMs
      errorMessage
      skippedBecause
      skippedKind
    }
    recentErrors(first: 20, orderBy: CREATED_AT_DESC) {
      id
      createdAt
      buyerNumber
      rowNumber
      columnName
      errorType
      errorMessage
    }
    latestVerification {
      createdAt
      trigger
      passed
      summary
      sampleSize
      missingCount
      extraCount
      mismatchCount
    }
    reportStatus {
      tab
      writtenAt
      lines
      failingSince
      lastFailure
    }
  }
`;

/** A failure the page explains: where it came from decides what to tell the person. */
export class ApiError extends Error {
  readonly kind: 'network' | 'unauthorized' | 'forbidden' | 'graphql';
  constructor(kind: ApiError['kind'], message: string) {
    super(message);
    this.kind = kind;
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export async function graphql<T>(
  query: string,
  variables: Record<string, unknown>,
  token: string | null,
  signal?: AbortSignal,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    throw new ApiError('network', `cannot reach the API at /graphql (${(err as Error).message})`);
  }
  let body: GraphQLResponse<T>;
  try {
    body = (await response.json()) as GraphQLResponse<T>;
  } catch {
    throw new ApiError('network', `the API answered ${response.status} ${response.statusText} without JSON`);
  }
  if (response.status === 401)
    throw new ApiError('unauthorized', body.errors?.[0]?.message ?? 'the operator token was refused');
  const first = body.errors?.[0];
  if (first) throw new ApiError(first.extensions?.code === 'FORBIDDEN' ? 'forbidden' : 'graphql', first.message);
  if (!response.ok || !body.data)
    throw new ApiError('graphql', `the API answered ${response.status} ${response.statusText}`);
  return body.data;
}

export async function loadDashboard(token: string | null, signal?: AbortSignal): Promise<DashboardData> {
  return graphql<DashboardData>(DASHBOARD_QUERY, { limit: LIST_LIMIT }, token, signal);
}

/** An operator action: one mutation whose payload's `result` is the job id (or the acknowledgement's time). */
async function act(
  token: string,
  mutation: string,
  input: string,
  variables: Record<string, unknown>,
): Promise<string> {
  const data = await graphql<Record<string, { result: string }>>(
    `mutation${input ? `(${input})` : ''} { ${mutation}(input: { ${Object.keys(variables)
      .map((k) => `${k}: $${k}`)
      .join(', ')} }) { result } }`,
    variables,
    token,
  );
  return data[mutation]!.result;
}

export const requestSync = (token: string) => act(token, 'requestSync', '', {});
export const approveMassChange = (token: string) => act(token, 'approveMassChange', '', {});
export const retryBuyer = (token: string, buyerNumber: string) =>
  act(token, 'retryBuyer', '$buyerNumber: String!', { buyerNumber });
export const acknowledgeAlert = (token: string, alertId: string) =>
  act(token, 'acknowledgeAlert', '$alertId: UUID!', { alertId });
