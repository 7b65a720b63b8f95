-- migrate:up

/*
 * The sync report's write log (buyer_sync_private.report_writes, 068) had no
 * retention: a row per write and per failed write, kept for ever, against
 * the promise of bounded history (065). It is now a kind of its own,
 * report_writes (90 days; the latest write of each tab stays). Its run
 * reference gets an index, so pruning a run does not scan the write log, and
 * the run a report tab follows (report_state.since_run_id) is kept.
 */
insert into buyer_sync.retention (kind, keep, applies_to) values
  ('report_writes', interval '90 days',
   'buyer_sync_private.report_writes (the report tab''s writes and failed writes), by attempted_at; the latest of each report tab is kept');
comment on column buyer_sync.retention.kind is E'The kind of history (runs, skipped_runs, verifications, verification_details, health_metrics, closed_retries, resolved_alerts, failed_jobs, report_writes).';

create index report_writes_since_run_idx on buyer_sync_private.report_writes (since_run_id);

create or replace function buyer_sync_private.prunable_runs(runs_cutoff timestamptz, skipped_cutoff timestamptz)
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
     and not exists (select 1 from buyer_sync_private.report_state s where s.since_run_id = r.id)
     and not exists (select 1 from public.sync_alerts a
                      where a.resolved_at is null and a.resolves is null
                        and (a.details->>'run_id' = r.id::text
                             or a.details->'latest_failures' @> jsonb_build_array(jsonb_build_object('run_id', r.id))))
$$;

create or replace function buyer_sync.prune_history(batch_size integer default 5000)
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
  writes_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('report_writes');
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

  -- Report tab writes; the latest of each tab stays (the dashboard shows how it went).
  delete from buyer_sync_private.report_writes x
   where x.id = any(array(
           select w.id from buyer_sync_private.report_writes w
            where w.attempted_at < writes_cutoff
              and w.id <> (select l.id from buyer_sync_private.report_writes l
                            where l.target = w.target order by l.attempted_at desc, l.id desc limit 1)
            limit lim));
  get diagnostics n = row_count;
  table_name := 'buyer_sync_private.report_writes'; deleted := n; return next;

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

-- migrate:down

create or replace function buyer_sync.prune_history(batch_size integer default 5000)
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

create or replace function buyer_sync_private.prunable_runs(runs_cutoff timestamptz, skipped_cutoff timestamptz)
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

drop index buyer_sync_private.report_writes_since_run_idx;
comment on column buyer_sync.retention.kind is E'The kind of history (runs, skipped_runs, verifications, verification_details, health_metrics, closed_retries, resolved_alerts, failed_jobs).';
delete from buyer_sync.retention where kind = 'report_writes';
