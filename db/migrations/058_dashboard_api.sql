-- migrate:up

/*
 * The dashboard's API: a schema of views and functions (buyer_sync_api) that
 * PostGraphile turns into the GraphQL API at /graphql, and the roles it runs
 * as. Nothing in buyer_sync_api holds a buyer's personal data: buyer numbers,
 * sheet rows, column names, counts, rules and times only.
 *
 * Roles (the cluster's, so created only when missing):
 *   buyer_sync_authenticator  login, noinherit: the only login PostGraphile
 *                             uses. By itself it can read nothing; each
 *                             request switches (set local role) to one of:
 *   buyer_sync_dashboard      read the API schema, nothing else; requests
 *                             also run in a read-only transaction.
 *   buyer_sync_operator       the dashboard's reads, plus the operator
 *                             actions (requests with the operator token).
 *
 * The views are owner-rights views (not security_invoker): the dashboard
 * role reads what a view shows without any privilege on the tables under it,
 * so it can never reach a column the views leave out. There is no row-level
 * security on these tables for a view to bypass.
 */
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'buyer_sync_dashboard') then
    create role buyer_sync_dashboard nologin;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'buyer_sync_authenticator') then
    create role buyer_sync_authenticator login noinherit;
  end if;
end $$;
comment on role buyer_sync_dashboard is
  E'The dashboard (GraphQL API without the operator token): reads the views of buyer_sync_api, nothing else.';
comment on role buyer_sync_authenticator is
  E'The login of the GraphQL API (buyer-sync serve). noinherit: it reads nothing itself and switches to buyer_sync_dashboard or buyer_sync_operator per request.';
grant buyer_sync_dashboard to buyer_sync_operator;
grant buyer_sync_dashboard, buyer_sync_operator to buyer_sync_authenticator;

/*
 * Functions are callable by whoever has usage on their schema unless said
 * otherwise (PostgreSQL grants execute to public). From here on they are
 * not: every grant below is deliberate.
 */
revoke execute on all functions in schema buyer_sync, buyer_sync_private from public;
alter default privileges revoke execute on functions from public;

/*
 * The authenticator's password when DASHBOARD_DATABASE_URL is not set:
 * `buyer-sync serve` logs in with it, and sets it on the role when the login
 * is refused (which needs a superuser or createrole owner). Random per
 * database; readable only by the owner.
 */
create table buyer_sync_private.api_login (
  singleton boolean primary key default true check (singleton),
  password  text not null default encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex')
);
comment on table buyer_sync_private.api_login is
  E'The password of buyer_sync_authenticator that buyer-sync serve uses when DASHBOARD_DATABASE_URL is not set.';
insert into buyer_sync_private.api_login default values;

/* ------------------------------------------------------ acknowledging alerts */
alter table public.sync_alerts
  add column acknowledged_at timestamptz,
  add constraint sync_alerts_acknowledged_is_open check (acknowledged_at is null or resolves is null);
comment on column public.sync_alerts.acknowledged_at is
  E'When an operator acknowledged the open alert (someone is on it). It stays open until its condition clears.';

create or replace view buyer_sync.open_alerts as
  select a.id, a.type, a.severity, a.condition, a.message, a.details, a.created_at, a.delivered_at, a.delivery_error,
         a.acknowledged_at
    from public.sync_alerts a
   where a.resolved_at is null and a.resolves is null;

create function buyer_sync.acknowledge_alert(alert_id uuid) returns timestamptz
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
declare
  a public.sync_alerts;
begin
  select * into a from public.sync_alerts s where s.id = alert_id for update;
  if not found or a.resolves is not null then
    raise exception 'no alert %', alert_id using errcode = 'P0002';
  end if;
  if a.resolved_at is not null then
    raise exception 'alert % was resolved at %: nothing to acknowledge', alert_id, a.resolved_at using errcode = '55000';
  end if;
  update public.sync_alerts s set acknowledged_at = coalesce(s.acknowledged_at, clock_timestamp())
   where s.id = alert_id
  returning s.acknowledged_at into a.acknowledged_at;
  return a.acknowledged_at;
end $$;
comment on function buyer_sync.acknowledge_alert(uuid) is
  E'Marks an open alert as acknowledged (someone is on it) and returns when; acknowledging it again keeps the first time. It stays open until its condition clears.';

/* ------------------------------------------------------------ retry a buyer */
create function buyer_sync.retry_buyer_now(buyer_number text) returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
begin
  if buyer_number is null or btrim(buyer_number) = '' then
    raise exception 'retry_buyer_now needs a buyer number' using errcode = '22023';
  end if;
  -- Buyer numbers are stored trimmed (the row rules): so is the one asked for.
  buyer_number := btrim(buyer_number);
  -- A buyer waiting for its next retry: due now, and a retry round right away (it takes the due
  -- entries oldest first, at most RETRY_ROUND_LIMIT of them).
  update public.retry_queue q set next_retry_at = least(q.next_retry_at, statement_timestamp()), updated_at = statement_timestamp()
   where q.buyer_number = retry_buyer_now.buyer_number and q.status = 'pending';
  if found then
    return buyer_sync.request_retry_round();
  end if;
  -- Any other buyer (one that failed for good, or is missing): a sync of just its number from the sheet.
  return buyer_sync.request_buyer_sync(array[buyer_number]);
end $$;
comment on function buyer_sync.retry_buyer_now(text) is
  E'Retries one buyer now and returns the job id: a buyer in the retry queue is made due and a retry round requested; any other (failed for good, missing) is synced by its number from the configured sheet.';

grant execute on function buyer_sync.acknowledge_alert(uuid), buyer_sync.retry_buyer_now(text) to buyer_sync_operator;

/*
 * What the API must not show even inside text it may show: a Google
 * spreadsheet's id (44 characters of [A-Za-z0-9_-]). A sheet shared by link
 * is readable by anyone who has its id, so the id is as good as every name
 * and phone on it. Run ids (uuids, 36 characters) are kept.
 */
create function buyer_sync_private.redact_ids(t text) returns text
language sql immutable
as $$ select regexp_replace(t, '[A-Za-z0-9_-]{40,}', '<id>', 'g') $$;
comment on function buyer_sync_private.redact_ids(text) is
  E'Replaces every run of 40 or more [A-Za-z0-9_-] (a Google spreadsheet id) with <id>: for text the API shows.';

/* ------------------------------------------------------------- the API schema
 * Smart tags in the comments shape the GraphQL API (PostGraphile v5):
 * @primaryKey names a view's key, @behavior -connection +list gives plain
 * lists (every view here is short, so pages would add nothing), @notNull
 * marks columns that are never null. A GraphQL list comes in key order
 * unless orderBy says otherwise; each view's comment names the orderBy that
 * gives its own order (the one psql shows).
 */
create schema buyer_sync_api;
comment on schema buyer_sync_api is
  E'The dashboard''s API (GraphQL at /graphql): views and functions without personal data. Owner-rights views: the dashboard role reads them, never the tables under them.';

create view buyer_sync_api.dashboard_summary as
  select s.* from buyer_sync.dashboard_summary s;
comment on view buyer_sync_api.dashboard_summary is
  E'@behavior -list -connection -single\nThe dashboard''s numbers: the last full sync, sheet and database counts, missing and extra buyers (set difference), the retry queue, open alerts, the latest verification and health check. Null where nothing has run yet.';
comment on column buyer_sync_api.dashboard_summary.error_rate is
  E'@notNull\nPercent of the last full sync''s non-blank rows that failed (0 before any sync).';
comment on column buyer_sync_api.dashboard_summary.row_success_rate is E'100 minus error_rate; null before any full sync.';
comment on column buyer_sync_api.dashboard_summary.missing_count is E'@notNull\nSheet buyers (latest full read) not in the database, by set difference.';
comment on column buyer_sync_api.dashboard_summary.extra_count is E'@notNull\nDatabase buyers not on the sheet (latest full read); a sync never deletes them.';
comment on column buyer_sync_api.dashboard_summary.spreadsheet_count is E'@notNull\nDistinct buyer numbers on the sheet (latest full read).';
comment on column buyer_sync_api.dashboard_summary.database_count is E'@notNull\nBuyers in the database.';
comment on column buyer_sync_api.dashboard_summary.sheet_read_at is E'When the sheet was last read in full; null: never.';
comment on column buyer_sync_api.dashboard_summary.retry_queue_size is E'@notNull\nBuyers waiting for a retry.';
comment on column buyer_sync_api.dashboard_summary.permanent_failures is E'@notNull\nOpen permanent-failure alerts (one per buyer).';
comment on column buyer_sync_api.dashboard_summary.open_alerts is E'@notNull\nAlerts whose condition still holds.';
comment on column buyer_sync_api.dashboard_summary.runs_24h is E'@notNull\nRuns finished in the last 24 hours.';
comment on column buyer_sync_api.dashboard_summary.failed_runs_24h is E'@notNull\nRuns of the last 24 hours that failed (wrote nothing).';
comment on column buyer_sync_api.dashboard_summary.run_success_rate_24h is E'Percent of the last 24 hours'' finished runs that succeeded; null: none finished.';

create function buyer_sync_api.summary() returns buyer_sync_api.dashboard_summary
language sql stable
as $$ select s.* from buyer_sync_api.dashboard_summary s $$;
comment on function buyer_sync_api.summary() is
  E'@notNull\nThe dashboard''s numbers, one row.';

create view buyer_sync_api.daily_runs as
  select d.day::date as day, d.runs, d.succeeded, d.failed_runs, d.failures, d.non_blank_rows, d.failed_rows, d.error_rate,
         d.avg_duration_ms, d.max_duration_ms
    from buyer_sync.daily_runs d
   where d.day > now() - interval '30 days'
   order by d.day;
comment on view buyer_sync_api.daily_runs is
  E'@primaryKey day\n@behavior -connection +list\nRuns per day over the last 30 days (days in the database''s TimeZone), oldest first: how many, how many failed and why, rows and error rate (percent of non-blank rows that failed) of the ones that succeeded.';
comment on column buyer_sync_api.daily_runs.day is E'@notNull\nThe day (a date: the same day wherever the page is read).';
comment on column buyer_sync_api.daily_runs.runs is E'@notNull';
comment on column buyer_sync_api.daily_runs.succeeded is E'@notNull';
comment on column buyer_sync_api.daily_runs.failed_runs is E'@notNull\nRuns that failed (wrote nothing).';
comment on column buyer_sync_api.daily_runs.failures is E'@notNull\nWhy runs failed: reason (blocked, sheet, database, cancelled, interrupted, error) -> runs.';
comment on column buyer_sync_api.daily_runs.non_blank_rows is E'@notNull';
comment on column buyer_sync_api.daily_runs.failed_rows is E'@notNull';
comment on column buyer_sync_api.daily_runs.error_rate is E'@notNull\nPercent of the non-blank rows of the day''s successful runs that failed.';

create view buyer_sync_api.daily_errors as
  select d.day::date as day, d.error_type, d.errors, d.buyers
    from buyer_sync.daily_errors_by_type d
   where d.day > now() - interval '30 days'
   order by d.day, d.error_type;
comment on view buyer_sync_api.daily_errors is
  E'@primaryKey day,error_type\n@behavior -connection +list\nError-log entries per day (the database''s TimeZone) and error type over the last 30 days, with the distinct buyers they concern.';
comment on column buyer_sync_api.daily_errors.day is E'@notNull\nThe day (a date).';
comment on column buyer_sync_api.daily_errors.error_type is E'@notNull\nfield_length, data_type, constraint_violation, transient or unknown.';
comment on column buyer_sync_api.daily_errors.errors is E'@notNull';
comment on column buyer_sync_api.daily_errors.buyers is E'@notNull';

create view buyer_sync_api.missing_buyers as
  select m.buyer_number, m.row_number,
         (select e.error_type from public.sync_error_log e where e.buyer_number = m.buyer_number
           order by e.created_at desc limit 1) as last_error_type
    from buyer_sync.missing_buyers m
   order by m.row_number
   limit 1000;
comment on view buyer_sync_api.missing_buyers is
  E'@primaryKey buyer_number\n@behavior -connection +list\nThe first 1,000 buyers (by sheet row) on the sheet (latest full read) that are not in the database, with their sheet row and the type of their latest error (null: never logged); summary.missingCount counts them all, buyer-sync missing lists them all. By sheet row: orderBy ROW_NUMBER_ASC.';
comment on column buyer_sync_api.missing_buyers.buyer_number is E'@notNull';
comment on column buyer_sync_api.missing_buyers.row_number is E'@notNull\nThe buyer''s row on the sheet (the header is row 1).';

create view buyer_sync_api.extra_buyers as
  select x.buyer_number from buyer_sync.extra_buyers x order by x.buyer_number limit 1000;
comment on view buyer_sync_api.extra_buyers is
  E'@primaryKey buyer_number\n@behavior -connection +list\nThe first 1,000 buyer numbers in the database that are not on the sheet (latest full read); summary.extraCount counts them all. A sync never deletes them.';
comment on column buyer_sync_api.extra_buyers.buyer_number is E'@notNull';

create view buyer_sync_api.recent_errors as
  select e.id, e.created_at, e.run_id, e.buyer_number, e.row_number, e.column_name, e.error_type, e.error_message, e.retryable
    from public.sync_error_log e
   order by e.created_at desc, e.id
   limit 200;
comment on view buyer_sync_api.recent_errors is
  E'@primaryKey id\n@behavior -connection +list\nThe 200 latest error-log entries: buyer number, sheet row, column, type and rule. Never a cell value. Newest first: orderBy CREATED_AT_DESC.';
comment on column buyer_sync_api.recent_errors.id is E'@notNull';
comment on column buyer_sync_api.recent_errors.created_at is E'@notNull';
comment on column buyer_sync_api.recent_errors.error_type is E'@notNull';
comment on column buyer_sync_api.recent_errors.error_message is E'@notNull\nThe column, the rule and, for lengths, the length. Never a cell value.';
comment on column buyer_sync_api.recent_errors.retryable is E'@notNull\nWhether the failure was queued for retry.';

create view buyer_sync_api.retry_entries as
  select q.id, q.buyer_number, q.row_number, q.status, q.attempt_count, q.next_retry_at, q.created_at, q.updated_at,
         q.error_info->>'error_type' as error_type, q.error_info->>'column_name' as column_name,
         q.error_info->>'error_message' as error_message
    from public.retry_queue q
   where q.status in ('pending', 'processing')
   order by q.next_retry_at, q.id
   limit 1000;
comment on view buyer_sync_api.retry_entries is
  E'@primaryKey id\n@behavior -connection +list\nThe first 1,000 buyers due for a retry (1, 5, 15 minutes after each failure), with why the latest attempt failed; summary.retryQueueSize counts them all. Next due first: orderBy NEXT_RETRY_AT_ASC.';
comment on column buyer_sync_api.retry_entries.id is E'@notNull';
comment on column buyer_sync_api.retry_entries.buyer_number is E'@notNull';
comment on column buyer_sync_api.retry_entries.status is E'@notNull\npending or processing.';
comment on column buyer_sync_api.retry_entries.attempt_count is E'@notNull\nFailed attempts so far.';
comment on column buyer_sync_api.retry_entries.next_retry_at is E'@notNull';
comment on column buyer_sync_api.retry_entries.created_at is E'@notNull';
comment on column buyer_sync_api.retry_entries.updated_at is E'@notNull';

create view buyer_sync_api.alerts as
  select a.id, a.type, a.severity,
         case a.severity when 'critical' then 0 when 'error' then 1 when 'warning' then 2 else 3 end as severity_rank,
         buyer_sync_private.redact_ids(a.message) as message,
         buyer_sync_private.redact_ids((a.details - 'source')::text)::jsonb as details,
         a.created_at, a.delivered_at, a.delivery_error, a.acknowledged_at, t.what_to_do
    from buyer_sync.open_alerts a
    join buyer_sync.alert_types t on t.type = a.type
   order by severity_rank, a.created_at desc, a.id;
comment on view buyer_sync_api.alerts is
  E'@primaryKey id\n@behavior -connection +list\nOpen alerts (their condition still holds), with what to do. Buyer numbers, counts and rules only. Worst first: orderBy [SEVERITY_RANK_ASC, CREATED_AT_DESC].';
comment on column buyer_sync_api.alerts.id is E'@notNull';
comment on column buyer_sync_api.alerts.type is E'@notNull';
comment on column buyer_sync_api.alerts.severity is E'@notNull\ninfo, warning, error or critical.';
comment on column buyer_sync_api.alerts.severity_rank is E'@notNull\n0 critical, 1 error, 2 warning, 3 info: orderBy [SEVERITY_RANK_ASC, CREATED_AT_DESC] puts the worst first.';
comment on column buyer_sync_api.alerts.message is E'@notNull';
comment on column buyer_sync_api.alerts.details is E'@notNull\nThe alert''s details without the sheet''s address (spreadsheet ids show as <id>).';
comment on column buyer_sync_api.alerts.created_at is E'@notNull';
comment on column buyer_sync_api.alerts.acknowledged_at is E'When an operator acknowledged it; null: nobody has yet.';
comment on column buyer_sync_api.alerts.what_to_do is E'@notNull';

create view buyer_sync_api.recent_runs as
  select r.run_id, r.started_at, r.finished_at, r.mode, r.status, r.failure,
         case when r.source like 'gsheets:%' then 'google_sheet' else 'csv' end as source_kind,
         r.total_rows, r.blank_rows,
         r.inserted, r.updated, r.unchanged, r.failed, r.error_rate, r.errors_by_type, r.duration_ms, r.rows_per_second,
         buyer_sync_private.redact_ids(r.error_message) as error_message
    from buyer_sync.recent_runs r;
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

create view buyer_sync_api.verification as
  select v.id, v.created_at, v.trigger, v.run_id,
         case when v.source like 'gsheets:%' then 'google_sheet' else 'csv' end as source_kind,
         v.passed, v.complete, v.accurate, v.summary,
         v.sample_size, v.missing_count, v.extra_count, v.unverifiable_count, v.mismatch_count, v.mismatched_buyers
    from buyer_sync.latest_verification v;
comment on view buyer_sync_api.verification is
  E'@behavior -list -connection -single\nAn integrity verification: whether it passed, its summary and counts. The mismatching values stay in the database.';
comment on column buyer_sync_api.verification.id is E'@notNull';
comment on column buyer_sync_api.verification.created_at is E'@notNull';
comment on column buyer_sync_api.verification.trigger is E'@notNull\ncommand (buyer-sync verify) or after_sync (right after a scheduled sync).';
comment on column buyer_sync_api.verification.passed is E'@notNull';
comment on column buyer_sync_api.verification.source_kind is E'@notNull\ngoogle_sheet or csv.';
comment on column buyer_sync_api.verification.summary is E'@notNull';

create function buyer_sync_api.latest_verification() returns buyer_sync_api.verification
language sql stable
as $$ select v.* from buyer_sync_api.verification v $$;
comment on function buyer_sync_api.latest_verification() is
  E'The latest integrity verification (verify, or after a scheduled sync); null: none yet.';

/*
 * Operator actions (GraphQL mutations): the operator role only. strict: their
 * arguments are required in GraphQL.
 */
create function buyer_sync_api.request_sync() returns bigint
language sql volatile
as $$ select buyer_sync.request_sync() $$;
comment on function buyer_sync_api.request_sync() is
  E'Asks the worker for a full sync of the configured sheet now; returns the job id. Operator token required.';

create function buyer_sync_api.retry_buyer(buyer_number text) returns bigint
language sql volatile strict
as $$ select buyer_sync.retry_buyer_now(buyer_number) $$;
comment on function buyer_sync_api.retry_buyer(text) is
  E'Retries one buyer now (a queued buyer is made due; any other is synced by its number from the sheet); returns the job id. Operator token required.';

create function buyer_sync_api.acknowledge_alert(alert_id uuid) returns timestamptz
language sql volatile strict
as $$ select buyer_sync.acknowledge_alert(alert_id) $$;
comment on function buyer_sync_api.acknowledge_alert(uuid) is
  E'Acknowledges an open alert (someone is on it); returns when. Operator token required.';

-- The views call it; a view's functions are called with its reader's execute rights.
grant execute on function buyer_sync_private.redact_ids(text) to buyer_sync_dashboard;
grant usage on schema buyer_sync_api to buyer_sync_dashboard;
grant select on all tables in schema buyer_sync_api to buyer_sync_dashboard;
grant execute on function buyer_sync_api.summary(), buyer_sync_api.latest_verification() to buyer_sync_dashboard;
grant execute on function buyer_sync_api.request_sync(), buyer_sync_api.retry_buyer(text),
  buyer_sync_api.acknowledge_alert(uuid) to buyer_sync_operator;

-- migrate:down

drop schema buyer_sync_api cascade;
drop function buyer_sync_private.redact_ids(text);
drop function buyer_sync.retry_buyer_now(text);
drop function buyer_sync.acknowledge_alert(uuid);
drop view buyer_sync.open_alerts;
create view buyer_sync.open_alerts as
  select a.id, a.type, a.severity, a.condition, a.message, a.details, a.created_at, a.delivered_at, a.delivery_error
    from public.sync_alerts a
   where a.resolved_at is null and a.resolves is null;
comment on view buyer_sync.open_alerts is
  E'Alerts whose condition still holds. Buyer numbers, counts and rules only.';
alter table public.sync_alerts drop constraint sync_alerts_acknowledged_is_open, drop column acknowledged_at;
drop table buyer_sync_private.api_login;
alter default privileges grant execute on functions to public;
grant execute on all functions in schema buyer_sync, buyer_sync_private to public;
revoke execute on function buyer_sync.request_sync(), buyer_sync.request_buyer_sync(text[]), buyer_sync.request_retry_round() from public;
-- The roles are the cluster's, shared by every database: left in place, with their memberships.
