-- migrate:up

/*
 * The design's bookkeeping tables, in PostgreSQL DDL. Every text column is
 * text (the design's VARCHAR(50) buyer_number would repeat the very bug these
 * tables exist to catch) and every timestamp is timestamptz.
 */

create table public.sync_error_log (
  id            uuid primary key default gen_random_uuid(),
  buyer_number  text,
  row_number    integer check (row_number >= 2),
  error_message text not null,
  error_type    text not null
    check (error_type in ('field_length', 'data_type', 'constraint_violation', 'transient', 'unknown')),
  stack_trace   text,
  retryable     boolean not null default false,
  created_at    timestamptz not null default now()
);
comment on table public.sync_error_log is
  E'One row per sheet row that failed to sync, per attempt. Never holds a cell value other than the buyer number.';
comment on column public.sync_error_log.buyer_number is
  E'The failing row''s buyer number, or null when the row had none.';
comment on column public.sync_error_log.row_number is
  E'The sheet''s own row number (the header is row 1).';
comment on column public.sync_error_log.error_message is
  E'What failed: the column, the rule and, for lengths, the length. Never a cell value.';
comment on column public.sync_error_log.error_type is
  E'field_length, data_type, constraint_violation, transient or unknown.';
comment on column public.sync_error_log.retryable is
  E'Whether the failure was queued for retry (every type but constraint_violation).';

create index sync_error_log_buyer_number_idx on public.sync_error_log (buyer_number);
create index sync_error_log_error_type_idx on public.sync_error_log (error_type);
create index sync_error_log_created_at_idx on public.sync_error_log (created_at);


create table public.retry_queue (
  id            uuid primary key default gen_random_uuid(),
  buyer_number  text not null,
  row_number    integer,
  error_info    jsonb not null,
  attempt_count integer not null default 0 check (attempt_count >= 0),
  next_retry_at timestamptz not null,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  status        text not null default 'pending'
    check (status in ('pending', 'processing', 'succeeded', 'failed'))
);
comment on table public.retry_queue is
  E'Buyers whose sync failed with a retryable error, with their retry schedule (1, 5, 15 minutes).';
comment on column public.retry_queue.status is
  E'pending, processing, succeeded or failed (failed = permanently, after the last attempt).';

-- The due-entries scan only ever looks at pending rows.
create index retry_queue_next_retry_at_idx on public.retry_queue (next_retry_at) where status = 'pending';
create index retry_queue_status_idx on public.retry_queue (status);
create index retry_queue_buyer_number_idx on public.retry_queue (buyer_number);
-- At most one open entry per buyer: a second failure updates the open entry.
create unique index retry_queue_open_buyer_key on public.retry_queue (buyer_number)
  where status in ('pending', 'processing');


create table public.sync_health_metrics (
  id                    uuid primary key default gen_random_uuid(),
  check_time            timestamptz not null default now(),
  spreadsheet_count     integer not null,
  database_count        integer not null,
  missing_count         integer not null,
  error_rate            numeric(5, 2) check (error_rate between 0 and 100),
  sync_duration_ms      integer,
  throughput_per_second numeric(10, 2)
);
comment on table public.sync_health_metrics is
  E'One row per health check. error_rate is the percent of the last run''s non-blank rows that failed.';

create index sync_health_metrics_check_time_idx on public.sync_health_metrics (check_time);


create table public.sync_alerts (
  id           uuid primary key default gen_random_uuid(),
  type         text not null
    check (type in ('missing_buyers', 'high_error_rate', 'permanent_failure', 'slow_sync')),
  severity     text not null check (severity in ('info', 'warning', 'error', 'critical')),
  message      text not null,
  details      jsonb not null default '{}'::jsonb,
  created_at   timestamptz not null default now(),
  delivered_at timestamptz
);
comment on table public.sync_alerts is
  E'Every alert raised. delivered_at is set once the alert webhook accepted it.';

create index sync_alerts_created_at_idx on public.sync_alerts (created_at);
create index sync_alerts_undelivered_idx on public.sync_alerts (created_at) where delivered_at is null;

-- migrate:down

drop table public.sync_alerts;
drop table public.sync_health_metrics;
drop table public.retry_queue;
drop table public.sync_error_log;
