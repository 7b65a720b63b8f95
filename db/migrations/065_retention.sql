-- migrate:up

/*
 * Bounded history (issue 16, item 4). Nothing pruned anything: a soak of
 * 0.9.1 grew by 0.12 MB a minute at a sync a minute (sync_runs, skipped ones
 * too, sync_error_log, verification findings, failed graphile-worker jobs,
 * alerts), some 170 MB a day. Now each kind of history is kept for the time
 * in buyer_sync.retention (one row per kind, changed with update), and
 * buyer_sync.prune_history(batch_size) deletes what is older, one bounded
 * round at a time: every statement deletes at most batch_size rows, so a
 * huge backlog never holds its locks for long. The daily task
 * history__prune calls it until a round deletes nothing.
 *
 * What is never deleted: buyers; an open alert; a running run; the latest
 * full sync that succeeded (per source) and the latest that succeeded or
 * found the sheet unchanged (the unchanged-sheet check and the stale_sync
 * alert read them); the latest verification report and the latest health
 * check (the dashboard shows them); and anything still referenced by a row
 * that is kept: a run named by a kept retry-queue entry, verification report,
 * health check, the sheet snapshot, a mass-change approval or an open alert
 * (details.run_id), a report named by an open alert, a failed retry entry
 * whose buyer's permanent_failure alert is open (details.buyer_number, or among
 * details.buyer_numbers when one alert names the buyers of a run).
 *
 * Foreign keys: sync_buyer_changes (on delete cascade) and sync_error_log (on
 * delete set null) go with their run; they are deleted first, in batches, and
 * a run only once it has none left, so no cascade or set null ever touches
 * more than a handful of rows. The same for verification findings and
 * mismatches (cascade) before their report, and a resolution notice (cascade)
 * before the alert it resolves. Indexes on the remaining referencing columns
 * keep the foreign-key checks of a deleted run from scanning whole tables.
 */

create table buyer_sync.retention (
  kind       text primary key,
  keep       interval not null check (keep > interval '0'),
  applies_to text not null
);
comment on table buyer_sync.retention is
  E'How long each kind of history is kept before buyer_sync.prune_history() (the daily history__prune task) deletes it. '
  'Operator-editable: update buyer_sync.retention set keep = interval ''180 days'' where kind = ''runs''; the next prune applies it. '
  'Rows that something kept still refers to are kept whatever their age.';
comment on column buyer_sync.retention.kind is E'The kind of history (runs, skipped_runs, verifications, verification_details, health_metrics, closed_retries, resolved_alerts, failed_jobs).';
comment on column buyer_sync.retention.keep is E'How long after its time (applies_to says which) a row is kept; must be positive.';
comment on column buyer_sync.retention.applies_to is E'Which rows the kind covers and which timestamp counts.';

insert into buyer_sync.retention (kind, keep, applies_to) values
  ('runs', interval '90 days',
   'sync_runs that finished (succeeded or failed), by started_at, with their sync_error_log rows and sync_buyer_changes (which cannot outlive their run); error-log rows without a run by created_at'),
  ('skipped_runs', interval '7 days',
   'sync_runs skipped because the sheet was unchanged or a sync was already running, by started_at'),
  ('verifications', interval '90 days',
   'buyer_sync.verification_reports, by created_at, with whatever findings and mismatches they still have'),
  ('verification_details', interval '30 days',
   'buyer_sync.verification_findings and verification_mismatches of reports that passed, by the report''s created_at (a failed report keeps its details as long as the report)'),
  ('health_metrics', interval '90 days',
   'sync_health_metrics (one per health check), by check_time'),
  ('closed_retries', interval '90 days',
   'retry_queue entries that are closed (succeeded or failed), by resolved_at (updated_at when unset); open entries are never deleted'),
  ('resolved_alerts', interval '180 days',
   'sync_alerts that were resolved, by resolved_at, with their resolution notice; an open alert is never deleted'),
  ('failed_jobs', interval '30 days',
   'graphile_worker jobs that failed for good (attempts = max_attempts, not locked), by updated_at (their last attempt)');

/* The foreign keys to sync_runs that had no index: each deleted run's set-null check would scan the whole table. */
create index sync_health_metrics_run_id_idx on public.sync_health_metrics (run_id);
comment on index public.sync_health_metrics_run_id_idx is E'For the foreign-key check when a run is pruned (buyer_sync.prune_history).';
create index verification_reports_run_id_idx on buyer_sync.verification_reports (run_id);
comment on index buyer_sync.verification_reports_run_id_idx is E'For the foreign-key check when a run is pruned (buyer_sync.prune_history).';
create index retry_queue_last_run_id_idx on public.retry_queue (last_run_id);
comment on index public.retry_queue_last_run_id_idx is E'For the foreign-key check when a run is pruned (buyer_sync.prune_history).';
create index retry_queue_resolved_run_id_idx on public.retry_queue (resolved_run_id);
comment on index public.retry_queue_resolved_run_id_idx is E'For the foreign-key check when a run is pruned (buyer_sync.prune_history).';

/* How long a kind is kept; an unknown kind (a deleted row) keeps everything. */
create function buyer_sync_private.retention_cutoff(which text)
returns timestamptz
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce((select now() - r.keep from buyer_sync.retention r where r.kind = which), '-infinity'::timestamptz)
$$;
comment on function buyer_sync_private.retention_cutoff(text) is
  E'now() minus the kind''s keep in buyer_sync.retention: rows older than this may be pruned. -infinity (nothing is pruned) when the kind has no row.';

/*
 * Runs old enough to go that nothing kept refers to (other than their own
 * error-log rows and buyer changes, which go first). SQL, not PL/pgSQL, so
 * that the planner inlines it into the statements that use it.
 */
create function buyer_sync_private.prunable_runs(runs_cutoff timestamptz, skipped_cutoff timestamptz)
returns setof uuid
language sql stable
as $$
  select r.id
    from public.sync_runs r
   where ((r.status in ('succeeded', 'failed') and r.started_at < runs_cutoff)
          or (r.status = 'skipped' and r.started_at < skipped_cutoff))
     and r.id is distinct from (select l.id from public.sync_runs l
                                 where l.mode = 'full' and l.status in ('succeeded', 'skipped')
                                 order by l.started_at desc limit 1)
     and (r.mode <> 'full' or r.status <> 'succeeded'
          or exists (select 1 from public.sync_runs l
                      where l.mode = 'full' and l.status = 'succeeded' and l.source = r.source and l.started_at > r.started_at))
     and not exists (select 1 from public.retry_queue q where q.last_run_id = r.id)
     and not exists (select 1 from public.retry_queue q where q.resolved_run_id = r.id)
     and not exists (select 1 from buyer_sync.verification_reports v where v.run_id = r.id)
     and not exists (select 1 from public.sync_health_metrics m where m.run_id = r.id)
     and not exists (select 1 from buyer_sync_private.sheet_snapshot s where s.run_id = r.id)
     and not exists (select 1 from buyer_sync_private.mass_change_approvals a where a.used_by_run = r.id)
     and not exists (select 1 from public.sync_alerts a
                      where a.resolved_at is null and a.resolves is null
                        and (a.details->>'run_id' = r.id::text
                             or a.details->'latest_failures' @> jsonb_build_array(jsonb_build_object('run_id', r.id))))
$$;
comment on function buyer_sync_private.prunable_runs(timestamptz, timestamptz) is
  E'Finished runs started before runs_cutoff, and skipped runs before skipped_cutoff, that may be pruned: not the latest successful full sync of their source, '
  'not the latest successful or skipped full sync, and named by no retry-queue entry, verification report, health check, sheet snapshot, mass-change approval or open alert.';

/* Verification reports old enough to lose their details (whole = false) or to go altogether (whole = true). */
create function buyer_sync_private.prunable_reports(reports_cutoff timestamptz, details_cutoff timestamptz)
returns table (id uuid, whole boolean)
language sql stable
as $$
  select v.id, v.created_at < reports_cutoff
    from buyer_sync.verification_reports v
   where (v.created_at < reports_cutoff or (v.passed and v.created_at < details_cutoff))
     and v.id is distinct from (select l.id from buyer_sync.verification_reports l order by l.created_at desc, l.id limit 1)
     and not exists (select 1 from public.sync_alerts a
                      where a.resolved_at is null and a.resolves is null and a.details->>'report_id' = v.id::text)
$$;
comment on function buyer_sync_private.prunable_reports(timestamptz, timestamptz) is
  E'Verification reports whose findings and mismatches may be pruned (passed before details_cutoff, or any before reports_cutoff), and whether the report itself may go (whole: before reports_cutoff). '
  'Never the latest report, nor one an open alert names.';

create function buyer_sync.prune_history(batch_size integer default 5000)
returns table (table_name text, deleted bigint)
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  n bigint;
  lim constant integer := batch_size;  -- sync_runs has a column batch_size
  runs_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('runs');
  skipped_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('skipped_runs');
  reports_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('verifications');
  details_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('verification_details');
  metrics_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('health_metrics');
  retries_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('closed_retries');
  alerts_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('resolved_alerts');
  jobs_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('failed_jobs');
begin
  if batch_size is null or batch_size < 1 then
    raise exception 'batch_size must be a positive number (got %)', batch_size;
  end if;

  -- Failed graphile-worker jobs, through graphile-worker's own admin function (it deletes only unlocked jobs).
  select count(*) into n
    from graphile_worker.complete_jobs(array(
           select j.id from graphile_worker.jobs j
            where j.attempts >= j.max_attempts and j.locked_at is null and j.updated_at < jobs_cutoff
            order by j.id limit lim));
  table_name := 'graphile_worker.jobs'; deleted := n; return next;

  -- Resolved alerts: their resolution notices first (on delete cascade), then the alerts that have none left.
  delete from public.sync_alerts x
   where x.ctid = any(array(
           select s.ctid from public.sync_alerts s join public.sync_alerts a on a.id = s.resolves
            where a.resolves is null and a.resolved_at < alerts_cutoff
            limit lim));
  get diagnostics n = row_count;
  delete from public.sync_alerts x
   where x.ctid = any(array(
           select a.ctid from public.sync_alerts a
            where a.resolves is null and a.resolved_at < alerts_cutoff
              and not exists (select 1 from public.sync_alerts s where s.resolves = a.id)
            limit lim));
  get diagnostics deleted = row_count;
  table_name := 'sync_alerts'; deleted := deleted + n; return next;

  -- Verification: details of old passed reports, details of reports about to go, then the reports left without any.
  delete from buyer_sync.verification_findings x
   where x.ctid = any(array(
           select f.ctid from buyer_sync.verification_findings f
             join buyer_sync_private.prunable_reports(reports_cutoff, details_cutoff) p on p.id = f.report_id
            limit lim));
  get diagnostics n = row_count;
  table_name := 'buyer_sync.verification_findings'; deleted := n; return next;
  delete from buyer_sync.verification_mismatches x
   where x.ctid = any(array(
           select m.ctid from buyer_sync.verification_mismatches m
             join buyer_sync_private.prunable_reports(reports_cutoff, details_cutoff) p on p.id = m.report_id
            limit lim));
  get diagnostics n = row_count;
  table_name := 'buyer_sync.verification_mismatches'; deleted := n; return next;
  delete from buyer_sync.verification_reports x
   where x.id = any(array(
           select p.id from buyer_sync_private.prunable_reports(reports_cutoff, details_cutoff) p
            where p.whole
              and not exists (select 1 from buyer_sync.verification_findings f where f.report_id = p.id)
              and not exists (select 1 from buyer_sync.verification_mismatches m where m.report_id = p.id)
            limit lim));
  get diagnostics n = row_count;
  table_name := 'buyer_sync.verification_reports'; deleted := n; return next;

  -- Health checks (the latest one stays: the dashboard shows it).
  delete from public.sync_health_metrics x
   where x.id = any(array(
           select m.id from public.sync_health_metrics m
            where m.check_time < metrics_cutoff
              and m.id is distinct from (select l.id from public.sync_health_metrics l order by l.check_time desc, l.id limit 1)
            limit lim));
  get diagnostics n = row_count;
  table_name := 'sync_health_metrics'; deleted := n; return next;

  -- Closed retry entries; never an open one, nor a failed one whose permanent_failure alert is open.
  delete from public.retry_queue x
   where x.id = any(array(
           select q.id from public.retry_queue q
            where q.status in ('succeeded', 'failed') and coalesce(q.resolved_at, q.updated_at) < retries_cutoff
              and not exists (select 1 from public.sync_alerts a
                               where a.type = 'permanent_failure' and a.resolved_at is null and a.resolves is null
                                 and (a.details->>'buyer_number' = q.buyer_number
                                      or coalesce(a.details->'buyer_numbers', '[]'::jsonb) ? q.buyer_number))
            limit lim));
  get diagnostics n = row_count;
  table_name := 'retry_queue'; deleted := n; return next;

  -- Runs: their error log and buyer changes first, then the runs that have none left.
  delete from public.sync_error_log x
   where x.id = any(array(
           select e.id from public.sync_error_log e
            where e.run_id in (select p.id from buyer_sync_private.prunable_runs(runs_cutoff, skipped_cutoff) p(id))
            limit lim));
  get diagnostics n = row_count;
  delete from public.sync_error_log x
   where x.id = any(array(
           select e.id from public.sync_error_log e
            where e.run_id is null and e.created_at < runs_cutoff
            limit lim));
  get diagnostics deleted = row_count;
  table_name := 'sync_error_log'; deleted := deleted + n; return next;
  delete from public.sync_buyer_changes x
   where (x.run_id, x.buyer_number) in (
           select c.run_id, c.buyer_number from public.sync_buyer_changes c
            where c.run_id in (select p.id from buyer_sync_private.prunable_runs(runs_cutoff, skipped_cutoff) p(id))
            limit lim);
  get diagnostics n = row_count;
  table_name := 'sync_buyer_changes'; deleted := n; return next;
  delete from public.sync_runs x
   where x.id = any(array(
           select p.id from buyer_sync_private.prunable_runs(runs_cutoff, skipped_cutoff) p(id)
            where not exists (select 1 from public.sync_error_log e where e.run_id = p.id)
              and not exists (select 1 from public.sync_buyer_changes c where c.run_id = p.id)
            limit lim));
  get diagnostics n = row_count;
  table_name := 'sync_runs'; deleted := n; return next;
end $$;
comment on function buyer_sync.prune_history(integer) is
  E'One round of pruning by buyer_sync.retention: deletes at most batch_size rows per statement (children before their parents) and returns the rows deleted per table. '
  'Call it again, each time in its own transaction, until a round deletes nothing (the history__prune task does). Never deletes buyers, open alerts, open retry entries, running runs, or what a kept row refers to.';

revoke execute on function buyer_sync.prune_history(integer), buyer_sync_private.retention_cutoff(text),
  buyer_sync_private.prunable_runs(timestamptz, timestamptz), buyer_sync_private.prunable_reports(timestamptz, timestamptz) from public;

-- migrate:down

drop function buyer_sync.prune_history(integer);
drop function buyer_sync_private.prunable_reports(timestamptz, timestamptz);
drop function buyer_sync_private.prunable_runs(timestamptz, timestamptz);
drop function buyer_sync_private.retention_cutoff(text);
drop index public.retry_queue_resolved_run_id_idx;
drop index public.retry_queue_last_run_id_idx;
drop index buyer_sync.verification_reports_run_id_idx;
drop index public.sync_health_metrics_run_id_idx;
drop table buyer_sync.retention;
