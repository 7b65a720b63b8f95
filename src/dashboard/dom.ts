/**
 * Building the page from data without ever parsing it as HTML: every value
 * (a buyer number from the sheet, an error message) becomes text.
 */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const percent = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
// Days come from the API as dates (YYYY-MM-DD, the database's days): shown as such, wherever the browser is.
const shortDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });

export const fmt = {
  int: (n: number | string | null | undefined) => (n === null || n === undefined ? '–' : integer.format(Number(n))),
  pct: (n: number | string | null | undefined) =>
    n === null || n === undefined ? '–' : `${percent.format(Number(n))} %`,
  when: (iso: string | null | undefined) => (iso ? dateTime.format(new Date(iso)) : '–'),
  /** A date (YYYY-MM-DD) or UTC-midnight seconds, as "Nov 29". */
  day: (date: string | number) =>
    shortDay.format(typeof date === 'number' ? new Date(date * 1000) : new Date(`${date}T00:00:00Z`)),
  duration(ms: number | null | undefined): string {
    if (ms === null || ms === undefined) return '–';
    if (ms < 1000) return `${ms} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
    return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  },
  /** "3 min ago", "in 4 min": relative to now. */
  ago(iso: string | null | undefined, now = Date.now()): string {
    if (!iso) return 'never';
    const s = Math.round((new Date(iso).getTime() - now) / 1000);
    const a = Math.abs(s);
    const text =
      a < 45
        ? `${a} s`
        : a < 3600
          ? `${Math.round(a / 60)} min`
          : a < 172_800
            ? `${Math.round(a / 3600)} h`
            : `${Math.round(a / 86_400)} days`;
    if (a < 5) return 'just now';
    return s < 0 ? `${text} ago` : `in ${text}`;
  },
};

/** A time shown relative, with the exact time on hover and for screen readers. */
export function time(iso: string | null | undefined): HTMLElement {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  return h('time', { datetime: iso, title: fmt.when(iso) }, fmt.ago(iso));
}

/** Rows a table shows before "Show all": long tables page instead of scrolling inside a box (no half-cut row). */
const PAGE_ROWS = 10;

/**
 * A table with a header row; rows are built by the caller. Each cell carries
 * its column's name (data-label): on a narrow screen the cells stack under
 * their names (style.css), so no column is squeezed to a sliver. Beyond
 * PAGE_ROWS rows, the rest wait behind a "Show all" button.
 */
export function table(headers: string[], rows: HTMLTableRowElement[], label: string): HTMLElement {
  for (const r of rows) [...r.cells].forEach((c, i) => headers[i] && c.setAttribute('data-label', headers[i]));
  const hidden = rows.slice(PAGE_ROWS);
  for (const r of hidden) r.hidden = true;
  const toggle =
    hidden.length === 0
      ? null
      : h(
          'button',
          {
            type: 'button',
            class: 'show-all',
            'data-key': `show:${label}`,
            onclick: (e: Event) => {
              for (const r of hidden) r.hidden = false;
              (e.currentTarget as HTMLElement).remove();
            },
          },
          `Show all ${rows.length} (${hidden.length} more)`,
        );
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': label },
    h(
      'table',
      { class: 'stack' },
      h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...rows),
    ),
    toggle,
  );
}

export function row(...cells: (Child | HTMLTableCellElement)[]): HTMLTableRowElement {
  return h('tr', {}, ...cells.map((c) => (c instanceof HTMLTableCellElement ? c : h('td', {}, c))));
}

export function num(value: Child): HTMLTableCellElement {
  return h('td', { class: 'num' }, value);
}
