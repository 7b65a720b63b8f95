-- migrate:up

/*
 * The worker: policy an analyst can read (error types, the content hash, the
 * retry schedule), the retry queue's bookkeeping, the permanent-failure alert,
 * and the functions that enqueue syncs from SQL.
 */

/* ---------------------------------------------------------------- error types
 * One definition of the error categories and of which are retried, used by
 * the error log and the run records (foreign keys instead of two copies of
 * the list in check constraints). src/sync/error-types.ts mirrors it; a test
 * holds the two together.
 */
create table buyer_sync.error_types (
  error_type  text primary key,
  retryable   boolean not null,
  description text not null
);
comment on table buyer_sync.error_types is
  E'The categories of a failed sheet row, and whether a failure of that kind is queued for retry.';
insert into buyer_sync.error_types (error_type, retryable, description) values
  ('field_length', true, 'A value longer than a rule or the database allows (22001, an index entry too large: 54000, a buyer number over its maximum length, a cell too long to keep).'),
  ('data_type', true, 'A value that is not what its column holds: a date or amount that does not parse, a formula error, a NUL, bytes the export''s encoding cannot decode.'),
  ('constraint_violation', false, 'A row that cannot be written as it is: no buyer number, a buyer number already synced from another row, a constraint the database enforces. Never retried: the sheet must change.'),
  ('transient', true, 'The database or the network failed for a passing reason (a lost connection, a serialization failure, a cancelled statement).'),
  ('unknown', true, 'Anything else; logged with a stack trace (without values).');

alter table public.sync_error_log
  drop constraint sync_error_log_error_type_check,
  add constraint sync_error_log_error_type_fkey foreign key (error_type)
    references buyer_sync.error_types (error_type) on update cascade on delete restrict;
alter table public.sync_runs
  drop constraint sync_runs_error_type_check,
  add constraint sync_runs_error_type_fkey foreign key (error_type)
    references buyer_sync.error_types (error_type) on update cascade on delete restrict;

comment on column public.sync_error_log.retryable is
  E'Whether the buyer was queued for retry because of this failure: a retryable type (buyer_sync.error_types) and a usable buyer number. Run-level entries (a run that stopped) are never queued.';

/* ------------------------------------------------------------- content hash
 * One definition of how a value enters buyers.content_hash: 'n' for null,
 * 'v<bytes>:<text>' otherwise, dates as days since 2000-01-01. The generated
 * column, and the hash a sync computes in SQL for other column mappings, call
 * these; src/sync/content-hash.ts computes the same in TypeScript for sheet
 * rows (a property test holds them together). Replacing the column rewrites
 * buyers once; the values do not change.
 */
create function buyer_sync.hash_part(value text) returns text
language sql immutable parallel safe
as $$ select coalesce('v' || octet_length(value)::text || ':' || value, 'n') $$;
create function buyer_sync.hash_part(value date) returns text
language sql immutable parallel safe
as $$ select buyer_sync.hash_part((value - date '2000-01-01')::text) $$;
create function buyer_sync.hash_part(value bigint) returns text
language sql immutable parallel safe
as $$ select buyer_sync.hash_part(value::text) $$;
comment on function buyer_sync.hash_part(text) is
  E'How a text value enters a content hash: n for null, v<bytes>:<text> otherwise, so no two different rows encode alike.';
comment on function buyer_sync.hash_part(date) is
  E'How a date enters a content hash: its days since 2000-01-01, as text.';
comment on function buyer_sync.hash_part(bigint) is
  E'How a bigint enters a content hash: its decimal text.';

alter table public.buyers drop column content_hash;
alter table public.buyers
  add column content_hash text generated always as (
    md5(buyer_sync.hash_part(buyer_number) || buyer_sync.hash_part(name) || buyer_sync.hash_part(phone)
      || buyer_sync.hash_part(email) || buyer_sync.hash_part(address) || buyer_sync.hash_part(inquiry_date)
      || buyer_sync.hash_part(inquiry_source) || buyer_sync.hash_part(desired_area)
      || buyer_sync.hash_part(property_type) || buyer_sync.hash_part(budget) || buyer_sync.hash_part(status)
      || buyer_sync.hash_part(assignee) || buyer_sync.hash_part(next_follow_up) || buyer_sync.hash_part(notes))
  ) stored;
comment on column public.buyers.content_hash is
  E'md5 over the mapped columns, each as buyer_sync.hash_part encodes it (see buyer_sync_private.content_hash_columns); how a sync tells changed rows from unchanged ones.';

/* ----------------------------------------------------------- retry schedule
 * One immediate retry inside the run, then these delays: after the n-th
 * failed attempt the next comes `delay` later; after the last attempt listed
 * the entry fails for good and a critical permanent_failure alert is raised.
 * An operator may change the delays (update the table); the sync and the
 * retry rounds read them at every failure.
 */
create table buyer_sync.retry_schedule (
  attempt integer primary key check (attempt >= 1),
  delay   interval not null check (delay > interval '0')
);
comment on table buyer_sync.retry_schedule is
  E'After the attempt-th failed attempt at a buyer, the next one comes delay later; after the last attempt listed, the retry-queue entry fails for good (permanent_failure alert).';
insert into buyer_sync.retry_schedule (attempt, delay) values
  (1, interval '1 minute'), (2, interval '5 minutes'), (3, interval '15 minutes');

create function buyer_sync.next_retry_at(attempt integer, after timestamptz default now())
returns timestamptz
language sql stable parallel safe
as $$ select after + s.delay from buyer_sync.retry_schedule s where s.attempt = next_retry_at.attempt $$;
comment on function buyer_sync.next_retry_at(integer, timestamptz) is
  E'When the next attempt at a buyer is due after its attempt-th failure; null when that was the last (the entry fails for good).';

/* -------------------------------------------------------------- retry queue */
alter table public.retry_queue
  add column source          text,
  add column resolution      text check (resolution in ('synced', 'left_sheet', 'exhausted', 'not_retryable')),
  add column resolved_at     timestamptz,
  add column last_run_id     uuid references public.sync_runs (id) on delete set null,
  add column resolved_run_id uuid references public.sync_runs (id) on delete set null,
  add constraint retry_queue_resolution_fits_status check (
    case status
      when 'succeeded' then resolution in ('synced', 'left_sheet')
      when 'failed' then resolution in ('exhausted', 'not_retryable')
      else resolution is null
    end
  );
update public.retry_queue set source = error_info->>'source', last_run_id = (error_info->>'run_id')::uuid;
update public.retry_queue set resolution = 'synced', resolved_at = updated_at where status = 'succeeded';
update public.retry_queue set resolution = 'exhausted', resolved_at = updated_at where status = 'failed';

comment on column public.retry_queue.source is
  E'The sheet the failing run read (a CSV path or gsheets:<id>#gid=<tab>): a retry re-reads the buyer''s row from it.';
comment on column public.retry_queue.attempt_count is
  E'Failed attempts so far: the first (the run that failed, with its one immediate retry) and each retry that failed.';
comment on column public.retry_queue.next_retry_at is
  E'When the next attempt is due (buyer_sync.next_retry_at).';
comment on column public.retry_queue.resolution is
  E'How a closed entry ended: synced (a retry or a later sync wrote the buyer), left_sheet (the buyer''s row is no longer on the sheet), exhausted (every scheduled attempt failed), not_retryable (a later attempt failed in a way retrying cannot fix).';
comment on column public.retry_queue.resolved_run_id is
  E'The run that closed the entry; with resolved_at, the log of a retry''s success.';
comment on column public.retry_queue.last_run_id is
  E'The run that made the latest attempt.';

create index retry_queue_due_idx on public.retry_queue (next_retry_at) where status = 'pending';
drop index public.retry_queue_next_retry_at_idx;

/*
 * Every path that fails a buyer for good (the last scheduled retry, a
 * failure retrying cannot fix) raises one critical alert naming the buyer
 * number. Never a cell value: the buyer number, counts and the rule.
 */
create function buyer_sync_private.alert_permanent_failure() returns trigger
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
comment on function buyer_sync_private.alert_permanent_failure() is
  E'Raises the permanent_failure alert when a retry-queue entry fails for good.';
create trigger retry_queue_failed_on_insert after insert on public.retry_queue
  for each row when (new.status = 'failed') execute function buyer_sync_private.alert_permanent_failure();
create trigger retry_queue_failed_on_update after update of status on public.retry_queue
  for each row when (new.status = 'failed' and old.status is distinct from 'failed')
  execute function buyer_sync_private.alert_permanent_failure();

/* ------------------------------------------------------------- the workers
 * `buyer-sync serve` processes register their graphile-worker workers here
 * and hold a session advisory lock (class 7340002, hashtext(worker_id)) for
 * as long as they live. A registered worker without its lock is dead (killed,
 * machine lost): its jobs are unlocked at once instead of after the 4 hours
 * graphile-worker waits by default.
 */
create table buyer_sync_private.workers (
  worker_id  text primary key,
  host       text not null,
  pid        integer not null,
  started_at timestamptz not null default now()
);
comment on table buyer_sync_private.workers is
  E'graphile-worker workers started by buyer-sync serve; alive while their advisory lock (7340002, hashtext(worker_id)) is held.';

create view buyer_sync.dead_workers as
  select w.worker_id, w.host, w.pid, w.started_at
    from buyer_sync_private.workers w
   where not exists (
           select 1 from pg_catalog.pg_locks l
            where l.locktype = 'advisory' and l.database = (select oid from pg_catalog.pg_database where datname = current_database())
              and l.classid = 7340002 and l.objid = hashtext(w.worker_id)::oid and l.objsubid = 2 and l.granted);
comment on view buyer_sync.dead_workers is
  E'Registered workers whose process is gone (their advisory lock is not held): their jobs can be unlocked at once.';

/* --------------------------------------------------------- enqueue from SQL
 * Requests for the worker, for operators and the dashboard. Every sync job
 * goes to the one queue buyer_sync, so jobs run one at a time across all
 * workers; job keys collapse a burst of requests into one job (while it has
 * not started; a request during a running sync queues one more, since the
 * sheet may have changed). The worker reads the sheet it is configured with:
 * no caller chooses a file on the server.
 */
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'buyer_sync_operator') then
    create role buyer_sync_operator nologin;
  end if;
end $$;
comment on role buyer_sync_operator is
  E'Operators and the dashboard: may request syncs and retry rounds (buyer_sync.request_*), nothing else.';

create function buyer_sync.request_sync() returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
declare
  job record;
begin
  select * into job from graphile_worker.add_job('buyers__sync', '{}'::json,
    queue_name := 'buyer_sync', job_key := 'buyers__sync', max_attempts := 3);
  return job.id;
end $$;
comment on function buyer_sync.request_sync() is
  E'Asks the worker for a full sync of the configured sheet, as soon as the queue allows; returns the job id. Requests made before it starts collapse into one.';

create function buyer_sync.request_buyer_sync(buyer_numbers text[]) returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
declare
  job record;
begin
  if buyer_numbers is null or cardinality(buyer_numbers) = 0 or array_position(buyer_numbers, null) is not null then
    raise exception 'request_buyer_sync needs a non-empty array of buyer numbers without nulls' using errcode = '22023';
  end if;
  if cardinality(buyer_numbers) > 10000 then
    raise exception 'request_buyer_sync takes at most 10,000 buyer numbers at a time, got %', cardinality(buyer_numbers) using errcode = '22023';
  end if;
  -- Payloads that are arrays are concatenated while the job waits: a burst of requests is one job.
  select * into job from graphile_worker.add_job('buyers__sync_numbers',
    json_build_array(json_build_object('buyer_numbers', buyer_numbers)),
    queue_name := 'buyer_sync', job_key := 'buyers__sync_numbers', max_attempts := 3);
  return job.id;
end $$;
comment on function buyer_sync.request_buyer_sync(text[]) is
  E'Asks the worker to sync just these buyer numbers from the configured sheet (the recovery for missing buyers); returns the job id. Requests made before it starts are merged.';

create function buyer_sync.request_retry_round() returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
declare
  job record;
begin
  select * into job from graphile_worker.add_job('retry_queue__process', '{}'::json,
    queue_name := 'buyer_sync', job_key := 'retry_queue__process', max_attempts := 3);
  return job.id;
end $$;
comment on function buyer_sync.request_retry_round() is
  E'Asks the worker for a retry round now (retries that are due); returns the job id.';

revoke execute on function buyer_sync.request_sync(), buyer_sync.request_buyer_sync(text[]), buyer_sync.request_retry_round() from public;
grant usage on schema buyer_sync to buyer_sync_operator;
grant execute on function buyer_sync.request_sync(), buyer_sync.request_buyer_sync(text[]), buyer_sync.request_retry_round() to buyer_sync_operator;

-- migrate:down

revoke usage on schema buyer_sync from buyer_sync_operator;
drop function buyer_sync.request_retry_round();
drop function buyer_sync.request_buyer_sync(text[]);
drop function buyer_sync.request_sync();
-- The role is the cluster's, shared by every database a test or deployment made: left in place.
drop view buyer_sync.dead_workers;
drop table buyer_sync_private.workers;
drop trigger retry_queue_failed_on_update on public.retry_queue;
drop trigger retry_queue_failed_on_insert on public.retry_queue;
drop function buyer_sync_private.alert_permanent_failure();
create index retry_queue_next_retry_at_idx on public.retry_queue (next_retry_at) where status = 'pending';
drop index public.retry_queue_due_idx;
alter table public.retry_queue
  drop constraint retry_queue_resolution_fits_status,
  drop column resolved_run_id, drop column last_run_id, drop column resolved_at,
  drop column resolution, drop column source;
drop function buyer_sync.next_retry_at(integer, timestamptz);
drop table buyer_sync.retry_schedule;
alter table public.buyers drop column content_hash;
alter table public.buyers
  add column content_hash text generated always as (
    md5(coalesce('v' || octet_length("buyer_number")::text || ':' || "buyer_number", 'n')
      || coalesce('v' || octet_length("name")::text || ':' || "name", 'n')
      || coalesce('v' || octet_length("phone")::text || ':' || "phone", 'n')
      || coalesce('v' || octet_length("email")::text || ':' || "email", 'n')
      || coalesce('v' || octet_length("address")::text || ':' || "address", 'n')
      || coalesce('v' || octet_length(("inquiry_date" - date '2000-01-01')::text)::text || ':' || ("inquiry_date" - date '2000-01-01')::text, 'n')
      || coalesce('v' || octet_length("inquiry_source")::text || ':' || "inquiry_source", 'n')
      || coalesce('v' || octet_length("desired_area")::text || ':' || "desired_area", 'n')
      || coalesce('v' || octet_length("property_type")::text || ':' || "property_type", 'n')
      || coalesce('v' || octet_length("budget"::text)::text || ':' || "budget"::text, 'n')
      || coalesce('v' || octet_length("status")::text || ':' || "status", 'n')
      || coalesce('v' || octet_length("assignee")::text || ':' || "assignee", 'n')
      || coalesce('v' || octet_length(("next_follow_up" - date '2000-01-01')::text)::text || ':' || ("next_follow_up" - date '2000-01-01')::text, 'n')
      || coalesce('v' || octet_length("notes")::text || ':' || "notes", 'n'))
  ) stored;
drop function buyer_sync.hash_part(bigint);
drop function buyer_sync.hash_part(date);
drop function buyer_sync.hash_part(text);
alter table public.sync_runs
  drop constraint sync_runs_error_type_fkey,
  add constraint sync_runs_error_type_check
    check (error_type in ('field_length', 'data_type', 'constraint_violation', 'transient', 'unknown'));
alter table public.sync_error_log
  drop constraint sync_error_log_error_type_fkey,
  add constraint sync_error_log_error_type_check
    check (error_type in ('field_length', 'data_type', 'constraint_violation', 'transient', 'unknown'));
drop table buyer_sync.error_types;
