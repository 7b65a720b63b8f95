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

export interface DailyRun {
  day: string;
  runs: number;
  succeeded: number;
  failedRuns: number;
  errorRate: string;
  nonBlankRows: string;
  failedRows: string;
}
export interface DailyError {
  day: string;
  errorType: string;
  errors: number;
  buyers: number;
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
  summary: Summary;
  dailyRuns: DailyRun[];
  dailyErrors: DailyError[];
  alerts: Alert[];
  missingBuyers: MissingBuyer[];
  retryEntries: RetryEntry[];
  recentRuns: Run[];
  recentErrors: RecentError[];
  latestVerification: Verification | null;
}

/** Rows shown per table; the counts come from the summary. */
export const LIST_LIMIT = 100;

export const DASHBOARD_QUERY = /* GraphQL */ `
query Dashboard($limit: Int!) {
  summary {
    lastSyncTime errorRate rowSuccessRate runs24H failedRuns24H runSuccessRate24H
    missingCount extraCount spreadsheetCount databaseCount sheetReadAt
    retryQueueSize oldestRetryAt permanentFailures openAlerts
    lastSyncDurationMs lastSyncRowsPerSecond lastCheckHealthy lastCheckTime
  }
  dailyRuns { day runs succeeded failedRuns errorRate nonBlankRows failedRows }
  dailyErrors { day errorType errors buyers }
  alerts(orderBy: [SEVERITY_RANK_ASC, CREATED_AT_DESC]) { id type severity message createdAt deliveredAt acknowledgedAt whatToDo }
  missingBuyers(first: $limit, orderBy: ROW_NUMBER_ASC) { buyerNumber rowNumber lastErrorType }
  retryEntries(first: $limit, orderBy: NEXT_RETRY_AT_ASC) { id buyerNumber rowNumber status attemptCount nextRetryAt errorType columnName }
  recentRuns(first: 15, orderBy: STARTED_AT_DESC) { runId startedAt finishedAt mode status failure totalRows inserted updated unchanged failed errorRate durationMs errorMessage skippedBecause }
  recentErrors(first: 20, orderBy: CREATED_AT_DESC) { id createdAt buyerNumber rowNumber columnName errorType errorMessage }
  latestVerification { createdAt trigger passed summary sampleSize missingCount extraCount mismatchCount }
}`;

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

export async function graphql<T>(query: string, variables: Record<string, unknown>, token: string | null, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
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
  if (response.status === 401) throw new ApiError('unauthorized', body.errors?.[0]?.message ?? 'the operator token was refused');
  const first = body.errors?.[0];
  if (first) throw new ApiError(first.extensions?.code === 'FORBIDDEN' ? 'forbidden' : 'graphql', first.message);
  if (!response.ok || !body.data) throw new ApiError('graphql', `the API answered ${response.status} ${response.statusText}`);
  return body.data;
}

export async function loadDashboard(token: string | null, signal?: AbortSignal): Promise<DashboardData> {
  return graphql<DashboardData>(DASHBOARD_QUERY, { limit: LIST_LIMIT }, token, signal);
}

/** An operator action: one mutation whose payload's `result` is the job id (or the acknowledgement's time). */
async function act(token: string, mutation: string, input: string, variables: Record<string, unknown>): Promise<string> {
  const data = await graphql<Record<string, { result: string }>>(`mutation${input ? `(${input})` : ''} { ${mutation}(input: { ${Object.keys(variables).map((k) => `${k}: $${k}`).join(', ')} }) { result } }`, variables, token);
  return data[mutation]!.result;
}

export const requestSync = (token: string) => act(token, 'requestSync', '', {});
export const retryBuyer = (token: string, buyerNumber: string) => act(token, 'retryBuyer', '$buyerNumber: String!', { buyerNumber });
export const acknowledgeAlert = (token: string, alertId: string) => act(token, 'acknowledgeAlert', '$alertId: UUID!', { alertId });
