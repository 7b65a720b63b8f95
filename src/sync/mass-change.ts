/**
 * The mass-change guard. A run that would change the text of a large share
 * of the buyers the database already holds is almost never intended: a
 * wrong encoding not yet imagined, columns shifted by one, the wrong tab, a
 * sort gone wrong, a formula copied down. The run has done its writes in its
 * transaction; before it commits, the guard counts what it updated
 * (sync_buyer_changes) against the buyers held before it, and a run beyond
 * the limits (MassChangeLimits) is rolled back, recorded and alerted, unless
 * the operator let it through: `--allow-mass-change` for that run, or a
 * one-shot approval from SQL or the dashboard, used by the run that commits.
 *
 * Buyers are never deleted, so updates are what the guard watches. Cheap:
 * below `min` updated buyers nothing is counted.
 */
import type pg from 'pg';
import { CannotRunError } from '../errors.ts';
import type { Mapping } from '../mapping/mapping.ts';
import type { RaisedAlert } from './sql/alerts.ts';
import { mostChangedColumns, tableCount, useApproval } from './sql/mass-change.ts';
import type { MassChangeLimits, MassChangeVerdict } from './types.ts';

const fmt = (n: number) => n.toLocaleString('en-US');

/** The run the guard refused: rolled back, recorded (failure mass_change), alerted. */
export class MassChangeRefused extends CannotRunError {
  readonly verdict: MassChangeVerdict;
  /** The mass_change alert raised for it (engine.ts), to deliver before the command exits. */
  alerts: RaisedAlert[] = [];
  constructor(verdict: MassChangeVerdict) {
    super(`the mass-change guard refused it: ${describeMassChange(verdict)}. ${MASS_CHANGE_HOW_TO}`);
    this.name = 'MassChangeRefused';
    this.verdict = verdict;
  }
}

/** What to do about a refusal, in one sentence. */
const MASS_CHANGE_HOW_TO =
  'Check the sheet (encoding, shifted or renamed columns, the right tab; `buyer-sync sync --dry-run` lists what would change); ' +
  'if the change is intended, run `buyer-sync sync --allow-mass-change`, or approve the next run once: ' +
  '`select buyer_sync.approve_mass_change()` (or the dashboard)';

/** The verdict in words, without values: counts, share, limits and the columns most changed. */
export function describeMassChange(v: MassChangeVerdict): string {
  const columns =
    v.columns.length > 0 ? `; most changed: ${v.columns.map((c) => `${c.column} (${fmt(c.buyers)})`).join(', ')}` : '';
  return (
    `it would update ${fmt(v.updated)} of the ${fmt(v.existing)} buyers in the database (${v.percent} %; ` +
    `the limit is ${v.limits.maxPercent} %, SYNC_MAX_CHANGED_PERCENT, once at least ${fmt(v.limits.min)} buyers change, SYNC_MAX_CHANGED_MIN)${columns}`
  );
}

/** The alert's details: counts and column names, never a value. */
export function massChangeDetails(v: MassChangeVerdict, runId: string): Record<string, unknown> {
  return { run_id: runId, ...massChangeFigures(v) };
}

/** The guard's figures as the alert's details and `sync --dry-run --json`'s mass_change name them. */
export function massChangeFigures(v: MassChangeVerdict) {
  return {
    updated: v.updated,
    existing: v.existing,
    percent: v.percent,
    max_percent: v.limits.maxPercent,
    min: v.limits.min,
    columns: v.columns,
  };
}

/**
 * Judges the run's updates inside its transaction (after its last write,
 * before its commit). Returns null when the run stays within the limits
 * and `always` is false (nothing counted); otherwise the verdict. A run beyond
 * them without --allow-mass-change uses an open approval if there is one.
 */
export async function judgeMassChange(
  client: pg.ClientBase,
  a: {
    runId: string;
    mapping: Mapping;
    updated: number;
    inserted: number;
    limits: MassChangeLimits;
    allow: boolean;
    always: boolean;
  },
): Promise<MassChangeVerdict | null> {
  const atLeast = Math.max(a.limits.min, 1);
  if (a.updated < atLeast && !a.always) return null;
  const existing = Math.max((await tableCount(client, a.mapping)) - a.inserted, a.updated);
  const percent = existing === 0 ? 0 : Math.round((a.updated / existing) * 10_000) / 100;
  const beyond = a.updated >= atLeast && a.updated * 100 > a.limits.maxPercent * existing;
  if (!beyond && !a.always) return null;
  const columns = a.updated > 0 ? await mostChangedColumns(client, a.runId) : [];
  let allowedBy: MassChangeVerdict['allowedBy'] = null;
  if (beyond && a.allow) allowedBy = 'flag';
  else if (beyond) {
    // Inside the run's transaction: used only if the run commits (a dry run rolls it back).
    const approval = await useApproval(client, a.runId);
    if (approval !== null) allowedBy = { approval };
  }
  return { updated: a.updated, existing, percent, limits: a.limits, beyond, allowedBy, columns };
}
