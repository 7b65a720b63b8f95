/**
 * The page's parts, each built from the latest data. Every figure carries
 * data-figure (its name in the API) so a test, or a person with the
 * inspector, can tell which number is which.
 */
import type {
  Alert,
  AlertThresholds,
  ReportStatus,
  MissingBuyer,
  RecentError,
  RetryEntry,
  Run,
  Summary,
  Verdict,
  Verification,
} from './api.ts';
import { fmt, h, num, row, table, time } from './dom.ts';

export interface Actions {
  /** Whether operator actions are available (a token was entered). */
  operator: boolean;
  retryBuyer(buyerNumber: string): void;
  acknowledge(alertId: string): void;
  /** Lets the next sync the mass-change guard would refuse through, once, and requests it. */
  approveMassChange(): void;
}

type Tone = 'good' | 'warn' | 'bad' | 'neutral';

function card(label: string, figure: string, value: string, tone: Tone, sub: Node | string | null): HTMLElement {
  return h(
    'div',
    { class: `card ${tone}` },
    h('div', { class: 'card-label' }, label),
    h('div', { class: 'card-value', 'data-figure': figure }, value),
    sub === null ? null : h('div', { class: 'card-sub' }, sub),
  );
}

const LEVEL_TONE: Record<Verdict['level'], Tone> = { ok: 'good', warning: 'warn', failing: 'bad', unknown: 'neutral' };
const LEVEL_WORD: Record<Verdict['level'], string> = {
  ok: 'In step',
  warning: 'Warning',
  failing: 'Failing',
  unknown: 'Not known yet',
};

/** The header's pill: the verdict's level in one word. */
export function status(v: Verdict): { text: string; tone: Tone } {
  return { text: LEVEL_WORD[v.level], tone: LEVEL_TONE[v.level] };
}

/** Where the runbook anchor lives on the server (served next to the page, docs/runbooks.md). */
function runbookLink(anchor: string): HTMLElement {
  return h('a', { href: `/${anchor}`, class: 'runbook' }, anchor);
}

function attemptText(v: Verdict): string {
  if (!v.lastAttemptStatus) return '';
  if (v.lastAttemptStatus === 'skipped')
    return `skipped (${v.lastAttemptSkippedKind === 'busy' ? 'another run held the lock' : 'sheet unchanged'})`;
  return v.lastAttemptStatus;
}

/**
 * The verdict, first on the page: what is wrong (or that nothing is), since
 * when, what to do with the runbook's section, then the last attempt, the
 * last success and the next scheduled sync.
 */
export function verdictSection(v: Verdict): HTMLElement {
  const tone = LEVEL_TONE[v.level];
  return h(
    'div',
    { class: `verdict ${tone}`, 'data-level': v.level, 'data-rule': v.rule },
    h('p', { class: 'verdict-level' }, h('span', { class: `pill ${tone}`, 'data-figure': 'verdictLevel' }, v.level)),
    h('h2', { class: 'verdict-headline', 'data-figure': 'verdictHeadline' }, v.headline),
    h('p', { class: 'verdict-reason', 'data-figure': 'verdictReason' }, v.reason),
    v.since ? h('p', { class: 'verdict-since' }, 'Since ', time(v.since), ` (${fmt.when(v.since)})`) : null,
    v.level === 'ok'
      ? null
      : h(
          'div',
          { class: 'verdict-todo' },
          h('strong', {}, 'What to do: '),
          h('span', { 'data-figure': 'verdictWhatToDo' }, v.whatToDo),
          ' ',
          h('span', { class: 'muted' }, 'Runbook: '),
          runbookLink(v.runbook),
        ),
    h(
      'dl',
      { class: 'timeline' },
      h(
        'div',
        {},
        h('dt', {}, 'Last attempt'),
        h(
          'dd',
          { 'data-figure': 'lastAttemptAt' },
          time(v.lastAttemptAt),
          v.lastAttemptStatus ? ` · ${attemptText(v)}` : '',
        ),
      ),
      h('div', {}, h('dt', {}, 'Last success'), h('dd', { 'data-figure': 'lastSuccessAt' }, time(v.lastSuccessAt))),
      h(
        'div',
        {},
        h('dt', {}, 'Next sync'),
        h(
          'dd',
          { 'data-figure': 'nextSyncAt' },
          v.nextSyncAt
            ? time(v.nextSyncAt)
            : h(
                'span',
                {
                  class: 'muted',
                  title: v.schedule ? 'no worker is alive to run it' : 'serve has not recorded its schedule',
                },
                'not known',
              ),
          v.schedule ? h('span', { class: 'muted' }, ` (schedule ${v.schedule} UTC)`) : null,
        ),
      ),
      h(
        'div',
        {},
        h('dt', {}, 'Health check'),
        h(
          'dd',
          { 'data-figure': 'lastCheckAt' },
          time(v.lastCheckAt),
          v.lastCheckAt ? ` · ${v.lastCheckHealthy ? 'healthy' : 'unhealthy'}` : '',
        ),
      ),
    ),
  );
}

/** t: the alert thresholds (from the API); without them, any failure is only a warning. */
export function cards(s: Summary, v: Verdict, ver: Verification | null, t: AlertThresholds | undefined): HTMLElement {
  const read = s.sheetReadAt !== null;
  const synced = s.lastSyncTime !== null;
  const rate = v.latestErrorRate;
  const errorRateMax = t ? Number(t.errorRateMax) : Infinity;
  const missingBuyersMax = t ? t.missingBuyersMax : Infinity;
  return h(
    'div',
    { class: 'cards' },
    card(
      'Buyers on the sheet',
      'spreadsheetCount',
      read ? fmt.int(s.spreadsheetCount) : '–',
      'neutral',
      read ? h('span', {}, 'distinct numbers, read ', time(s.sheetReadAt)) : 'the sheet has not been read yet',
    ),
    card(
      'Buyers in the database',
      'databaseCount',
      fmt.int(s.databaseCount),
      'neutral',
      read ? `${fmt.int(s.extraCount)} not on the sheet` : 'rows in buyers',
    ),
    card(
      'Missing from the database',
      'missingCount',
      read ? fmt.int(s.missingCount) : '–',
      !read
        ? 'neutral'
        : s.missingCount > missingBuyersMax
          ? 'bad'
          : s.missingCount > 0
            ? 'warn'
            : synced
              ? 'good'
              : 'neutral',
      read ? 'sheet buyers not in the database (set difference)' : 'not checked: the sheet has not been read yet',
    ),
    card(
      'Error rate, latest full sync',
      'errorRate',
      rate === null ? '–' : fmt.pct(rate),
      rate === null
        ? 'neutral'
        : v.latestRunStatus === 'failed' || Number(rate) > errorRateMax
          ? 'bad'
          : Number(rate) > 0
            ? 'warn'
            : 'good',
      rate === null
        ? 'no full sync finished yet'
        : v.latestRunStatus === 'failed'
          ? 'it failed: no row written (counts as 100 %)'
          : 'of its non-blank rows, not written',
    ),
    card(
      'Last successful sync',
      'lastSyncTime',
      synced ? fmt.ago(s.lastSyncTime) : 'never',
      synced ? 'neutral' : 'warn',
      synced
        ? `${fmt.duration(s.lastSyncDurationMs)}, ${fmt.int(s.lastSyncRowsPerSecond)} rows/s`
        : 'no full sync has succeeded yet',
    ),
    card(
      'Runs, last 24 h',
      'runs24H',
      fmt.int(s.runs24H),
      s.failedRuns24H > 0 ? 'warn' : 'neutral',
      `finished runs, ${fmt.int(s.failedRuns24H)} failed`,
    ),
    card(
      'Retry queue',
      'retryQueueSize',
      fmt.int(s.retryQueueSize),
      s.retryQueueSize > 0 ? 'warn' : 'neutral',
      s.oldestRetryAt ? h('span', {}, 'buyers waiting, oldest ', time(s.oldestRetryAt)) : 'empty',
    ),
    card(
      'Open alerts',
      'openAlerts',
      fmt.int(s.openAlerts),
      s.openAlerts > 0 ? 'bad' : 'good',
      `one per condition; ${fmt.int(s.permanentFailures)} buyer(s) failed for good`,
    ),
    card(
      'Latest verification',
      'verification',
      ver === null ? 'none yet' : ver.passed ? 'passed' : 'failed',
      ver === null ? 'neutral' : ver.passed ? 'good' : 'bad',
      ver === null ? 'buyer-sync verify' : time(ver.createdAt),
    ),
  );
}

function empty(text: string): HTMLElement {
  return h('p', { class: 'empty' }, text);
}

function more(shown: number, total: number, command: string): HTMLElement | null {
  return total > shown
    ? h('p', { class: 'more' }, `Showing ${fmt.int(shown)} of ${fmt.int(total)}. All of them: `, h('code', {}, command))
    : null;
}

export function alertsSection(alerts: Alert[], a: Actions): HTMLElement {
  if (alerts.length === 0)
    return empty(
      'No open alerts. An alert opens once per condition (a threshold crossed, a run whose buyers failed for good) and closes by itself when it clears.',
    );
  return h(
    'ul',
    { class: 'alerts' },
    ...alerts.map((al) =>
      h(
        'li',
        { class: `alert sev-${al.severity}`, 'data-alert': al.id },
        h(
          'div',
          { class: 'alert-head' },
          h('span', { class: 'sev' }, al.severity),
          h('strong', {}, al.type.replaceAll('_', ' ')),
          ' ',
          time(al.createdAt),
          al.acknowledgedAt ? h('span', { class: 'ack' }, 'acknowledged ', time(al.acknowledgedAt)) : null,
        ),
        h('p', { class: 'alert-message' }, al.message),
        h('details', {}, h('summary', {}, 'What to do'), h('p', {}, al.whatToDo)),
        a.operator && !al.acknowledgedAt
          ? h(
              'button',
              { type: 'button', 'data-key': `ack:${al.id}`, onclick: () => a.acknowledge(al.id) },
              'Acknowledge',
            )
          : null,
        a.operator && al.type === 'mass_change'
          ? h(
              'button',
              {
                type: 'button',
                'data-key': `approve:${al.id}`,
                title: 'The change is intended: let the next sync through the guard once, and run it now',
                onclick: () => a.approveMassChange(),
              },
              'Allow the mass change once',
            )
          : null,
      ),
    ),
  );
}

export function missingSection(missing: MissingBuyer[], s: Summary, a: Actions): HTMLElement {
  const total = s.missingCount;
  if (s.sheetReadAt === null)
    return empty('Not checked: the sheet has not been read yet. The first sync (or health check) reads it.');
  if (total === 0)
    return empty(`None: every buyer number on the sheet (read ${fmt.when(s.sheetReadAt)}) is in the database.`);
  const headers = ['Buyer number', 'Sheet row', 'Latest error', ...(a.operator ? [''] : [])];
  return h(
    'div',
    {},
    table(
      headers,
      missing.map((m) =>
        row(
          h('code', {}, m.buyerNumber),
          num(fmt.int(m.rowNumber)),
          m.lastErrorType ?? h('span', { class: 'muted' }, 'none logged'),
          ...(a.operator
            ? [
                h(
                  'button',
                  { type: 'button', 'data-key': `retry:${m.buyerNumber}`, onclick: () => a.retryBuyer(m.buyerNumber) },
                  'Sync now',
                ),
              ]
            : []),
        ),
      ),
      'Missing buyers',
    ),
    more(missing.length, total, 'npx buyer-sync missing'),
    h(
      'p',
      { class: 'hint' },
      'Why each failed: ',
      h('code', {}, 'npx buyer-sync errors --buyer <number>'),
      '. Fix the row on the sheet; the next sync writes it.',
    ),
  );
}

export function retrySection(entries: RetryEntry[], total: number, a: Actions): HTMLElement {
  if (total === 0) return empty('Empty: no buyer is waiting for a retry.');
  return h(
    'div',
    {},
    table(
      ['Buyer number', 'Sheet row', 'Failed attempts', 'Next retry', 'Why', ...(a.operator ? [''] : [])],
      entries.map((e) =>
        row(
          h('code', {}, e.buyerNumber),
          num(fmt.int(e.rowNumber)),
          num(fmt.int(e.attemptCount)),
          e.status === 'processing' ? 'retrying now' : time(e.nextRetryAt),
          [e.errorType, e.columnName].filter(Boolean).join(' in ') || '–',
          ...(a.operator
            ? [
                h(
                  'button',
                  { type: 'button', 'data-key': `retry:${e.buyerNumber}`, onclick: () => a.retryBuyer(e.buyerNumber) },
                  'Retry now',
                ),
              ]
            : []),
        ),
      ),
      'Retry queue',
    ),
    more(entries.length, total, "select * from retry_queue where status = 'pending'"),
  );
}

function outcome(r: Run): HTMLElement {
  const tone = r.status === 'succeeded' ? (r.failed > 0 ? 'warn' : 'good') : r.status === 'failed' ? 'bad' : 'neutral';
  const label =
    r.status === 'failed' && r.failure
      ? `failed (${r.failure})`
      : r.status === 'skipped'
        ? `skipped: ${r.skippedKind ?? 'unchanged'}`
        : r.status;
  return h('span', { class: `pill ${tone}`, title: r.errorMessage ?? r.skippedBecause ?? '' }, label);
}

export function runsSection(runs: Run[]): HTMLElement {
  if (runs.length === 0)
    return empty(
      'No sync has run yet. The worker runs one on its schedule; an operator can press "Sync now", or run npx buyer-sync sync.',
    );
  return table(
    ['Started', 'Mode', 'Outcome', 'Rows', 'Inserted', 'Updated', 'Failed', 'Error rate', 'Took'],
    runs.map((r) =>
      row(
        time(r.startedAt),
        r.mode,
        outcome(r),
        num(fmt.int(r.totalRows)),
        num(fmt.int(r.inserted)),
        num(fmt.int(r.updated)),
        num(fmt.int(r.failed)),
        num(r.errorRate === null ? '–' : fmt.pct(r.errorRate)),
        num(fmt.duration(r.durationMs)),
      ),
    ),
    'Recent runs',
  );
}

export function errorsSection(errors: RecentError[]): HTMLElement {
  if (errors.length === 0) return empty('No errors logged.');
  return table(
    ['When', 'Buyer number', 'Row', 'Column', 'Type', 'Rule'],
    errors.map((e) =>
      row(
        time(e.createdAt),
        e.buyerNumber ? h('code', {}, e.buyerNumber) : h('span', { class: 'muted' }, 'none'),
        num(fmt.int(e.rowNumber)),
        e.columnName ?? '–',
        e.errorType,
        h('span', { class: 'message' }, e.errorMessage),
      ),
    ),
    'Recent errors',
  );
}

/**
 * Where the sales team sees what failed: the report tab written back to the
 * spreadsheet (named, not linked: the page never carries the sheet's
 * address), or the command that prints the same report.
 */
function reportLine(r: ReportStatus | null): HTMLElement {
  if (r === null)
    return h(
      'p',
      { class: 'report-line', 'data-figure': 'reportStatus' },
      'Sync report: not written to the sheet (SHEET_REPORT_TAB is not set); ',
      h('code', {}, 'npx buyer-sync report --format md'),
      ' prints it.',
    );
  const written =
    r.writtenAt === null
      ? 'not written yet'
      : h('span', {}, 'written ', time(r.writtenAt), `, ${fmt.int(r.lines)} line(s)`);
  const failing =
    r.failingSince === null
      ? null
      : h(
          'span',
          { class: 'bad' },
          '; writes failing since ',
          time(r.failingSince),
          r.lastFailure ? ` (${r.lastFailure})` : '',
        );
  return h(
    'p',
    { class: 'report-line', 'data-figure': 'reportStatus' },
    `Sync report tab "${r.tab}" in the buyers spreadsheet: `,
    written,
    failing,
  );
}

export function verificationSection(v: Verification | null, report: ReportStatus | null = null): HTMLElement {
  if (v === null)
    return h(
      'div',
      { class: 'verification' },
      empty('No verification yet. One runs after each scheduled sync; run one now with npx buyer-sync verify.'),
      reportLine(report),
    );
  return h(
    'div',
    { class: 'verification' },
    h(
      'p',
      {},
      h('span', { class: `pill ${v.passed ? 'good' : 'bad'}` }, v.passed ? 'passed' : 'failed'),
      ' ',
      time(v.createdAt),
      ` (${v.trigger === 'after_sync' ? 'after a scheduled sync' : 'buyer-sync verify'})`,
    ),
    h('p', {}, v.summary),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Compared'),
      h('dd', {}, `${fmt.int(v.sampleSize)} buyer(s)`),
      h('dt', {}, 'Mismatched columns'),
      h('dd', {}, fmt.int(v.mismatchCount)),
      h('dt', {}, 'Missing'),
      h('dd', {}, fmt.int(v.missingCount)),
      h('dt', {}, 'Extra'),
      h('dd', {}, fmt.int(v.extraCount)),
    ),
    reportLine(report),
  );
}
