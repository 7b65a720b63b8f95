/**
 * The page's parts, each built from the latest data. Every figure carries
 * data-figure (its name in the API) so a test, or a person with the
 * inspector, can tell which number is which.
 */
import type { Alert, MissingBuyer, RecentError, RetryEntry, Run, Summary, Verification } from './api.ts';
import { fmt, h, num, row, table, time } from './dom.ts';

export interface Actions {
  /** Whether operator actions are available (a token was entered). */
  operator: boolean;
  retryBuyer(buyerNumber: string): void;
  acknowledge(alertId: string): void;
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

/** The verdict in the header: the first thing a person wants to know. */
export function status(s: Summary, alerts: Alert[], runs: Run[]): { text: string; tone: Tone } {
  if (alerts.some((a) => a.severity === 'critical' || a.severity === 'error')) return { text: `${fmt.int(s.openAlerts)} open alert(s)`, tone: 'bad' };
  if (s.lastSyncTime === null) {
    const failed = runs.find((r) => r.status === 'failed');
    return failed
      ? { text: `No full sync has succeeded yet: the latest failed (${failed.failure ?? 'error'})`, tone: 'bad' }
      : { text: 'Waiting for the first full sync', tone: 'neutral' };
  }
  if (s.missingCount > 0) return { text: `${fmt.int(s.missingCount)} buyer(s) missing`, tone: 'bad' };
  if (s.openAlerts > 0) return { text: `${fmt.int(s.openAlerts)} open alert(s)`, tone: 'warn' };
  return { text: 'In step: every sheet buyer is in the database', tone: 'good' };
}

export function cards(s: Summary, v: Verification | null): HTMLElement {
  const synced = s.lastSyncTime !== null;
  return h(
    'div',
    { class: 'cards' },
    card('Buyers on the sheet', 'spreadsheetCount', fmt.int(s.spreadsheetCount), 'neutral', h('span', {}, 'read ', time(s.sheetReadAt))),
    card('Buyers in the database', 'databaseCount', fmt.int(s.databaseCount), 'neutral', `${fmt.int(s.extraCount)} not on the sheet`),
    card('Missing from the database', 'missingCount', fmt.int(s.missingCount), s.missingCount > 0 ? 'bad' : synced ? 'good' : 'neutral', 'by set difference'),
    card('Error rate, last full sync', 'errorRate', synced ? fmt.pct(s.errorRate) : '–', !synced ? 'neutral' : Number(s.errorRate) > 5 ? 'bad' : Number(s.errorRate) > 0 ? 'warn' : 'good', 'of non-blank rows'),
    card(
      'Last full sync',
      'lastSyncTime',
      synced ? fmt.ago(s.lastSyncTime) : 'never',
      synced ? 'neutral' : 'warn',
      synced ? `${fmt.duration(s.lastSyncDurationMs)}, ${fmt.int(s.lastSyncRowsPerSecond)} rows/s` : 'the worker syncs on its schedule',
    ),
    card('Runs, last 24 h', 'runs24H', fmt.int(s.runs24H), s.failedRuns24H > 0 ? 'warn' : 'neutral', `${fmt.int(s.failedRuns24H)} failed`),
    card('Retry queue', 'retryQueueSize', fmt.int(s.retryQueueSize), s.retryQueueSize > 0 ? 'warn' : 'neutral', s.oldestRetryAt ? h('span', {}, 'oldest ', time(s.oldestRetryAt)) : 'empty'),
    card('Open alerts', 'openAlerts', fmt.int(s.openAlerts), s.openAlerts > 0 ? 'bad' : 'good', `${fmt.int(s.permanentFailures)} permanent failure(s)`),
    card(
      'Latest verification',
      'verification',
      v === null ? 'none yet' : v.passed ? 'passed' : 'failed',
      v === null ? 'neutral' : v.passed ? 'good' : 'bad',
      v === null ? 'buyer-sync verify' : time(v.createdAt),
    ),
  );
}

function empty(text: string): HTMLElement {
  return h('p', { class: 'empty' }, text);
}

function more(shown: number, total: number, command: string): HTMLElement | null {
  return total > shown ? h('p', { class: 'more' }, `Showing ${fmt.int(shown)} of ${fmt.int(total)}. All of them: `, h('code', {}, command)) : null;
}

export function alertsSection(alerts: Alert[], a: Actions): HTMLElement {
  if (alerts.length === 0) return empty('No open alerts. Alerts open when a threshold is crossed and close by themselves when it clears.');
  return h(
    'ul',
    { class: 'alerts' },
    ...alerts.map((al) =>
      h(
        'li',
        { class: `alert sev-${al.severity}`, 'data-alert': al.id },
        h('div', { class: 'alert-head' }, h('span', { class: 'sev' }, al.severity), h('strong', {}, al.type.replaceAll('_', ' ')), ' ', time(al.createdAt), al.acknowledgedAt ? h('span', { class: 'ack' }, 'acknowledged ', time(al.acknowledgedAt)) : null),
        h('p', { class: 'alert-message' }, al.message),
        h('details', {}, h('summary', {}, 'What to do'), h('p', {}, al.whatToDo)),
        a.operator && !al.acknowledgedAt ? h('button', { type: 'button', 'data-key': `ack:${al.id}`, onclick: () => a.acknowledge(al.id) }, 'Acknowledge') : null,
      ),
    ),
  );
}

export function missingSection(missing: MissingBuyer[], total: number, a: Actions): HTMLElement {
  if (total === 0) return empty('None: every buyer number on the sheet (its latest full read) is in the database.');
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
          ...(a.operator ? [h('button', { type: 'button', 'data-key': `retry:${m.buyerNumber}`, onclick: () => a.retryBuyer(m.buyerNumber) }, 'Sync now')] : []),
        ),
      ),
      'Missing buyers',
    ),
    more(missing.length, total, 'npx buyer-sync missing'),
    h('p', { class: 'hint' }, 'Why each failed: ', h('code', {}, 'npx buyer-sync errors --buyer <number>'), '. Fix the row on the sheet; the next sync writes it.'),
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
          ...(a.operator ? [h('button', { type: 'button', 'data-key': `retry:${e.buyerNumber}`, onclick: () => a.retryBuyer(e.buyerNumber) }, 'Retry now')] : []),
        ),
      ),
      'Retry queue',
    ),
    more(entries.length, total, 'select * from retry_queue where status = \'pending\''),
  );
}

function outcome(r: Run): HTMLElement {
  const tone = r.status === 'succeeded' ? (r.failed > 0 ? 'warn' : 'good') : r.status === 'failed' ? 'bad' : 'neutral';
  const label = r.status === 'failed' && r.failure ? `failed (${r.failure})` : r.status === 'skipped' ? 'skipped: unchanged' : r.status;
  return h('span', { class: `pill ${tone}`, title: r.errorMessage ?? r.skippedBecause ?? '' }, label);
}

export function runsSection(runs: Run[]): HTMLElement {
  if (runs.length === 0) return empty('No sync has run yet. The worker runs one on its schedule; an operator can press "Sync now", or run npx buyer-sync sync.');
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
    errors.map((e) => row(time(e.createdAt), e.buyerNumber ? h('code', {}, e.buyerNumber) : h('span', { class: 'muted' }, 'none'), num(fmt.int(e.rowNumber)), e.columnName ?? '–', e.errorType, h('span', { class: 'message' }, e.errorMessage))),
    'Recent errors',
  );
}

export function verificationSection(v: Verification | null): HTMLElement {
  if (v === null) return empty('No verification yet. One runs after each scheduled sync; run one now with npx buyer-sync verify.');
  return h(
    'div',
    { class: 'verification' },
    h('p', {}, h('span', { class: `pill ${v.passed ? 'good' : 'bad'}` }, v.passed ? 'passed' : 'failed'), ' ', time(v.createdAt), ` (${v.trigger === 'after_sync' ? 'after a scheduled sync' : 'buyer-sync verify'})`),
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
  );
}
