-- migrate:up

/*
 * The sync report (issue 19): what the sales team sees in a tab of their own
 * spreadsheet (SHEET_REPORT_TAB), and what `buyer-sync report` prints for a
 * CSV export. Everything it shows is defined here, in SQL, so an analyst
 * reads the same list in psql:
 *
 * - buyer_sync.report_failing_rows: the sheet rows failing now (below);
 * - buyer_sync.report_duplicate_keys: buyer numbers on more than one row;
 * - buyer_sync.lookalike_buyers (062) and buyer_sync.extra_buyers (053).
 *
 * "Failing now": every row the latest succeeded full sync logged in
 * sync_error_log (with a row number), except a row whose retry since then
 * closed it (retry_queue status succeeded, resolution synced or left_sheet,
 * resolved after that sync started, by another run). A row a later retry
 * or --only run failed again shows that run's message, row and attempts. A
 * row that cannot be retried (constraint_violation: a duplicate, a missing
 * buyer number) leaves the list at the next full sync that no longer fails
 * it. Only the rule's message is shown (it names the column and the rule,
 * never another cell's value: sync_error_log never holds one).
 *
 * The writer keeps one row of state per report tab (the hash of what it last
 * wrote: unchanged content writes nothing; the Drive version its own write
 * produced) and one row per write or failed write. A failed write raises
 * report_write_failed, once per condition, resolved by the next write that
 * succeeds. The worker writes the tab (task report__write), enqueued by the
 * sync_runs trigger below after a full, retry or --only run finishes,
 * only while serve has recorded that a report tab is configured
 * (buyer_sync_private.report_settings): SQL cannot read SHEET_REPORT_TAB.
 */

/* ------------------------------------------------------------ failing now */
create view buyer_sync.report_failing_rows as
  with last_full as (
    select r.id, r.started_at
      from public.sync_runs r
     where r.mode = 'full' and r.status = 'succeeded'
     order by r.started_at desc
     limit 1
  ), logged as (
    select e.id, e.row_number, e.buyer_number, e.column_name, e.error_type, e.error_message, e.retryable, e.created_at,
           f.id as full_run_id, f.started_at as full_started_at
      from public.sync_error_log e
      join last_full f on f.id = e.run_id
     where e.row_number is not null
  )
  select coalesce(later.row_number, l.row_number) as row_number,
         l.buyer_number,
         coalesce(later.column_name, l.column_name) as column_name,
         coalesce(later.error_type, l.error_type) as error_type,
         regexp_replace(coalesce(later.error_message, l.error_message), '^row [0-9]+: ', '') as problem,
         coalesce(streak.first_seen, l.created_at) as since,
         coalesce(case when l.retryable then q.attempt_count end, 0) as attempts,
         case when l.retryable and q.status in ('pending', 'processing') then q.next_retry_at end as next_retry_at,
         l.full_run_id as run_id
    from logged l
    left join lateral (
      select q.* from public.retry_queue q
       where l.buyer_number is not null and q.buyer_number = l.buyer_number
       order by q.created_at desc
       limit 1
    ) q on true
    left join lateral (
      select e.row_number, e.column_name, e.error_type, e.error_message
        from public.sync_error_log e
        join public.sync_runs r on r.id = e.run_id
       where l.retryable and e.run_id = q.last_run_id and e.buyer_number = l.buyer_number
         and e.row_number is not null and r.started_at > l.full_started_at
       order by e.created_at desc
       limit 1
    ) later on true
    left join lateral (
      -- Since when: the first full sync of the unbroken run of full syncs that failed this buyer (or this row, without a buyer number).
      select min(e2.created_at) as first_seen
        from public.sync_error_log e2
        join public.sync_runs r2 on r2.id = e2.run_id and r2.mode = 'full' and r2.status = 'succeeded'
       where (case when l.buyer_number is null then e2.buyer_number is null and e2.row_number = l.row_number
                   else e2.buyer_number = l.buyer_number end)
         and r2.started_at <= l.full_started_at
         and r2.started_at > coalesce((
               select max(r3.started_at) from public.sync_runs r3
                where r3.mode = 'full' and r3.status = 'succeeded' and r3.started_at < l.full_started_at
                  and not exists (select 1 from public.sync_error_log e3
                                   where e3.run_id = r3.id
                                     and (case when l.buyer_number is null then e3.buyer_number is null and e3.row_number = l.row_number
                                               else e3.buyer_number = l.buyer_number end))), '-infinity')
    ) streak on true
   where not (l.retryable and q.status = 'succeeded' and q.resolved_at > l.full_started_at
              and q.resolved_run_id is distinct from l.full_run_id);
comment on view buyer_sync.report_failing_rows is
  E'The sheet rows failing now, as the sync report shows them: every row the latest succeeded full sync logged, minus rows a later retry or --only run synced (or found gone), with the message of a later failure when there is one. problem is the row rule''s message without its "row N: " prefix (column and rule, never a cell value but the buyer number). since: the first full sync of the unbroken series that failed this buyer (this row without a buyer number); attempts and next_retry_at from retry_queue (0 and null for rows that are not retried).';
comment on column buyer_sync.report_failing_rows.run_id is
  E'The full sync whose error log the row comes from.';

create view buyer_sync.report_duplicate_keys as
  select k.buyer_number, array_agg(distinct k.row_number order by k.row_number) as row_numbers
    from (select f.buyer_number, f.row_number from buyer_sync.report_failing_rows f where f.buyer_number is not null
          union
          select s.buyer_number, s.row_number from buyer_sync_private.sheet_buyers s) k
   group by k.buyer_number
  having count(distinct k.row_number) > 1;
comment on view buyer_sync.report_duplicate_keys is
  E'Buyer numbers on more than one row of the sheet (its latest full read and the rows failing now), with those rows: one line each in the sync report.';

/* ------------------------------------------------------------ writer state */
create table buyer_sync_private.report_settings (
  singleton   boolean primary key default true check (singleton),
  tab         text,
  recorded_at timestamptz not null default now()
);
comment on table buyer_sync_private.report_settings is
  E'Whether a report tab is configured (SHEET_REPORT_TAB), as the last buyer-sync serve to start recorded it: tab null or no row means off, and finished runs then enqueue no report__write job.';

create table buyer_sync_private.report_state (
  target        text primary key,
  content_hash  text not null,
  since_run_id  uuid references public.sync_runs (id) on delete set null,
  written_at    timestamptz not null,
  lines         integer not null check (lines >= 0),
  read_version  text,
  own_version   text,
  notes_hash    text
);
comment on table buyer_sync_private.report_state is
  E'One row per report tab (target: gsheets:<spreadsheet id>!<tab name>, or a CSV export''s report): the hash of the content last written (the same content is never written again), the run that changed it, and the Drive version chain of buyer-sync''s own writes.';
comment on column buyer_sync_private.report_state.content_hash is
  E'sha256 of the report''s content without its run stamp: a run that changes nothing writes nothing.';
comment on column buyer_sync_private.report_state.since_run_id is
  E'The run after which the content last changed: the report tab says "since" it.';
comment on column buyer_sync_private.report_state.read_version is
  E'The Drive version (digits) of the spreadsheet as the last full sync read it, when buyer-sync''s own writes followed it and nothing else changed the file meanwhile; null otherwise.';
comment on column buyer_sync_private.report_state.own_version is
  E'The Drive version buyer-sync''s own report write produced from read_version: a scheduled sync treats it as unchanged (buyer_sync.is_own_report_version). Null when a write may have raced a person''s edit.';
comment on column buyer_sync_private.report_state.notes_hash is
  E'sha256 of the cell notes buyer-sync last wanted on the buyers tab (SHEET_REPORT_NOTES; null when off): a change of it alone rewrites the notes.';

create table buyer_sync_private.report_writes (
  id                   bigint generated always as identity primary key,
  target               text not null,
  attempted_at         timestamptz not null default clock_timestamp(),
  outcome              text not null check (outcome in ('written', 'failed')),
  since_run_id         uuid references public.sync_runs (id) on delete set null,
  lines                integer check (lines >= 0),
  requests             integer check (requests >= 0),
  http_status          integer,
  failure              text check (failure in ('permission', 'scope', 'quota', 'server', 'network', 'other')),
  error_message        text,
  drive_version_before text,
  drive_version_after  text,
  constraint report_writes_failure_fits_outcome check ((outcome = 'failed') = (failure is not null))
);
comment on table buyer_sync_private.report_writes is
  E'Every write of a report tab and every failed one (a report that did not change writes nothing and leaves no row). failure: permission (the sheet is not shared with the service account as Editor), scope (no spreadsheets scope, or an API key), quota (429), server (5xx), network, other. error_message is Google''s, never a cell value.';
create index report_writes_target_idx on buyer_sync_private.report_writes (target, attempted_at);

create view buyer_sync.report_status as
  select s.target, s.written_at, s.lines, s.since_run_id,
         (select w.attempted_at from buyer_sync_private.report_writes w where w.target = s.target and w.outcome = 'failed'
           and w.attempted_at > s.written_at order by w.attempted_at desc limit 1) as failing_since_write,
         (select w.failure from buyer_sync_private.report_writes w where w.target = s.target
           order by w.attempted_at desc limit 1) as last_failure
    from buyer_sync_private.report_state s;
comment on view buyer_sync.report_status is
  E'Each report tab: when it was last written, with how many lines, and whether writes have failed since (report_writes).';

/*
 * Whether a Drive version is the one buyer-sync's own report write made from
 * the version the last full sync read: a scheduled sync then skips the sheet
 * as unchanged. Versions are Drive's digits.
 */
create function buyer_sync.is_own_report_version(spreadsheet_id text, read_version text, current_version text) returns boolean
language sql stable
as $$
  select exists (
    select 1 from buyer_sync_private.report_state s
     where split_part(s.target, '!', 1) = 'gsheets:' || spreadsheet_id
       and s.read_version = read_version and s.own_version = current_version)
$$;
comment on function buyer_sync.is_own_report_version(text, text, text) is
  E'True when current_version is the Drive version buyer-sync''s own report write produced from read_version (the version the last full sync read) with nothing else changing the file meanwhile: src/sync/unchanged.ts treats it as unchanged.';

/* ------------------------------------------------------------ alert */
insert into buyer_sync.alert_types (type, severity, raised_when, what_to_do) values
  ('report_write_failed', 'warning',
   'buyer-sync could not write the sync report tab (SHEET_REPORT_TAB) to the spreadsheet: no edit permission, no spreadsheets scope, Google''s quota, or a Google server error. The sync itself is not affected; the worker tries again.',
   'Share the spreadsheet with the service account''s e-mail as Editor (Viewer is enough to sync, not to write the report), and use a service-account key (GOOGLE_APPLICATION_CREDENTIALS): an API key cannot write. For quota or server errors nothing is needed: the next write succeeds and resolves the alert. To turn the report off, unset SHEET_REPORT_TAB and restart serve.')
on conflict (type) do nothing;

create function buyer_sync_private.raise_report_write_failed(condition text, message text, details jsonb) returns setof public.sync_alerts
language sql volatile
as $$
  insert into public.sync_alerts (type, severity, condition, message, details)
  select 'report_write_failed', t.severity, condition, message, details from buyer_sync.alert_types t where t.type = 'report_write_failed'
  on conflict (md5(condition)) where resolved_at is null and resolves is null do nothing
  returning *
$$;
comment on function buyer_sync_private.raise_report_write_failed(text, text, jsonb) is
  E'Raises report_write_failed for a condition (report_write_failed:<target>:<failure>) unless it is open already: once per condition.';

create function buyer_sync_private.resolve_report_write_failed(target text) returns setof public.sync_alerts
language plpgsql volatile
as $$
declare
  a public.sync_alerts;
begin
  for a in
    update public.sync_alerts s set resolved_at = clock_timestamp()
     where s.type = 'report_write_failed' and s.condition like 'report_write_failed:' || target || ':%'
       and s.resolved_at is null and s.resolves is null
    returning s.*
  loop
    return query select * from buyer_sync_private.resolve_notice(a, jsonb_build_object('target', target));
  end loop;
end $$;
comment on function buyer_sync_private.resolve_report_write_failed(text) is
  E'A report write succeeded: resolves the open report_write_failed alerts of its target (with a resolved notice each).';

/* ------------------------------------------------------------ the worker job */
create function buyer_sync_private.enqueue_report_write() returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
begin
  if tg_op = 'UPDATE' and old.status is not distinct from new.status then
    return null;
  end if;
  if to_regnamespace('graphile_worker') is null
     or not exists (select 1 from buyer_sync_private.report_settings s where s.tab is not null) then
    return null;
  end if;
  perform graphile_worker.add_job('report__write', '{}'::json, queue_name := 'buyer_sync_report',
    job_key := 'report__write', max_attempts := 5);
  return null;
end $$;
comment on function buyer_sync_private.enqueue_report_write() is
  E'A full, retry or --only run finished: enqueues the report tab''s write (report__write, coalesced by its job key, in a queue of its own so a slow write never holds a sync), when a report tab is configured (report_settings).';
revoke all on function buyer_sync_private.enqueue_report_write() from public;
create trigger sync_runs_report_write after insert or update of status on public.sync_runs
  for each row when (new.status in ('succeeded', 'failed') and new.mode in ('full', 'retry', 'only'))
  execute function buyer_sync_private.enqueue_report_write();

/*
 * The dashboard's line about the report (buyer_sync_api: no personal data, and
 * never the sheet's address: the tab's name, not the spreadsheet's id, so no
 * link to it either). One row while a report tab is configured.
 */
create view buyer_sync_api.report_status as
  select x.tab, s.written_at, coalesce(s.lines, 0) as lines, st.failing_since_write as failing_since,
         buyer_sync_private.redact_ids(st.last_failure) as last_failure
    from buyer_sync_private.report_settings x
    left join buyer_sync_private.report_state s on split_part(s.target, '!', 2) = x.tab
    left join buyer_sync.report_status st on st.target = s.target
   where x.tab is not null;
comment on view buyer_sync_api.report_status is
  E'@primaryKey tab\n@behavior -connection +list\nThe sync report tab, when one is configured (SHEET_REPORT_TAB): its name, when it was last written and with how many lines, and since when writes fail (with why, redacted). Never the spreadsheet''s address.';
comment on column buyer_sync_api.report_status.tab is E'@notNull\nThe report tab''s name in the buyers spreadsheet.';
comment on column buyer_sync_api.report_status.lines is E'@notNull\nLines of the last write (0 before the first).';
grant select on buyer_sync_api.report_status to buyer_sync_dashboard;

-- migrate:down

drop view buyer_sync_api.report_status;
drop trigger sync_runs_report_write on public.sync_runs;
drop function buyer_sync_private.enqueue_report_write();
drop function buyer_sync_private.resolve_report_write_failed(text);
drop function buyer_sync_private.raise_report_write_failed(text, text, jsonb);
-- The alerts of a type this migration added go with it (their resolved notices cascade).
delete from public.sync_alerts where type = 'report_write_failed';
delete from buyer_sync.alert_types where type = 'report_write_failed';
drop function buyer_sync.is_own_report_version(text, text, text);
drop view buyer_sync.report_status;
drop table buyer_sync_private.report_writes;
drop table buyer_sync_private.report_state;
drop table buyer_sync_private.report_settings;
drop view buyer_sync.report_duplicate_keys;
drop view buyer_sync.report_failing_rows;
