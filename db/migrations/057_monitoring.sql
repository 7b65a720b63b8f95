-- migrate:up

/*
 * Monitoring and verification, in SQL first: why a run failed, the alert
 * thresholds, health views an analyst queries in psql, the evaluation that
 * raises (and resolves) alerts, their delivery through the worker, the
 * integrity checker's stored reports, and the dashboard's data.
 *
 * Nothing here holds a buyer's personal data except
 * buyer_sync.verification_mismatches (a mismatch shows both values, for
 * operators with database access; never the API, never an alert).
 */

/* ------------------------------------------------------------- run failures
 * Every run that could not run or finish is a failed row in sync_runs with
 * its reason (error_message) and a category an analyst can group by. A run
 * refused before it read the sheet (the schema check, the mapping, a sheet
 * that cannot be read or is not a table) is recorded too: a day of refused
 * syncs must not look like a quiet day.
 */
alter table public.sync_runs
  add column failure text check (failure in ('blocked', 'sheet', 'database', 'cancelled', 'interrupted', 'error'));
update public.sync_runs
   set failure = case
         when error_message like 'interrupted:%' then 'interrupted'
         when error_message like '%wrote nothing: stopped:%' then 'cancelled'
         when error_message like '%database connection was lost%' then 'database'
         else 'error'
       end
 where status = 'failed';
alter table public.sync_runs
  add constraint sync_runs_failure_fits_status check ((status = 'failed') = (failure is not null));
comment on column public.sync_runs.failure is
  E'Why a failed run failed: blocked (the schema check or the column mapping refused it before the sheet was read), sheet (the sheet could not be read, or was refused as it is: see error_message), database (the connection was lost, or the database failed), cancelled (stopped on purpose: Ctrl-C, SIGTERM, a worker shutting down), interrupted (its process died), error (anything else). Null unless status is failed.';
comment on column public.sync_runs.status is
  E'running, succeeded or failed. A failed run wrote nothing to buyers.';

/* -------------------------------------------------------------- alert types
 * One definition of the alerts: their severity, when they are raised and
 * what to do. sync_alerts.type refers to it.
 */
create table buyer_sync.alert_types (
  type        text primary key,
  severity    text not null check (severity in ('info', 'warning', 'error', 'critical')),
  raised_when text not null,
  what_to_do  text not null
);
comment on table buyer_sync.alert_types is
  E'The kinds of alert: severity, when one is raised (buyer_sync.alert_thresholds) and what an operator does about it.';
insert into buyer_sync.alert_types (type, severity, raised_when, what_to_do) values
  ('missing_buyers', 'error',
   'More buyer numbers on the sheet (its latest full read) are missing from buyers than alert_thresholds.missing_buyers_max. Counted by set difference, never by comparing counts.',
   'buyer-sync missing lists them with their sheet rows; buyer-sync errors --buyer <number> says why each failed. Fix the rows on the sheet, then buyer-sync sync --only <numbers> (or wait for the next scheduled sync).'),
  ('high_error_rate', 'error',
   'The last full sync failed on more than alert_thresholds.error_rate_max percent of its non-blank rows.',
   'buyer-sync errors --run <run_id> lists the failed rows by row number, column and rule; fix them on the sheet. Many rows failing alike usually means a changed column (a renamed header, a new date format).'),
  ('permanent_failure', 'critical',
   'A buyer failed every scheduled retry (buyer_sync.retry_schedule), or failed in a way retrying cannot fix while it had retries pending.',
   'buyer-sync errors --buyer <number> names the row, column and rule; fix the row on the sheet, then buyer-sync sync --only <number>. The alert resolves on the next full sync that writes the buyer (or finds it gone from the sheet).'),
  ('slow_sync', 'warning',
   'The last full sync took longer than alert_thresholds.slow_sync_after.',
   'Compare its rows_per_second with earlier runs (buyer_sync.run_stats): a much larger sheet, a slow or rate-limited Google API (the run log says), or a busy database. Raise the limit if the sheet simply grew.'),
  ('stale_sync', 'error',
   'No full sync has succeeded within alert_thresholds.stale_after (counted from the last success, or from the first attempt when none succeeded yet).',
   'Look at the latest runs (buyer_sync.run_stats: failure, error_message): the sheet unreadable, Google refusing, the schema check blocking, or no worker running (buyer-sync serve). Fix the cause; the next successful full sync resolves the alert.'),
  ('verification_failed', 'critical',
   'The verification after a scheduled sync found buyers whose database row differs from the sheet row the sync had just read: the database was changed behind the sync, or the sync is wrong.',
   'buyer_sync.verification_mismatches (where report_id is the alert''s) shows each difference: buyer number, column, both values. Find who else writes to buyers; the next full sync writes the sheet''s values back, and the verification after it resolves the alert.');

/* ------------------------------------------------------------- thresholds
 * Configuration an operator changes with SQL, read by every evaluation:
 *   update buyer_sync.alert_thresholds set slow_sync_after = interval '10 minutes';
 */
create table buyer_sync.alert_thresholds (
  singleton          boolean primary key default true check (singleton),
  missing_buyers_max integer not null default 10 check (missing_buyers_max >= 0),
  error_rate_max     numeric(5, 2) not null default 5 check (error_rate_max between 0 and 100),
  slow_sync_after    interval not null default interval '5 minutes' check (slow_sync_after > interval '0'),
  stale_after        interval not null default interval '1 hour' check (stale_after > interval '0')
);
comment on table buyer_sync.alert_thresholds is
  E'The alert thresholds (one row; change them with update). missing_buyers alerts when missing > missing_buyers_max, high_error_rate when the last full sync''s error rate (percent) > error_rate_max, slow_sync when it took longer than slow_sync_after, stale_sync when no full sync succeeded within stale_after.';
insert into buyer_sync.alert_thresholds default values;

/* The thresholds in force: the row, or the defaults should it have been deleted. */
create function buyer_sync_private.thresholds()
returns table (missing_buyers_max integer, error_rate_max numeric, slow_sync_after interval, stale_after interval)
language sql stable
as $$
  select t.missing_buyers_max, t.error_rate_max, t.slow_sync_after, t.stale_after
    from (select 1 as rank, missing_buyers_max, error_rate_max, slow_sync_after, stale_after from buyer_sync.alert_thresholds
          union all
          select 2, 10, 5, interval '5 minutes', interval '1 hour') t
   order by t.rank
   limit 1
$$;

/* ----------------------------------------------------------------- alerts
 * One alert per condition while it lasts: `condition` names it (the type,
 * or permanent_failure:<buyer number>), and at most one alert per condition
 * is open (resolved_at null). When it clears, the alert is resolved and a
 * notice (severity info, `resolves` = the alert) is raised and delivered.
 */
alter table public.sync_alerts
  drop constraint sync_alerts_type_check,
  add constraint sync_alerts_type_fkey foreign key (type) references buyer_sync.alert_types (type) on update cascade,
  add column condition         text,
  add column resolved_at       timestamptz,
  add column resolves          uuid references public.sync_alerts (id) on delete cascade,
  add column delivery_attempts integer not null default 0 check (delivery_attempts >= 0),
  add column delivery_error    text,
  add constraint sync_alerts_notice_is_info check (resolves is null or severity = 'info'),
  add constraint sync_alerts_notice_is_closed check (resolves is null or resolved_at is null);
update public.sync_alerts
   set condition = case when type = 'permanent_failure' then 'permanent_failure:' || coalesce(details->>'buyer_number', id::text) else type end;
alter table public.sync_alerts alter column condition set not null;
-- Before this migration a buyer could have several permanent-failure alerts: the newest stays open.
update public.sync_alerts a
   set resolved_at = now()
 where exists (select 1 from public.sync_alerts b
                where b.condition = a.condition and (b.created_at, b.id) > (a.created_at, a.id));
create unique index sync_alerts_open_condition_key on public.sync_alerts (md5(condition))
  where resolved_at is null and resolves is null;
create index sync_alerts_resolves_idx on public.sync_alerts (resolves);

comment on column public.sync_alerts.type is
  E'missing_buyers, high_error_rate, permanent_failure, slow_sync, stale_sync or verification_failed (buyer_sync.alert_types); a resolved notice has its alert''s type.';
comment on column public.sync_alerts.condition is
  E'What the alert is about: its type, or permanent_failure:<buyer number>. At most one open alert per condition.';
comment on column public.sync_alerts.resolved_at is
  E'When the condition cleared; null while it lasts (or for a resolved notice).';
comment on column public.sync_alerts.resolves is
  E'For a resolved notice (severity info): the alert whose condition cleared.';
comment on column public.sync_alerts.delivered_at is
  E'When ALERT_WEBHOOK_URL accepted the alert (2xx); set once. Null: not delivered (no webhook configured, or the receiver failed: delivery_error).';
comment on column public.sync_alerts.delivery_attempts is
  E'POSTs tried so far.';
comment on column public.sync_alerts.delivery_error is
  E'Why the last POST failed (HTTP status, connection refused, timeout); null once delivered.';

/* The permanent-failure trigger of 056, now one open alert per buyer. */
create or replace function buyer_sync_private.alert_permanent_failure() returns trigger
language plpgsql
as $$
begin
  insert into public.sync_alerts (type, severity, condition, message, details)
  values (
    'permanent_failure', 'critical', 'permanent_failure:' || new.buyer_number,
    format('buyer %s could not be synced after %s attempt(s)%s; fix its row on the sheet, then run buyer-sync sync --only with its number',
           left(new.buyer_number, 60) || case when char_length(new.buyer_number) > 60 then '…' else '' end,
           new.attempt_count,
           coalesce(': ' || (new.error_info->>'error_message'), '')),
    jsonb_build_object(
      'buyer_number', new.buyer_number,
      'attempts', new.attempt_count,
      'error_type', new.error_info->>'error_type',
      'column_name', new.error_info->>'column_name',
      'row_number', new.row_number,
      'resolution', new.resolution,
      'source', new.source,
      'run_id', new.last_run_id))
  on conflict (md5(condition)) where resolved_at is null and resolves is null do nothing;
  return null;
end $$;

/*
 * Delivery is a worker job per alert (tasks/alerts__deliver.ts), enqueued
 * with the alert's own transaction: it runs once the alert is committed, is
 * retried with graphile-worker's backoff while the receiver fails, and never
 * waits behind a sync (no queue). A command that raised the alert delivers it
 * itself before exiting too; the row lock taken for each POST and
 * delivered_at keep the two from sending it twice.
 */
create function buyer_sync_private.enqueue_alert_delivery() returns trigger
language plpgsql
as $$
begin
  perform graphile_worker.add_job('alerts__deliver', json_build_object('alert_id', new.id),
    job_key := 'alerts__deliver:' || new.id, max_attempts := 25);
  return null;
end $$;
comment on function buyer_sync_private.enqueue_alert_delivery() is
  E'Enqueues the worker job that POSTs a new alert to ALERT_WEBHOOK_URL.';
create trigger sync_alerts_deliver after insert on public.sync_alerts
  for each row execute function buyer_sync_private.enqueue_alert_delivery();
-- Alerts raised before this migration and not delivered yet (0.5 redelivered them after every task): a job each.
do $$
begin
  if to_regnamespace('graphile_worker') is not null then
    perform graphile_worker.add_job('alerts__deliver', json_build_object('alert_id', a.id),
              job_key := 'alerts__deliver:' || a.id, max_attempts := 25)
       from public.sync_alerts a
      where a.delivered_at is null;
  end if;
end $$;

/* ----------------------------------------------------------- health metrics */
alter table public.sync_health_metrics
  add column extra_count      integer,
  add column retry_queue_size integer,
  add column last_sync_at     timestamptz,
  add column run_id           uuid references public.sync_runs (id) on delete set null,
  add column healthy          boolean,
  add column issues           text[];
comment on column public.sync_health_metrics.spreadsheet_count is E'Distinct buyer numbers on the sheet (latest full read).';
comment on column public.sync_health_metrics.missing_count is E'On the sheet, not in buyers (set difference).';
comment on column public.sync_health_metrics.extra_count is E'In buyers, not on the sheet (set difference; never deleted).';
comment on column public.sync_health_metrics.sync_duration_ms is E'Duration of the last full sync (run_id).';
comment on column public.sync_health_metrics.throughput_per_second is E'Sheet rows per second of the last full sync (run_id).';
comment on column public.sync_health_metrics.run_id is E'The last full sync at the time of the check: error_rate, sync_duration_ms and throughput are its.';
comment on column public.sync_health_metrics.issues is E'Why the check was unhealthy, one line each (no personal data).';

/* ------------------------------------------------------------ health views */
create view buyer_sync.run_stats as
  select r.id as run_id, r.started_at, r.finished_at, r.mode, r.status, r.failure, r.source,
         r.total_rows, r.blank_rows, r.total_rows - r.blank_rows as non_blank_rows,
         r.inserted, r.updated, r.unchanged, r.failed,
         case when r.status = 'succeeded'
              then coalesce(round(100.0 * r.failed / nullif(r.total_rows - r.blank_rows, 0), 2), 0)
         end::numeric(5, 2) as error_rate,
         r.errors_by_type, r.duration_ms, r.rows_per_second, r.retry_queue_size,
         r.error_type, r.error_message
    from public.sync_runs r;
comment on view buyer_sync.run_stats is
  E'Every sync run with its error rate: the percent of its non-blank rows that failed (null unless it succeeded: a failed run wrote nothing). failure and error_message say why a run failed.';

create view buyer_sync.last_full_sync as
  select s.* from buyer_sync.run_stats s
   where s.mode = 'full' and s.status = 'succeeded'
   order by s.started_at desc, s.run_id
   limit 1;
comment on view buyer_sync.last_full_sync is
  E'The latest full sync that succeeded: what the health check''s error rate, duration and throughput are about.';

create view buyer_sync.current_health as
  select l.finished_at as last_sync_time,
         l.run_id as last_run_id,
         coalesce(l.error_rate, 0)::numeric(5, 2) as error_rate,
         (select count(*) from buyer_sync.missing_buyers)::integer as missing_count,
         (select count(*) from buyer_sync.extra_buyers)::integer as extra_count,
         (select count(*) from buyer_sync_private.sheet_buyers)::integer as spreadsheet_count,
         (select count(*) from public.buyers)::integer as database_count,
         (select read_at from buyer_sync_private.sheet_snapshot) as sheet_read_at,
         (select count(*) from public.retry_queue q where q.status in ('pending', 'processing'))::integer as retry_queue_size,
         (select min(q.created_at) from public.retry_queue q where q.status in ('pending', 'processing')) as oldest_retry_at,
         (select count(*) from public.sync_alerts a where a.type = 'permanent_failure' and a.resolved_at is null and a.resolves is null)::integer as permanent_failures,
         l.duration_ms as last_sync_duration_ms,
         l.rows_per_second as last_sync_rows_per_second,
         (select max(r.started_at) from public.sync_runs r where r.status = 'failed') as last_failed_run_at,
         (select count(*) from public.sync_alerts a where a.resolved_at is null and a.resolves is null)::integer as open_alerts
    from (select 1) one
    left join buyer_sync.last_full_sync l on true;
comment on view buyer_sync.current_health is
  E'Health now, in one row: the last full sync (time, error rate in percent of its non-blank rows, duration, throughput), missing and extra buyers by set difference against the latest full read of the sheet, the retry queue''s depth and oldest entry, open permanent failures and alerts.';

create view buyer_sync.daily_runs as
  with runs as (
    select date_trunc('day', r.started_at) as day, r.status, r.failure, r.total_rows - r.blank_rows as rows, r.failed, r.duration_ms
      from public.sync_runs r
  ),
  failures as (
    select f.day, jsonb_object_agg(f.failure, f.runs) as failures
      from (select day, failure, count(*) as runs from runs where failure is not null group by 1, 2) f
     group by f.day
  )
  select r.day,
         count(*)::integer as runs,
         count(*) filter (where r.status = 'succeeded')::integer as succeeded,
         count(*) filter (where r.status = 'failed')::integer as failed_runs,
         coalesce(max(f.failures::text)::jsonb, '{}'::jsonb) as failures,
         coalesce(sum(r.rows) filter (where r.status = 'succeeded'), 0)::bigint as non_blank_rows,
         coalesce(sum(r.failed) filter (where r.status = 'succeeded'), 0)::bigint as failed_rows,
         coalesce(round(100.0 * sum(r.failed) filter (where r.status = 'succeeded')
                        / nullif(sum(r.rows) filter (where r.status = 'succeeded'), 0), 2), 0)::numeric(5, 2) as error_rate,
         round(avg(r.duration_ms) filter (where r.status = 'succeeded'))::integer as avg_duration_ms,
         max(r.duration_ms) filter (where r.status = 'succeeded') as max_duration_ms
    from runs r
    left join failures f on f.day = r.day
   group by r.day;
comment on view buyer_sync.daily_runs is
  E'Runs per day (in the session''s TimeZone: set timezone = ''Asia/Tokyo''): how many, how many failed and why (failures: reason -> runs), the rows of the succeeded ones and their error rate (percent of non-blank rows that failed), durations.';

create view buyer_sync.daily_errors_by_type as
  select date_trunc('day', e.created_at) as day, e.error_type,
         count(*)::integer as errors,
         count(distinct e.buyer_number)::integer as buyers,
         count(*) filter (where e.retryable)::integer as queued_for_retry
    from public.sync_error_log e
   group by 1, 2;
comment on view buyer_sync.daily_errors_by_type is
  E'Error-log entries per day (session TimeZone) and type, with the distinct buyers they concern.';

/* The error rate over a time range: percent of the non-blank rows of the runs that succeeded in it that failed. */
create function buyer_sync.error_rate(since timestamptz, until timestamptz default 'infinity', mode text default null)
returns numeric
language sql stable
as $$
  select coalesce(round(100.0 * sum(r.failed) / nullif(sum(r.total_rows - r.blank_rows), 0), 2), 0)::numeric(5, 2)
    from public.sync_runs r
   where r.status = 'succeeded' and r.started_at >= since and r.started_at < until
     and (error_rate.mode is null or r.mode = error_rate.mode)
$$;
comment on function buyer_sync.error_rate(timestamptz, timestamptz, text) is
  E'Percent of the non-blank rows read by the runs that succeeded in [since, until) (of one mode, if given) that failed.';

/* ---------------------------------------------------- conditions and alerts */
create function buyer_sync.health_conditions()
returns table (type text, condition text, active boolean, message text, details jsonb)
language sql stable
as $$
  with t as (select * from buyer_sync_private.thresholds()),
       h as (select * from buyer_sync.current_health),
       last_attempt as (select min(started_at) as first_at from public.sync_runs where mode = 'full')
  select 'missing_buyers', 'missing_buyers', h.missing_count > t.missing_buyers_max,
         format('%s buyer(s) on the sheet are not in the database (threshold %s); buyer-sync missing lists them',
                h.missing_count, t.missing_buyers_max),
         jsonb_build_object('missing_count', h.missing_count, 'threshold', t.missing_buyers_max,
                            'spreadsheet_count', h.spreadsheet_count, 'database_count', h.database_count,
                            'sheet_read_at', h.sheet_read_at,
                            'first_missing', (select coalesce(jsonb_agg(m.buyer_number order by m.row_number), '[]'::jsonb)
                                                from (select buyer_number, row_number from buyer_sync.missing_buyers
                                                       order by row_number limit 20) m))
    from t, h
  union all
  -- Compared unrounded: 5.0025 % is above 5 %, though it shows as 5.00.
  select 'high_error_rate', 'high_error_rate', coalesce(100.0 * l.failed > t.error_rate_max * l.non_blank_rows, false),
         format('the last full sync failed on %s%% of its non-blank rows (%s of %s; threshold %s%%); buyer-sync errors --run %s lists them',
                l.error_rate, l.failed, l.non_blank_rows, t.error_rate_max, l.run_id),
         jsonb_build_object('error_rate', l.error_rate, 'threshold', t.error_rate_max, 'failed', l.failed,
                            'non_blank_rows', l.non_blank_rows, 'errors_by_type', l.errors_by_type, 'run_id', l.run_id)
    from t left join buyer_sync.last_full_sync l on true
  union all
  select 'slow_sync', 'slow_sync', coalesce(l.duration_ms > extract(epoch from t.slow_sync_after) * 1000, false),
         format('the last full sync took %s s (limit %s s; %s rows/s)',
                round(l.duration_ms / 1000.0, 1), extract(epoch from t.slow_sync_after)::bigint, l.rows_per_second),
         jsonb_build_object('duration_ms', l.duration_ms, 'limit_ms', (extract(epoch from t.slow_sync_after) * 1000)::bigint,
                            'rows', l.total_rows, 'rows_per_second', l.rows_per_second, 'run_id', l.run_id)
    from t left join buyer_sync.last_full_sync l on true
  union all
  select 'stale_sync', 'stale_sync',
         coalesce(now() - coalesce(l.finished_at, a.first_at) > t.stale_after, false),
         case when l.run_id is null
              then format('no full sync has succeeded since the first attempt at %s (limit %s)', a.first_at, t.stale_after)
              else format('no full sync has succeeded since %s (limit %s)', l.finished_at, t.stale_after) end,
         jsonb_build_object('last_sync_time', l.finished_at, 'first_attempt_at', a.first_at, 'stale_after', t.stale_after::text,
                            'latest_failures', (select coalesce(jsonb_agg(jsonb_build_object('run_id', f.id, 'started_at', f.started_at,
                                                                                        'failure', f.failure, 'error_message', f.error_message)
                                                                     order by f.started_at desc), '[]'::jsonb)
                                                  from (select id, started_at, failure, error_message from public.sync_runs
                                                         where mode = 'full' and status = 'failed'
                                                         order by started_at desc limit 3) f))
    from t cross join last_attempt a left join buyer_sync.last_full_sync l on true
$$;
comment on function buyer_sync.health_conditions() is
  E'The conditions that raise alerts and whether each holds now (missing_buyers, high_error_rate, slow_sync, stale_sync), with the message and details an alert would carry. Permanent failures are raised as they happen (one per buyer).';

/* A resolved notice for an alert whose condition cleared. */
create function buyer_sync_private.resolve_notice(a public.sync_alerts, now_details jsonb)
returns setof public.sync_alerts
language sql volatile
as $$
  insert into public.sync_alerts (type, severity, condition, message, details, resolves)
  values (a.type, 'info', a.condition,
          'resolved: ' || a.message,
          jsonb_build_object('resolved', true, 'alert_id', a.id, 'raised_at', a.created_at,
                             'lasted_seconds', greatest(0, round(extract(epoch from (a.resolved_at - a.created_at))))::bigint,
                             'now', coalesce(now_details, '{}'::jsonb)),
          a.id)
  returning *
$$;

create function buyer_sync.evaluate_alerts() returns setof public.sync_alerts
language plpgsql volatile
as $$
declare
  c record;
  a public.sync_alerts;
begin
  for c in select * from buyer_sync.health_conditions() loop
    if c.active then
      return query
        insert into public.sync_alerts (type, severity, condition, message, details)
        select c.type, t.severity, c.condition, c.message, c.details from buyer_sync.alert_types t where t.type = c.type
        on conflict (md5(condition)) where resolved_at is null and resolves is null do nothing
        returning *;
    else
      for a in
        update public.sync_alerts s set resolved_at = clock_timestamp()
         where s.condition = c.condition and s.resolved_at is null and s.resolves is null
        returning s.*
      loop
        return query select * from buyer_sync_private.resolve_notice(a, c.details);
      end loop;
    end if;
  end loop;

  /*
   * A permanent failure clears once the buyer was written after it (a row in
   * sync_buyer_changes, or inserted since), or a retry of it succeeded, or a
   * later full sync went by without any failure of the buyer while it is in
   * buyers (its row put back as it was) or no longer on the sheet. A buyer
   * whose row still fails, in any way, stays open.
   */
  for a in
    update public.sync_alerts s set resolved_at = clock_timestamp()
     where s.type = 'permanent_failure' and s.resolved_at is null and s.resolves is null
       and (exists (select 1 from public.sync_buyer_changes ch
                     where ch.buyer_number = s.details->>'buyer_number' and ch.changed_at > s.created_at)
            or exists (select 1 from public.buyers b
                        where b.buyer_number = s.details->>'buyer_number' and b.created_at > s.created_at)
            or exists (select 1 from public.retry_queue q
                        where q.buyer_number = s.details->>'buyer_number' and q.status = 'succeeded'
                          and q.resolved_at > s.created_at)
            or (exists (select 1 from public.sync_runs r
                         where r.mode = 'full' and r.status = 'succeeded' and r.started_at > s.created_at
                           and r.id is distinct from (s.details->>'run_id')::uuid
                           and not exists (select 1 from public.sync_error_log e
                                            where e.run_id = r.id and e.buyer_number = s.details->>'buyer_number'))
                and (exists (select 1 from public.buyers b where b.buyer_number = s.details->>'buyer_number')
                     or not exists (select 1 from buyer_sync_private.sheet_buyers k where k.buyer_number = s.details->>'buyer_number'))))
    returning s.*
  loop
    return query select * from buyer_sync_private.resolve_notice(a, jsonb_build_object('buyer_number', a.details->>'buyer_number'));
  end loop;
end $$;
comment on function buyer_sync.evaluate_alerts() is
  E'Raises an alert for each condition of buyer_sync.health_conditions() that holds and has no open alert, resolves the open alerts whose condition cleared (with an info notice each), and returns the alerts and notices it raised. Every sync run calls it; so does buyer_sync.check_health().';

create function buyer_sync.check_health(extra_issues text[] default '{}') returns jsonb
language plpgsql volatile
as $$
declare
  h record;
  raised jsonb;
  issues text[];
  metrics_id uuid;
begin
  select coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'type', a.type, 'severity', a.severity,
                                               'resolved', a.resolves is not null) order by a.created_at), '[]'::jsonb)
    into raised
    from buyer_sync.evaluate_alerts() a;
  select * into h from buyer_sync.current_health;
  issues := array(
    select c.message from buyer_sync.health_conditions() c where c.active
    union all
    select format('%s buyer(s) failed for good and still do (permanent_failure alerts open)', h.permanent_failures)
     where h.permanent_failures > 0
    union all
    -- Open alerts that no condition above judges (verification_failed): unhealthy until they resolve.
    select a.message from public.sync_alerts a
     where a.resolved_at is null and a.resolves is null
       and a.type not in ('missing_buyers', 'high_error_rate', 'slow_sync', 'stale_sync', 'permanent_failure')
    union all
    select 'no full sync has succeeded yet' where h.last_run_id is null
    union all
    select unnest(extra_issues));
  insert into public.sync_health_metrics
    (spreadsheet_count, database_count, missing_count, extra_count, error_rate, sync_duration_ms, throughput_per_second,
     retry_queue_size, last_sync_at, run_id, healthy, issues)
  values (h.spreadsheet_count, h.database_count, h.missing_count, h.extra_count, h.error_rate, h.last_sync_duration_ms,
          h.last_sync_rows_per_second, h.retry_queue_size, h.last_sync_time, h.last_run_id, cardinality(issues) = 0, issues)
  returning id into metrics_id;
  return jsonb_build_object(
    'healthy', cardinality(issues) = 0,
    'issues', to_jsonb(issues),
    'missing_count', h.missing_count,
    'error_rate', h.error_rate,
    'last_sync_time', h.last_sync_time,
    'retry_queue_size', h.retry_queue_size,
    'extra_count', h.extra_count,
    'spreadsheet_count', h.spreadsheet_count,
    'database_count', h.database_count,
    'sheet_read_at', h.sheet_read_at,
    'check_id', metrics_id,
    'alerts', raised);
end $$;
comment on function buyer_sync.check_health(text[]) is
  E'One health check (buyer-sync health, and the worker every 5 minutes, after refreshing the sheet''s snapshot): evaluates the alerts, writes a sync_health_metrics row and returns the health as JSON. extra_issues: what the caller found itself (the sheet could not be read).';

/* ------------------------------------------------------------ verification */
create table buyer_sync.verification_reports (
  id                 uuid primary key default gen_random_uuid(),
  created_at         timestamptz not null default now(),
  source             text not null,
  trigger            text not null check (trigger in ('command', 'after_sync')),
  run_id             uuid references public.sync_runs (id) on delete set null,
  seed               bigint not null,
  sample_requested   integer check (sample_requested >= 0),
  sample_size        integer not null check (sample_size >= 0),
  spreadsheet_count  integer not null,
  database_count     integer not null,
  missing_count      integer not null,
  extra_count        integer not null,
  unverifiable_count integer not null,
  mismatch_count     integer not null,
  mismatched_buyers  integer not null,
  complete           boolean not null,
  accurate           boolean not null,
  passed             boolean not null check (passed = (complete and accurate)),
  summary            text not null,
  duration_ms        integer not null
);
comment on table buyer_sync.verification_reports is
  E'Every integrity verification (buyer-sync verify, and after each scheduled sync): completeness (every sheet buyer in buyers, by set difference) and accuracy (a seeded sample compared column by column), with its summary.';
comment on column buyer_sync.verification_reports.trigger is
  E'command: buyer-sync verify (the sheet as it is now); after_sync: right after a scheduled sync, on the very rows the sync read.';
comment on column buyer_sync.verification_reports.seed is
  E'The sample''s seed: buyer-sync verify --seed <seed> --sample <n> draws the same buyers from the same sheet.';
comment on column buyer_sync.verification_reports.sample_requested is
  E'--sample N; null: every buyer.';
comment on column buyer_sync.verification_reports.unverifiable_count is
  E'Sheet buyers whose row breaks a row rule: the sync cannot write them (the error log says why), so they are not compared.';
create index verification_reports_created_at_idx on buyer_sync.verification_reports (created_at);

create table buyer_sync.verification_findings (
  report_id    uuid not null references buyer_sync.verification_reports (id) on delete cascade,
  finding      text not null check (finding in ('missing', 'extra', 'unverifiable')),
  buyer_number text not null,
  row_number   integer
);
comment on table buyer_sync.verification_findings is
  E'The buyer numbers a verification found missing (on the sheet, not in buyers), extra (in buyers, not on the sheet) or unverifiable (row breaks a rule), at most 1,000 of each per report.';
create index verification_findings_report_idx on buyer_sync.verification_findings (report_id, finding);

create table buyer_sync.verification_mismatches (
  report_id         uuid not null references buyer_sync.verification_reports (id) on delete cascade,
  buyer_number      text not null,
  field             text not null,
  spreadsheet_value text,
  database_value    text
);
comment on table buyer_sync.verification_mismatches is
  E'Each column of a sampled buyer whose database value differs from the sheet''s (normalized by the sync''s row rules). Holds buyers'' personal data: for operators with database access, never exposed by the API or sent in an alert.';
create index verification_mismatches_report_idx on buyer_sync.verification_mismatches (report_id);

create view buyer_sync.latest_verification as
  select v.id, v.created_at, v.trigger, v.run_id, v.source, v.passed, v.complete, v.accurate, v.summary,
         v.sample_size, v.missing_count, v.extra_count, v.unverifiable_count, v.mismatch_count, v.mismatched_buyers
    from buyer_sync.verification_reports v
   order by v.created_at desc, v.id
   limit 1;
comment on view buyer_sync.latest_verification is
  E'The latest verification report''s summary and counts (no values).';

/*
 * A verification right after a scheduled sync compares the database with the
 * very rows the sync read: a difference is the database's (a write behind the
 * sync, or a wrong sync), never an edit made since. It raises
 * verification_failed; the next such verification that matches resolves it.
 */
create function buyer_sync_private.verification_alert() returns trigger
language plpgsql
as $$
declare
  a public.sync_alerts;
begin
  if new.trigger <> 'after_sync' then
    return null;
  end if;
  if not new.accurate then
    insert into public.sync_alerts (type, severity, condition, message, details)
    values ('verification_failed', 'critical', 'verification_failed',
            format('%s of %s sampled buyer(s) differ from the sheet rows the sync had just read (%s column(s)); select * from buyer_sync.verification_mismatches where report_id = ''%s''',
                   new.mismatched_buyers, new.sample_size, new.mismatch_count, new.id),
            jsonb_build_object('report_id', new.id, 'run_id', new.run_id, 'mismatch_count', new.mismatch_count,
                               'mismatched_buyers', new.mismatched_buyers, 'sample_size', new.sample_size))
    on conflict (md5(condition)) where resolved_at is null and resolves is null do nothing;
  else
    for a in
      update public.sync_alerts s set resolved_at = clock_timestamp()
       where s.condition = 'verification_failed' and s.resolved_at is null and s.resolves is null
      returning s.*
    loop
      perform buyer_sync_private.resolve_notice(a, jsonb_build_object('report_id', new.id, 'sample_size', new.sample_size));
    end loop;
  end if;
  return null;
end $$;
comment on function buyer_sync_private.verification_alert() is
  E'Raises verification_failed when a verification after a scheduled sync finds differences, and resolves it when one finds none.';
create trigger verification_reports_alert after insert on buyer_sync.verification_reports
  for each row execute function buyer_sync_private.verification_alert();

/* ---------------------------------------------------------- dashboard data */
create view buyer_sync.open_alerts as
  select a.id, a.type, a.severity, a.condition, a.message, a.details, a.created_at, a.delivered_at, a.delivery_error
    from public.sync_alerts a
   where a.resolved_at is null and a.resolves is null;
comment on view buyer_sync.open_alerts is
  E'Alerts whose condition still holds. Buyer numbers, counts and rules only.';

create view buyer_sync.recent_runs as
  select s.* from buyer_sync.run_stats s order by s.started_at desc, s.run_id limit 50;
comment on view buyer_sync.recent_runs is
  E'The 50 latest sync runs, newest first, with their error rates.';

create view buyer_sync.dashboard_summary as
  select h.last_sync_time,
         h.error_rate,
         case when h.last_run_id is not null then (100 - h.error_rate)::numeric(5, 2) end as row_success_rate,
         r.runs_24h,
         r.failed_runs_24h,
         round(100.0 * (r.runs_24h - r.failed_runs_24h) / nullif(r.runs_24h, 0), 2)::numeric(5, 2) as run_success_rate_24h,
         h.missing_count,
         h.extra_count,
         h.spreadsheet_count,
         h.database_count,
         h.sheet_read_at,
         h.retry_queue_size,
         h.oldest_retry_at,
         h.permanent_failures,
         h.open_alerts,
         h.last_sync_duration_ms,
         h.last_sync_rows_per_second,
         v.created_at as last_verification_at,
         v.passed as last_verification_passed,
         v.summary as last_verification_summary,
         (select m.healthy from public.sync_health_metrics m order by m.check_time desc, m.id limit 1) as last_check_healthy,
         (select max(m.check_time) from public.sync_health_metrics m) as last_check_time
    from buyer_sync.current_health h
    cross join (select count(*) filter (where s.status <> 'running')::integer as runs_24h,
                       count(*) filter (where s.status = 'failed')::integer as failed_runs_24h
                  from public.sync_runs s where s.started_at > now() - interval '24 hours') r
    left join buyer_sync.latest_verification v on true;
comment on view buyer_sync.dashboard_summary is
  E'The dashboard''s numbers in one row (null where nothing has run yet): the last full sync (time, error rate and its complement, the row success rate), the share of finished runs of the last 24 hours that succeeded, missing and extra buyers (set difference), the retry queue, open permanent failures and alerts, the latest verification and health check.';

-- migrate:down

drop view buyer_sync.dashboard_summary;
drop view buyer_sync.recent_runs;
drop view buyer_sync.open_alerts;
drop view buyer_sync.latest_verification;
drop trigger verification_reports_alert on buyer_sync.verification_reports;
drop function buyer_sync_private.verification_alert();
drop table buyer_sync.verification_mismatches;
drop table buyer_sync.verification_findings;
drop table buyer_sync.verification_reports;
drop function buyer_sync.check_health(text[]);
drop function buyer_sync.evaluate_alerts();
drop function buyer_sync_private.resolve_notice(public.sync_alerts, jsonb);
drop function buyer_sync.health_conditions();
drop function buyer_sync.error_rate(timestamptz, timestamptz, text);
drop view buyer_sync.daily_errors_by_type;
drop view buyer_sync.daily_runs;
drop view buyer_sync.current_health;
drop view buyer_sync.last_full_sync;
drop view buyer_sync.run_stats;
alter table public.sync_health_metrics
  drop column issues, drop column healthy, drop column run_id, drop column last_sync_at,
  drop column retry_queue_size, drop column extra_count;
drop trigger sync_alerts_deliver on public.sync_alerts;
drop function buyer_sync_private.enqueue_alert_delivery();
create or replace function buyer_sync_private.alert_permanent_failure() returns trigger
language plpgsql
as $$
begin
  insert into public.sync_alerts (type, severity, message, details)
  values (
    'permanent_failure', 'critical',
    format('buyer %s could not be synced after %s attempt(s)%s; fix its row on the sheet, then run buyer-sync sync --only with its number',
           left(new.buyer_number, 60) || case when char_length(new.buyer_number) > 60 then '…' else '' end,
           new.attempt_count,
           coalesce(': ' || (new.error_info->>'error_message'), '')),
    jsonb_build_object(
      'buyer_number', new.buyer_number,
      'attempts', new.attempt_count,
      'error_type', new.error_info->>'error_type',
      'column_name', new.error_info->>'column_name',
      'row_number', new.row_number,
      'resolution', new.resolution,
      'source', new.source,
      'run_id', new.last_run_id));
  return null;
end $$;
delete from public.sync_alerts where resolves is not null or type not in ('missing_buyers', 'high_error_rate', 'permanent_failure', 'slow_sync');
drop index public.sync_alerts_resolves_idx;
drop index public.sync_alerts_open_condition_key;
alter table public.sync_alerts
  drop constraint sync_alerts_notice_is_closed,
  drop constraint sync_alerts_notice_is_info,
  drop column delivery_error, drop column delivery_attempts, drop column resolves,
  drop column resolved_at, drop column condition,
  drop constraint sync_alerts_type_fkey,
  add constraint sync_alerts_type_check check (type in ('missing_buyers', 'high_error_rate', 'permanent_failure', 'slow_sync'));
drop function buyer_sync_private.thresholds();
drop table buyer_sync.alert_thresholds;
drop table buyer_sync.alert_types;
alter table public.sync_runs drop constraint sync_runs_failure_fits_status, drop column failure;
