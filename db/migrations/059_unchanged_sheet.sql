-- migrate:up

/*
 * An unchanged Google sheet costs a scheduled sync one request: Drive's
 * version of the file says whether it changed since the last full read, and
 * when it did not, the run reads nothing and is recorded as skipped, with
 * why (src/sync/unchanged.ts). A full read happens anyway at least every
 * SHEET_FULL_READ_MINUTES, and whenever Drive does not answer with a version.
 *
 * A skipped run wrote nothing and read nothing: it is never a sync the error
 * rate, duration or throughput views count (they count runs that succeeded).
 * It does keep stale_sync quiet: the sheet was seen unchanged.
 */
alter table public.sync_runs
  drop constraint sync_runs_status_check,
  add constraint sync_runs_status_check check (status in ('running', 'succeeded', 'failed', 'skipped')),
  add column source_version  text,
  add column skipped_because text,
  add constraint sync_runs_skipped_says_why check ((status = 'skipped') = (skipped_because is not null));
comment on column public.sync_runs.status is
  E'running, succeeded, failed (wrote nothing) or skipped (a scheduled sync that found the sheet unchanged since its last full read: read nothing, wrote nothing).';
comment on column public.sync_runs.source_version is
  E'The sheet''s version as the run found it (Drive''s file version of a Google sheet); null when unknown (a CSV export, Drive not answering).';
comment on column public.sync_runs.skipped_because is
  E'Why a scheduled sync did not read the sheet: which full read found the same version, and how long ago. Null unless status is skipped.';
create index sync_runs_full_source_idx on public.sync_runs (source, started_at) where mode = 'full' and status = 'succeeded';

/* stale_sync: a sheet seen unchanged is not stale. */
create or replace function buyer_sync.health_conditions()
returns table (type text, condition text, active boolean, message text, details jsonb)
language sql stable
as $$
  with t as (select * from buyer_sync_private.thresholds()),
       h as (select * from buyer_sync.current_health),
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

/* The API's runs say why a run skipped (any spreadsheet id redacted). */
create or replace view buyer_sync_api.recent_runs as
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

-- migrate:down

delete from public.sync_runs where status = 'skipped';
drop view buyer_sync_api.recent_runs;
create view buyer_sync_api.recent_runs as
  select r.run_id, r.started_at, r.finished_at, r.mode, r.status, r.failure,
         case when r.source like 'gsheets:%' then 'google_sheet' else 'csv' end as source_kind,
         r.total_rows, r.blank_rows,
         r.inserted, r.updated, r.unchanged, r.failed, r.error_rate, r.errors_by_type, r.duration_ms, r.rows_per_second,
         buyer_sync_private.redact_ids(r.error_message) as error_message
    from buyer_sync.recent_runs r;
grant select on buyer_sync_api.recent_runs to buyer_sync_dashboard;
comment on view buyer_sync_api.recent_runs is
  E'@primaryKey run_id\n@behavior -connection +list\nThe 50 latest sync runs: mode, outcome, what happened to every row, error rate, duration; why a failed run failed. Newest first: orderBy STARTED_AT_DESC.';
comment on column buyer_sync_api.recent_runs.run_id is E'@notNull';
comment on column buyer_sync_api.recent_runs.started_at is E'@notNull';
comment on column buyer_sync_api.recent_runs.mode is E'@notNull\nfull, only (given buyer numbers) or retry.';
comment on column buyer_sync_api.recent_runs.status is E'@notNull\nrunning, succeeded or failed (a failed run wrote nothing).';
comment on column buyer_sync_api.recent_runs.source_kind is E'@notNull\ngoogle_sheet or csv. Never the sheet''s address: a sheet shared by link is open to anyone with its id.';
comment on column buyer_sync_api.recent_runs.total_rows is E'@notNull';
comment on column buyer_sync_api.recent_runs.blank_rows is E'@notNull';
comment on column buyer_sync_api.recent_runs.inserted is E'@notNull';
comment on column buyer_sync_api.recent_runs.updated is E'@notNull';
comment on column buyer_sync_api.recent_runs.unchanged is E'@notNull';
comment on column buyer_sync_api.recent_runs.failed is E'@notNull\nRows that failed.';
comment on column buyer_sync_api.recent_runs.errors_by_type is E'@notNull';
comment on column buyer_sync_api.recent_runs.error_message is E'Why a failed run failed (spreadsheet ids show as <id>). Never a cell value.';
create or replace function buyer_sync.health_conditions()
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
drop index public.sync_runs_full_source_idx;
alter table public.sync_runs
  drop constraint sync_runs_skipped_says_why,
  drop column skipped_because,
  drop column source_version,
  drop constraint sync_runs_status_check,
  add constraint sync_runs_status_check check (status in ('running', 'succeeded', 'failed'));
comment on column public.sync_runs.status is
  E'running, succeeded or failed. A failed run wrote nothing to buyers.';
