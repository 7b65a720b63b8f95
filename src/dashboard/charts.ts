/**
 * The two charts, drawn with uPlot (a small canvas chart library), both
 * counting what a person cares about, not repetitions:
 * - the error rate per day: the day's last full sync, the percent of its
 *   non-blank rows it did not write (a failed run wrote nothing: 100 %), the
 *   same figure as the verdict's latest error rate on the latest day;
 * - failing buyers per day by type: distinct buyers, however often each was
 *   retried or synced that day.
 * Each chart also has a text summary for screen readers.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { DailyErrorRate, DailyFailingBuyers } from './api.ts';
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
    {
      stroke,
      grid,
      ticks: grid,
      space: 60,
      incrs: [DAY, 2 * DAY, 7 * DAY, 14 * DAY],
      values: (_u, splits) => splits.map((s) => fmt.day(s)),
    },
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
  update(days: DailyErrorRate[]): void {
    if (days.length === 0) {
      this.chart.empty('No full sync finished in the last 30 days: nothing to chart yet.');
      this.caption.textContent = '';
      return;
    }
    const x = days.map((d) => daySeconds(d.day));
    const y = days.map((d) => Number(d.errorRate));
    const max = Math.max(...y);
    this.chart.draw(
      {
        scales: {
          x: { time: true, range: (_u, lo, hi) => [lo - DAY, hi + DAY] },
          y: { range: [0, Math.max(5, Math.min(100, Math.ceil(max * 1.2)))] },
        },
        axes: axes('% not written'),
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
    const last = days[days.length - 1]!;
    const failedDays = days.filter((d) => d.lastStatus === 'failed').length;
    this.caption.textContent =
      `${days.length} day(s) with full syncs; highest ${fmt.pct(max)}. ` +
      (last.lastStatus === 'failed'
        ? `On ${fmt.day(last.day)} the last full sync failed (${last.lastFailure ?? 'error'}): ${fmt.pct(last.errorRate)}, nothing written.`
        : `On ${fmt.day(last.day)} ${fmt.pct(last.errorRate)}: ${fmt.int(last.failedRows)} of ${fmt.int(last.nonBlankRows)} rows failed.`) +
      (failedDays > 0 ? ` ${failedDays} day(s) ended with a failed sync.` : '');
  }
}

export class FailingBuyersChart extends CaptionedChart {
  update(rows: DailyFailingBuyers[]): void {
    if (rows.length === 0) {
      this.chart.empty('No buyer failed in the last 30 days.');
      this.caption.textContent = '';
      return;
    }
    const days = [...new Set(rows.map((r) => daySeconds(r.day)))].sort((a, b) => a - b);
    const types = [...new Set(rows.map((r) => r.errorType))].sort();
    const index = new Map(days.map((d, i) => [d, i]));
    const series = types.map((t) => {
      const values: number[] = days.map(() => 0);
      for (const r of rows) if (r.errorType === t) values[index.get(daySeconds(r.day))!] = r.buyers;
      return values;
    });
    this.chart.draw(
      {
        scales: {
          x: { time: true, range: (_u, lo, hi) => [lo - DAY, hi + DAY] },
          y: { range: (_u, _lo, hi) => [0, Math.max(5, Math.ceil(hi * 1.2))] },
        },
        axes: axes('buyers'),
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
    const lastDay = rows.reduce((a, r) => (r.day > a ? r.day : a), rows[0]!.day);
    const onLast = rows.filter((r) => r.day === lastDay);
    this.caption.textContent = `On ${fmt.day(lastDay)} ${fmt.int(onLast[0]!.buyersAllTypes)} distinct buyer(s) failed: ${onLast.map((r) => `${r.errorType} ${fmt.int(r.buyers)}`).join(', ')}.`;
  }
}
