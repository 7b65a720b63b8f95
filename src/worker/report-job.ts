/**
 * The worker's report__write job: writes the sync report tab (src/report/tab.ts)
 * after a run finished, outside the run's transaction and its sync lock. Off
 * (SHEET_REPORT_TAB unset, or a configuration that cannot write) it returns
 * at once. A failed write (recorded, alerted once per condition) goes back to
 * the queue for later with its attempts whole (requeue.ts); it never fails a sync.
 */
import { writeReportTab, type ReportWriteResult } from '../report/tab.ts';
import { workerContext } from './context.ts';
import type { Requeue } from './requeue.ts';

export async function reportWriteJob(requeue?: Requeue): Promise<ReportWriteResult> {
  const c = workerContext();
  if (c.config.sheetReportTab === null) return { outcome: 'off', why: null };
  const r = await writeReportTab(c.pool, { config: c.config, mapping: c.mapping, log: c.log });
  switch (r.outcome) {
    case 'off':
      if (r.why) c.log(`report tab not written: ${r.why}`);
      return r;
    case 'unchanged':
      return r;
    case 'written':
      c.log(
        `report tab ${r.target} written: ${r.lines} line(s), ${r.requests} request(s)${r.recreated ? ' (the tab was re-created)' : ''}${r.notes ? `, ${r.notes} note(s) changed` : ''}`,
      );
      return r;
    case 'failed': {
      const at = new Date(Date.now() + r.retryInMs);
      c.log(
        `report tab ${r.target} not written (${r.status ?? r.failure}: ${r.message}); trying again at ${at.toISOString()}${r.alerted ? ' (report_write_failed alert raised)' : ''}`,
      );
      if (!requeue) throw new Error(`report tab not written: ${r.message}`);
      await requeue(at);
      return r;
    }
  }
}
