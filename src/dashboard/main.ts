/**
 * The dashboard page: one GraphQL query every 15 seconds (paused while the
 * tab is hidden), rendered into a fixed skeleton. Operator actions appear
 * once an operator token is entered; the token stays in this tab only
 * (sessionStorage) and goes to the API as a bearer token.
 *
 * Keyboard: every control is a button or a link; "r" refreshes, "s" asks for
 * a sync (operators), "t" opens the token dialog, Esc closes it.
 */
import './style.css';
import {
  acknowledgeAlert,
  ApiError,
  approveMassChange,
  loadDashboard,
  requestSync,
  retryBuyer,
  type DashboardData,
} from './api.ts';
import { ErrorRateChart, FailingBuyersChart } from './charts.ts';
import { fmt, h } from './dom.ts';
import {
  alertsSection,
  cards,
  errorsSection,
  missingSection,
  retrySection,
  runsSection,
  status,
  verdictSection,
  verificationSection,
  type Actions,
} from './sections.ts';

const REFRESH_MS = 15_000;
const TOKEN_KEY = 'buyer-sync.operator-token';

let token: string | null = sessionStorage.getItem(TOKEN_KEY);
let data: DashboardData | null = null;
let loadedAt: Date | null = null;
let timer: number | undefined;
let inFlight: AbortController | null = null;

/* ------------------------------------------------------------- the skeleton */
const statusEl = h('p', { class: 'status neutral', id: 'status', role: 'status' }, 'Loading…');
const updatedEl = h('p', { class: 'updated', 'aria-live': 'off' });
const refreshBtn = h('button', { type: 'button', title: 'Refresh now (r)', onclick: () => void refresh() }, 'Refresh');
const syncBtn = h(
  'button',
  {
    type: 'button',
    class: 'primary',
    title: 'Ask the worker for a full sync now (s)',
    hidden: true,
    onclick: () => void syncNow(),
  },
  'Sync now',
);
const tokenBtn = h('button', { type: 'button', title: 'Operator token (t)', onclick: () => toggleToken() });
const banner = h('div', { class: 'banner', role: 'alert', hidden: true });
const notice = h('div', { class: 'notice', role: 'status', 'aria-live': 'polite' });
const verdictEl = h(
  'section',
  { id: 'verdict', 'aria-label': 'Verdict', 'aria-live': 'polite' },
  h('p', { class: 'loading' }, 'Loading…'),
);
const cardsEl = h('div', { id: 'figures' });
const rateBox = h('div', { class: 'chart' });
const rateCaption = h('p', { class: 'caption' });
const typeBox = h('div', { class: 'chart' });
const typeCaption = h('p', { class: 'caption' });

function section(
  id: string,
  title: string,
  countFigure: string | null,
): { el: HTMLElement; body: HTMLElement; count: HTMLElement } {
  const count = h('span', { class: 'count', ...(countFigure ? { 'data-figure': countFigure } : {}) });
  const body = h('div', { class: 'section-body' });
  const el = h(
    'section',
    { id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title, ' ', count),
    body,
  );
  return { el, body, count };
}
const alertsPart = section('alerts', 'Open alerts', 'alertsShown');
const missingPart = section('missing', 'Missing buyers', 'missingShown');
const retryPart = section('retry', 'Retry queue', 'retryShown');
const runsPart = section('runs', 'Recent runs', null);
const errorsPart = section('errors', 'Recent errors', null);
const verifyPart = section('verification', 'Latest verification', null);

const tokenInput = h('input', {
  type: 'password',
  id: 'token',
  name: 'token',
  autocomplete: 'off',
  spellcheck: false,
  required: true,
  minlength: 16,
});
const tokenError = h('p', { class: 'field-error', role: 'alert' });
const tokenDialog = h(
  'dialog',
  { 'aria-labelledby': 'token-title' },
  h(
    'form',
    { method: 'dialog', onsubmit: (e: Event) => void submitToken(e) },
    h('h2', { id: 'token-title' }, 'Operator token'),
    h(
      'p',
      {},
      'Operators can request a sync, retry a buyer and acknowledge alerts. The token is DASHBOARD_OPERATOR_TOKEN of the server; it stays in this browser tab.',
    ),
    h('label', { for: 'token' }, 'Token'),
    tokenInput,
    tokenError,
    h(
      'div',
      { class: 'dialog-buttons' },
      h('button', { type: 'button', onclick: () => tokenDialog.close() }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary' }, 'Use token'),
    ),
  ),
);

function mount(): void {
  const app = document.getElementById('app')!;
  app.replaceChildren(
    h('a', { class: 'skip', href: '#verdict' }, 'Skip to the verdict'),
    h(
      'header',
      {},
      h('div', { class: 'title' }, h('h1', {}, 'buyer-sync'), statusEl),
      h('div', { class: 'toolbar' }, updatedEl, refreshBtn, syncBtn, tokenBtn),
    ),
    banner,
    notice,
    h(
      'main',
      {},
      verdictEl,
      alertsPart.el,
      cardsEl,
      h(
        'div',
        { class: 'charts' },
        h(
          'figure',
          {},
          h('figcaption', {}, 'Error rate per day'),
          h(
            'p',
            { class: 'counts' },
            "Each day's last full sync: the percent of its non-blank rows it did not write. A failed run writes nothing and counts 100 %. The latest day matches the error-rate card.",
          ),
          rateBox,
          rateCaption,
        ),
        h(
          'figure',
          {},
          h('figcaption', {}, 'Failing buyers per day, by type'),
          h(
            'p',
            { class: 'counts' },
            'Distinct buyers whose rows failed that day, however often each was retried or synced; a row without a buyer number counts once.',
          ),
          typeBox,
          typeCaption,
        ),
      ),
      h('div', { class: 'grid' }, missingPart.el, retryPart.el, verifyPart.el),
      runsPart.el,
      errorsPart.el,
    ),
    h(
      'footer',
      {},
      'Data from ',
      h('a', { href: '/graphql' }, '/graphql'),
      ' (buyer_sync_api). No personal data is shown or sent to this page. Every figure is also a view in the database: see docs/analysts.md.',
    ),
    tokenDialog,
  );
  app.removeAttribute('aria-busy');
}

const rateChart = new ErrorRateChart(rateBox, rateCaption);
const typeChart = new FailingBuyersChart(typeBox, typeCaption);

/* ------------------------------------------------------------------ render */
const actions: Actions = {
  get operator() {
    return token !== null;
  },
  retryBuyer: (n) =>
    void act(
      () => retryBuyer(token!, n),
      (job) => `Requested: buyer ${n} is synced again as soon as the worker is free (job ${job}).`,
    ),
  acknowledge: (id) =>
    void act(
      () => acknowledgeAlert(token!, id),
      () => 'Alert acknowledged.',
    ),
  approveMassChange: () =>
    void act(
      async () => `${await approveMassChange(token!)}, job ${await requestSync(token!)}`,
      (ids) =>
        `Approved (approval ${ids}): the next sync goes through the mass-change guard once, and it runs as soon as the worker is free.`,
    ),
};

/** Re-rendering keeps the keyboard focus on the control it was on. */
function keepingFocus(render: () => void): void {
  const key = (document.activeElement as HTMLElement | null)?.dataset?.key;
  render();
  if (key) (document.querySelector(`[data-key="${CSS.escape(key)}"]`) as HTMLElement | null)?.focus();
}

function render(): void {
  tokenBtn.textContent = token ? 'Operator: sign out' : 'Operator token';
  syncBtn.hidden = token === null;
  if (!data) return;
  const d = data;
  keepingFocus(() => {
    const st = status(d.verdict);
    statusEl.textContent = st.text;
    statusEl.className = `status ${st.tone}`;
    verdictEl.replaceChildren(verdictSection(d.verdict));
    cardsEl.replaceChildren(cards(d.summary, d.verdict, d.latestVerification, d.alertThresholds[0]));
    alertsPart.count.textContent = String(d.alerts.length);
    alertsPart.body.replaceChildren(alertsSection(d.alerts, actions));
    missingPart.count.textContent = String(d.summary.missingCount);
    missingPart.body.replaceChildren(missingSection(d.missingBuyers, d.summary, actions));
    retryPart.count.textContent = String(d.summary.retryQueueSize);
    retryPart.body.replaceChildren(retrySection(d.retryEntries, d.summary.retryQueueSize, actions));
    runsPart.body.replaceChildren(runsSection(d.recentRuns));
    errorsPart.body.replaceChildren(errorsSection(d.recentErrors));
    verifyPart.body.replaceChildren(verificationSection(d.latestVerification, d.reportStatus[0] ?? null));
  });
  rateChart.update(d.dailyErrorRate);
  typeChart.update(d.dailyFailingBuyers);
}

function showBanner(text: string | null): void {
  banner.hidden = text === null;
  banner.textContent = text ?? '';
}

function say(text: string, tone: 'good' | 'bad' = 'good'): void {
  notice.className = `notice ${tone}`;
  notice.textContent = text;
}

function stamp(): void {
  updatedEl.textContent = loadedAt ? `Updated ${fmt.ago(loadedAt.toISOString())}` : '';
  updatedEl.title = loadedAt ? `${fmt.when(loadedAt.toISOString())}; refreshes every ${REFRESH_MS / 1000} s` : '';
}

/* ----------------------------------------------------------------- loading */
async function refresh(): Promise<void> {
  window.clearTimeout(timer);
  inFlight?.abort();
  const controller = new AbortController();
  inFlight = controller;
  refreshBtn.disabled = true;
  try {
    data = await loadDashboard(token, controller.signal);
    loadedAt = new Date();
    showBanner(null);
    render();
  } catch (err) {
    if (controller.signal.aborted) return;
    if (err instanceof ApiError && err.kind === 'unauthorized' && token !== null) {
      forgetToken();
      say(`The operator token was refused (${err.message}); showing the read-only dashboard.`, 'bad');
      return void refresh();
    }
    const what =
      err instanceof ApiError && err.kind === 'network'
        ? `${err.message}. Is buyer-sync serve running? The page tries again every ${REFRESH_MS / 1000} s.`
        : `The API failed: ${(err as Error).message}. The page tries again every ${REFRESH_MS / 1000} s; the service log says more.`;
    showBanner(data ? `${what} The figures below are from ${fmt.when(loadedAt?.toISOString())}.` : what);
    if (!data) statusEl.textContent = 'No data';
  } finally {
    if (inFlight === controller) {
      inFlight = null;
      refreshBtn.disabled = false;
      stamp();
      if (document.visibilityState === 'visible') timer = window.setTimeout(() => void refresh(), REFRESH_MS);
    }
  }
}

/* --------------------------------------------------------------- operators */
async function act(run: () => Promise<string>, done: (result: string) => string): Promise<void> {
  if (token === null) return;
  try {
    say(done(await run()));
  } catch (err) {
    if (err instanceof ApiError && (err.kind === 'unauthorized' || err.kind === 'forbidden')) forgetToken();
    say(`Not done: ${(err as Error).message}`, 'bad');
  }
  await refresh();
}

function syncNow(): void {
  void act(
    () => requestSync(token!),
    (job) => `Requested: a full sync runs as soon as the worker is free (job ${job}).`,
  );
}

function forgetToken(): void {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  render();
}

function toggleToken(): void {
  if (token !== null) {
    forgetToken();
    say('Signed out: the dashboard is read-only.');
    return;
  }
  tokenError.textContent = '';
  tokenInput.value = '';
  tokenDialog.showModal();
  tokenInput.focus();
}

async function submitToken(e: Event): Promise<void> {
  e.preventDefault();
  const candidate = tokenInput.value.trim();
  try {
    // Any query with the token proves it: a wrong one is answered 401.
    data = await loadDashboard(candidate);
  } catch (err) {
    tokenError.textContent =
      err instanceof ApiError && err.kind === 'unauthorized'
        ? err.message
        : `Could not check the token: ${(err as Error).message}`;
    tokenInput.focus();
    return;
  }
  token = candidate;
  sessionStorage.setItem(TOKEN_KEY, candidate);
  tokenDialog.close();
  say('Operator actions are on for this tab.');
  loadedAt = new Date();
  render();
  tokenBtn.focus();
}

/* ------------------------------------------------------------------- start */
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || tokenDialog.open) return;
  const target = e.target as HTMLElement;
  if (target.closest('input, textarea, select, [contenteditable]')) return;
  if (e.key === 'r') void refresh();
  else if (e.key === 's' && token !== null) syncNow();
  else if (e.key === 't') toggleToken();
});
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') void refresh();
  else window.clearTimeout(timer);
});
window.setInterval(stamp, 5_000);

mount();
render();
void refresh();
