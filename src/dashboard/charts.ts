/**
 * The two charts, drawn with uPlot (a small canvas chart library): the error
 * rate per day (days with a successful sync), and errors per day by type (a
 * line per type, over the days with errors). Each chart also has a text
 * summary for screen readers.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { DailyError, DailyRun } from './api.ts';
import { fmt, h } from './dom.ts';

const ERROR_TYPE_COLORS: Record<string, string> = {
  field_length: '#c2410c',
  data_type: '#7c3aed',
  constraint_violation: '#b91c1c',
  transient: '#0369a1',
  unknown: '#4b5563',
};

const DAY = 86_400;

function css(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** A chart that follows its box's width. */
class Chart {
  private plot: uPlot | null = null;
  private readonly observer: ResizeObserver;
  readonly box: HTMLElement;
  constructor(box: HTMLElement) {
    this.box = box;
    this.observer = new ResizeObserver(() => this.plot?.setSize(this.size()));
    this.observer.observe(box);
  }
  private size() {
    return { width: Math.max(240, this.box.clientWidth), height: 200 };
  }
  draw(options: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData): void {
    this.plot?.destroy();
    this.box.replaceChildren();
    this.plot = new uPlot({ ...options, ...this.size() }, data, this.box);
  }
  empty(text: string): void {
    this.plot?.destroy();
    this.plot = null;
    this.box.replaceChildren(h('p', { class: 'empty' }, text));
  }
}

function axes(yLabel: string): uPlot.Axis[] {
  const stroke = css('--muted', '#555');
  const grid = { stroke: css('--grid', '#e5e7eb'), width: 1 };
  return [
    // Whole days only: a tick between two days would repeat a date.
    { stroke, grid, ticks: grid, space: 60, incrs: [DAY, 2 * DAY, 7 * DAY, 14 * DAY], values: (_u, splits) => splits.map((s) => fmt.day(s)) },
    { stroke, grid, ticks: grid, label: yLabel, size: 50 },
  ];
}

/** A day (YYYY-MM-DD) as seconds at its UTC midnight: the x axis is drawn in UTC, so a day is the same day in every browser. */
const daySeconds = (date: string) => Date.parse(`${date}T00:00:00Z`) / 1000;
const utc = (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');

/** A chart with its text summary beneath it. */
class CaptionedChart {
  protected readonly chart: Chart;
  protected readonly caption: HTMLElement;
  constructor(box: HTMLElement, caption: HTMLElement) {
    this.chart = new Chart(box);
    this.caption = caption;
  }
}

export class ErrorRateChart extends CaptionedChart {
  update(days: DailyRun[]): void {
    const withRows = days.filter((d) => Number(d.nonBlankRows) > 0);
    if (withRows.length === 0) {
      this.chart.empty('No successful sync in the last 30 days: nothing to chart yet.');
      this.caption.textContent = '';
      return;
    }
    const x = withRows.map((d) => daySeconds(d.day));
    const y = withRows.map((d) => Number(d.errorRate));
    const max = Math.max(...y);
    this.chart.draw(
      {
        scales: { x: { time: true, range: (_u, lo, hi) => [lo - DAY, hi + DAY] }, y: { range: [0, Math.max(5, Math.ceil(max * 1.2))] } },
        axes: axes('% of rows'),
        tzDate: utc,
        legend: { show: false },
        cursor: { show: true, drag: { x: false, y: false } },
        series: [
          {},
          {
            label: 'error rate',
            stroke: css('--accent', '#1f6f5c'),
            width: 2,
            fill: css('--accent-fill', 'rgba(31,111,92,0.12)'),
            points: { show: true, size: 6 },
            value: (_u, v) => (v === null ? '–' : fmt.pct(v)),
          },
        ],
      },
      [x, y],
    );
    const last = withRows[withRows.length - 1]!;
    this.caption.textContent = `${withRows.length} day(s) with syncs; highest ${fmt.pct(max)}; on ${fmt.day(last.day)} ${fmt.pct(last.errorRate)} of ${fmt.int(last.nonBlankRows)} rows failed.`;
  }
}

export class ErrorsByTypeChart extends CaptionedChart {
  update(rows: DailyError[]): void {
    if (rows.length === 0) {
      this.chart.empty('No errors logged in the last 30 days.');
      this.caption.textContent = '';
      return;
    }
    const days = [...new Set(rows.map((r) => daySeconds(r.day)))].sort((a, b) => a - b);
    const types = [...new Set(rows.map((r) => r.errorType))].sort();
    const index = new Map(days.map((d, i) => [d, i]));
    const series = types.map((t) => {
      const values: number[] = days.map(() => 0);
      for (const r of rows) if (r.errorType === t) values[index.get(daySeconds(r.day))!] = r.errors;
      return values;
    });
    this.chart.draw(
      {
        scales: { x: { time: true, range: (_u, lo, hi) => [lo - DAY, hi + DAY] }, y: { range: (_u, _lo, hi) => [0, Math.max(5, Math.ceil(hi * 1.2))] } },
        axes: axes('errors'),
        tzDate: utc,
        legend: { show: true, live: false },
        cursor: { show: true, drag: { x: false, y: false } },
        series: [
          {},
          ...types.map((t) => ({
            label: t,
            stroke: ERROR_TYPE_COLORS[t] ?? '#4b5563',
            width: 2,
            spanGaps: false,
            points: { show: true, size: 6 },
          })),
        ],
      },
      [days, ...series] as uPlot.AlignedData,
    );
    const totals = types.map((t) => `${t} ${fmt.int(rows.filter((r) => r.errorType === t).reduce((s, r) => s + r.errors, 0))}`);
    this.caption.textContent = `Errors over ${days.length} day(s): ${totals.join(', ')}.`;
  }
}
