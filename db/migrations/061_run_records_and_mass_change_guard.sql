-- migrate:up

/*
 * Every run leaves a record, and a run that would rewrite much of what the
 * database holds is stopped before it commits.
 *
 * - A sync that finds the sync lock held (another run in progress) is
 *   recorded as skipped, skipped_kind 'busy', saying which run held it; a
 *   skip because the sheet was unchanged is skipped_kind 'unchanged'. Only
 *   the latter tells that the sheet is still in the database (stale_sync).
 * - The mass-change guard: a run that would update more than
 *   SYNC_MAX_CHANGED_PERCENT of the existing buyers (and at least
 *   SYNC_MAX_CHANGED_MIN of them) is rolled back and recorded as failed,
 *   failure 'mass_change', with a mass_change alert (once per condition).
 *   An operator lets the next such run through with
 *   buyer_sync.approve_mass_change() (the dashboard's button calls it), or
 *   with `buyer-sync sync --allow-mass-change`.
 */

alter table public.sync_runs
  add column skipped_kind text check (skipped_kind in ('unchanged', 'busy'));
update public.sync_runs set skipped_kind = 'unchanged' where status = 'skipped';
-- A skipped run written without a kind (by a writer older than this migration) is one that found the sheet unchanged.
alter table public.sync_runs
  add constraint sync_runs_skipped_kind_fits_status check (skipped_kind is null or status = 'skipped');
comment on column public.sync_runs.skipped_kind is
  E'Why a skipped run read nothing: unchanged (a scheduled sync found the sheet as the last full read saw it; also when null on a skipped run) or busy (another run held the sync lock). Null unless status is skipped.';

alter table public.sync_runs
  drop constraint sync_runs_failure_check,
  add constraint sync_runs_failure_check
    check (failure in ('blocked', 'sheet', 'database', 'cancelled', 'interrupted', 'error', 'mass_change'));
comment on column public.sync_runs.failure is
  E'Why a failed run failed: blocked (schema check or mapping, before the sheet was read), sheet (unreadable or refused), database, cancelled (stopped on purpose), interrupted (its process died), error, or mass_change (the mass-change guard refused it: it would have updated too many existing buyers; nothing written). Null unless status is failed.';

insert into buyer_sync.alert_types (type, severity, raised_when, what_to_do) values
  ('mass_change', 'critical',
   'A sync run would have updated more than SYNC_MAX_CHANGED_PERCENT of the existing buyers (and at least SYNC_MAX_CHANGED_MIN of them): it was refused before it committed, and nothing was written. The details give the counts and the columns most changed, never values.',
   'Look at what changed on the sheet: a wrong encoding, shifted or renamed columns, a sort into the wrong tab, a formula gone wrong. buyer-sync sync --dry-run lists the buyers it would update and their columns. Fix the sheet and the next sync goes through; if the change is intended, let the next run through once: select buyer_sync.approve_mass_change() (the dashboard''s "Allow the mass change" does it), or run buyer-sync sync --allow-mass-change.');

/* ------------------------------------------------- one-shot approvals */
create table buyer_sync_private.mass_change_approvals (
  id          bigint generated always as identity primary key,
  approved_by text not null default session_user,
  approved_at timestamptz not null default clock_timestamp(),
  expires_at  timestamptz not null,
  used_by_run uuid references public.sync_runs (id) on delete set null,
  used_at     timestamptz,
  check (expires_at > approved_at),
  check ((used_by_run is null and used_at is null) or used_at is not null)
);
comment on table buyer_sync_private.mass_change_approvals is
  E'One-shot approvals of a mass change (buyer_sync.approve_mass_change): the next run the guard would refuse, before expires_at, uses one and goes through; it is used only if that run commits.';
create index mass_change_approvals_open_idx on buyer_sync_private.mass_change_approvals (expires_at) where used_at is null;

create function buyer_sync.approve_mass_change(valid_for interval default interval '1 day') returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
declare
  approval bigint;
begin
  if valid_for is null or valid_for <= interval '0' or valid_for > interval '7 days' then
    raise exception 'approve_mass_change takes a validity between 0 and 7 days, got %', valid_for using errcode = '22023';
  end if;
  insert into buyer_sync_private.mass_change_approvals (expires_at)
  values (clock_timestamp() + valid_for)
  returning id into approval;
  return approval;
end $$;
comment on function buyer_sync.approve_mass_change(interval) is
  E'Lets the next sync run that the mass-change guard would refuse go through, once (within valid_for, default a day); returns the approval''s id. Request the sync with buyer_sync.request_sync(), or wait for the schedule.';
revoke execute on function buyer_sync.approve_mass_change(interval) from public;
grant execute on function buyer_sync.approve_mass_change(interval) to buyer_sync_operator;

/* The run that is allowed through uses one approval, in its own transaction (so only if it commits). */
create function buyer_sync_private.use_mass_change_approval(run uuid) returns bigint
language sql volatile
as $$
  update buyer_sync_private.mass_change_approvals a
     set used_by_run = run, used_at = clock_timestamp()
   where a.id = (select o.id from buyer_sync_private.mass_change_approvals o
                  where o.used_at is null and o.expires_at > clock_timestamp()
                  order by o.approved_at
                  limit 1
                  for update skip locked)
  returning a.id
$$;
comment on function buyer_sync_private.use_mass_change_approval(uuid) is
  E'Uses the oldest open approval of a mass change for the run; null when there is none.';

/* A refused run raises the alert, or brings the open one's figures up to date (delivered once per condition). */
create function buyer_sync_private.raise_mass_change(message text, details jsonb) returns setof public.sync_alerts
language sql volatile
as $$
  insert into public.sync_alerts (type, severity, condition, message, details)
  select 'mass_change', t.severity, 'mass_change', message, details from buyer_sync.alert_types t where t.type = 'mass_change'
  on conflict (md5(condition)) where resolved_at is null and resolves is null
  do update set message = excluded.message, details = excluded.details
  returning *
$$;
comment on function buyer_sync_private.raise_mass_change(text, jsonb) is
  E'Raises the mass_change alert for a run the guard refused, or updates the open one''s message and figures (not delivered again).';

/* A run that committed (within the guard, or let through) clears the condition. */
create function buyer_sync_private.resolve_mass_change(run uuid) returns setof public.sync_alerts
language plpgsql volatile
as $$
declare
  a public.sync_alerts;
begin
  for a in
    update public.sync_alerts s set resolved_at = clock_timestamp()
     where s.condition = 'mass_change' and s.resolved_at is null and s.resolves is null
    returning s.*
  loop
    return query select * from buyer_sync_private.resolve_notice(a, jsonb_build_object('run_id', run));
  end loop;
end $$;
comment on function buyer_sync_private.resolve_mass_change(uuid) is
  E'Resolves the open mass_change alert, with a notice, once a run commits.';

/* stale_sync: a run skipped because the lock was held saw nothing of the sheet. */
create or replace function buyer_sync.health_conditions()
returns table (type text, condition text, active boolean, message text, details jsonb)
language sql stable
as $$
  with t as (select * from buyer_sync_private.thresholds()),
       -- Once: each reference to a column of the view would otherwise compute its set difference again.
       h as materialized (select missing_count, spreadsheet_count, database_count, sheet_read_at from buyer_sync.current_health),
       last_attempt as (select min(started_at) as first_at from public.sync_runs where mode = 'full'),
       -- The sheet was last known to be in the database: a full sync that succeeded, or a scheduled one that found it
       -- unchanged (not one skipped because another run held the lock: that one saw nothing).
       last_seen as (select max(coalesce(finished_at, started_at)) as at from public.sync_runs
                      where mode = 'full' and (status = 'succeeded' or (status = 'skipped' and coalesce(skipped_kind, 'unchanged') = 'unchanged'))),
       ever as (select exists (select 1 from public.sync_runs where mode = 'full' and status = 'succeeded') as synced)
  -- Before the first full sync every buyer is missing: that is a sheet not synced yet, and said so.
  select 'missing_buyers', 'missing_buyers', h.missing_count > t.missing_buyers_max or (not e.synced and h.missing_count > 0),
         case when e.synced
              then format('%s buyer(s) on the sheet are not in the database (threshold %s); buyer-sync missing lists them',
                          h.missing_count, t.missing_buyers_max)
              else format('the sheet has not been synced yet: its %s buyer(s) are not in the database until the first full sync succeeds (buyer-sync sync, or the worker''s first run)',
                          h.missing_count) end,
         jsonb_build_object('missing_count', h.missing_count, 'threshold', t.missing_buyers_max,
                            'spreadsheet_count', h.spreadsheet_count, 'database_count', h.database_count,
                            'sheet_read_at', h.sheet_read_at,
                            'first_missing', case when h.missing_count = 0 then '[]'::jsonb
                                                  else (select coalesce(jsonb_agg(m.buyer_number order by m.row_number), '[]'::jsonb)
                                                          from (select buyer_number, row_number from buyer_sync.missing_buyers
                                                                 order by row_number limit 20) m) end,
                            'synced_yet', e.synced)
    from t, h, ever e
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
         coalesce(now() - coalesce(s.at, a.first_at) > t.stale_after, false),
         case when s.at is null
              then format('no full sync has succeeded since the first attempt at %s (limit %s)', a.first_at, t.stale_after)
              else format('no full sync has succeeded since %s (limit %s)', s.at, t.stale_after) end,
         jsonb_build_object('last_sync_time', l.finished_at, 'last_seen_unchanged_at', s.at, 'first_attempt_at', a.first_at, 'stale_after', t.stale_after::text,
                            'latest_failures', (select coalesce(jsonb_agg(jsonb_build_object('run_id', f.id, 'started_at', f.started_at,
                                                                                        'failure', f.failure, 'error_message', f.error_message)
                                                                     order by f.started_at desc), '[]'::jsonb)
                                                  from (select id, started_at, failure, error_message from public.sync_runs
                                                         where mode = 'full' and status = 'failed'
                                                         order by started_at desc limit 3) f))
    from t cross join last_attempt a cross join last_seen s left join buyer_sync.last_full_sync l on true
$$;

/* The API's runs say what kind of skip a skipped run was. */
create or replace view buyer_sync_api.recent_runs as
  select r.run_id, r.started_at, r.finished_at, r.mode, r.status, r.failure,
         case when r.source like 'gsheets:%' then 'google_sheet' else 'csv' end as source_kind,
         r.total_rows, r.blank_rows,
         r.inserted, r.updated, r.unchanged, r.failed, r.error_rate, r.errors_by_type, r.duration_ms, r.rows_per_second,
         buyer_sync_private.redact_ids(r.error_message) as error_message,
         buyer_sync_private.redact_ids(x.skipped_because) as skipped_because,
         x.skipped_kind
    from buyer_sync.recent_runs r
    join public.sync_runs x on x.id = r.run_id;
comment on column buyer_sync_api.recent_runs.status is
  E'@notNull\nrunning, succeeded, failed (wrote nothing) or skipped (read nothing: skippedKind says why).';
comment on column buyer_sync_api.recent_runs.skipped_kind is
  E'Why a skipped run read nothing: unchanged (the sheet''s version was the one the last full read saw) or busy (another run held the sync lock).';

/* The dashboard's operator action. */
create function buyer_sync_api.approve_mass_change() returns bigint
language sql volatile
as $$ select buyer_sync.approve_mass_change() $$;
comment on function buyer_sync_api.approve_mass_change() is
  E'Lets the next sync that the mass-change guard would refuse go through, once (within a day); returns the approval''s id. Request a sync to run it now. Operator token required.';
grant execute on function buyer_sync_api.approve_mass_change() to buyer_sync_operator;

/* An open alert's text and figures follow its condition while it lasts (the missing count now, not at first sight). */
create or replace function buyer_sync.evaluate_alerts() returns setof public.sync_alerts
language plpgsql volatile
as $$
declare
  c record;
  a public.sync_alerts;
begin
  for c in select * from buyer_sync_private.health_conditions_at_once() loop
    if c.active then
      -- An open alert follows its condition: its text and figures are the latest (it is not delivered again).
      update public.sync_alerts s set message = c.message, details = c.details
       where s.condition = c.condition and s.resolved_at is null and s.resolves is null
         and (s.message, s.details) is distinct from (c.message, c.details);
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

-- migrate:down

drop function buyer_sync_api.approve_mass_change();
drop view buyer_sync_api.recent_runs;
create view buyer_sync_api.recent_runs as
  select r.run_id, r.started_at, r.finished_at, r.mode, r.status, r.failure,
         case when r.source like 'gsheets:%' then 'google_sheet' else 'csv' end as source_kind,
         r.total_rows, r.blank_rows,
         r.inserted, r.updated, r.unchanged, r.failed, r.error_rate, r.errors_by_type, r.duration_ms, r.rows_per_second,
         buyer_sync_private.redact_ids(r.error_message) as error_message,
         buyer_sync_private.redact_ids(x.skipped_because) as skipped_because
    from buyer_sync.recent_runs r
    join public.sync_runs x on x.id = r.run_id;
comment on column buyer_sync_api.recent_runs.status is
  E'@notNull\nrunning, succeeded, failed (wrote nothing) or skipped (a scheduled sync that found the sheet unchanged: read nothing).';
comment on column buyer_sync_api.recent_runs.skipped_because is
  E'Why a skipped run read nothing (the sheet''s version was the one the last full read saw).';
grant select on buyer_sync_api.recent_runs to buyer_sync_dashboard;

create or replace function buyer_sync.health_conditions()
returns table (type text, condition text, active boolean, message text, details jsonb)
language sql stable
as $$
  with t as (select * from buyer_sync_private.thresholds()),
       -- Once: each reference to a column of the view would otherwise compute its set difference again.
       h as materialized (select missing_count, spreadsheet_count, database_count, sheet_read_at from buyer_sync.current_health),
       last_attempt as (select min(started_at) as first_at from public.sync_runs where mode = 'full'),
       -- The sheet was last known to be in the database: a full sync that succeeded, or a scheduled one that found it unchanged.
       last_seen as (select max(coalesce(finished_at, started_at)) as at from public.sync_runs
                      where mode = 'full' and status in ('succeeded', 'skipped'))
  select 'missing_buyers', 'missing_buyers', h.missing_count > t.missing_buyers_max,
         format('%s buyer(s) on the sheet are not in the database (threshold %s); buyer-sync missing lists them',
                h.missing_count, t.missing_buyers_max),
         jsonb_build_object('missing_count', h.missing_count, 'threshold', t.missing_buyers_max,
                            'spreadsheet_count', h.spreadsheet_count, 'database_count', h.database_count,
                            'sheet_read_at', h.sheet_read_at,
                            'first_missing', case when h.missing_count = 0 then '[]'::jsonb
                                                  else (select coalesce(jsonb_agg(m.buyer_number order by m.row_number), '[]'::jsonb)
                                                          from (select buyer_number, row_number from buyer_sync.missing_buyers
                                                                 order by row_number limit 20) m) end)
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
         coalesce(now() - coalesce(s.at, a.first_at) > t.stale_after, false),
         case when s.at is null
              then format('no full sync has succeeded since the first attempt at %s (limit %s)', a.first_at, t.stale_after)
              else format('no full sync has succeeded since %s (limit %s)', s.at, t.stale_after) end,
         jsonb_build_object('last_sync_time', l.finished_at, 'last_seen_unchanged_at', s.at, 'first_attempt_at', a.first_at, 'stale_after', t.stale_after::text,
                            'latest_failures', (select coalesce(jsonb_agg(jsonb_build_object('run_id', f.id, 'started_at', f.started_at,
                                                                                        'failure', f.failure, 'error_message', f.error_message)
                                                                     order by f.started_at desc), '[]'::jsonb)
                                                  from (select id, started_at, failure, error_message from public.sync_runs
                                                         where mode = 'full' and status = 'failed'
                                                         order by started_at desc limit 3) f))
    from t cross join last_attempt a cross join last_seen s left join buyer_sync.last_full_sync l on true
$$;

create or replace function buyer_sync.evaluate_alerts() returns setof public.sync_alerts
language plpgsql volatile
as $$
declare
  c record;
  a public.sync_alerts;
begin
  for c in select * from buyer_sync_private.health_conditions_at_once() loop
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

drop function buyer_sync_private.resolve_mass_change(uuid);
drop function buyer_sync_private.raise_mass_change(text, jsonb);
drop function buyer_sync_private.use_mass_change_approval(uuid);
drop function buyer_sync.approve_mass_change(interval);
drop table buyer_sync_private.mass_change_approvals;
delete from public.sync_alerts where type = 'mass_change';
delete from buyer_sync.alert_types where type = 'mass_change';
delete from public.sync_runs where failure = 'mass_change' or skipped_kind = 'busy';
alter table public.sync_runs
  drop constraint sync_runs_failure_check,
  add constraint sync_runs_failure_check
    check (failure in ('blocked', 'sheet', 'database', 'cancelled', 'interrupted', 'error'));
alter table public.sync_runs
  drop constraint sync_runs_skipped_kind_fits_status,
  drop column skipped_kind;
