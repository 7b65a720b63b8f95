-- migrate:up

/*
 * Run records, per-buyer change history, and the sheet snapshot the
 * missing-buyer diff works from.
 */

create table public.sync_runs (
  id               uuid primary key default gen_random_uuid(),
  started_at       timestamptz not null default now(),
  finished_at      timestamptz,
  status           text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  mode             text not null check (mode in ('full', 'only', 'retry')),
  source           text not null,
  batch_size       integer not null check (batch_size > 0),
  total_rows       integer not null default 0,
  blank_rows       integer not null default 0,
  inserted         integer not null default 0,
  updated          integer not null default 0,
  unchanged        integer not null default 0,
  failed           integer not null default 0,
  batches          integer not null default 0,
  errors_by_type   jsonb not null default '{}'::jsonb,
  retry_queue_size integer,
  duration_ms      integer,
  rows_per_second  numeric(12, 2),
  error_type       text check (error_type in ('field_length', 'data_type', 'constraint_violation', 'transient', 'unknown')),
  error_message    text,
  -- A run that finished has every row accounted for.
  constraint sync_runs_rows_accounted check (
    status <> 'succeeded' or inserted + updated + unchanged + failed + blank_rows = total_rows
  )
);
comment on table public.sync_runs is
  E'One row per sync run: where it read from, what it did with every row, how long it took.';
comment on column public.sync_runs.mode is
  E'full: the whole sheet; only: the buyer numbers given with --only; retry: due retry-queue entries.';
comment on column public.sync_runs.total_rows is
  E'Data rows read (header excluded, blank rows included) = inserted + updated + unchanged + failed + blank_rows.';
comment on column public.sync_runs.failed is
  E'Rows that failed (not error entries).';
comment on column public.sync_runs.error_message is
  E'Why a failed run stopped (the run wrote nothing). Never a cell value.';

create index sync_runs_started_at_idx on public.sync_runs (started_at);

alter table public.sync_error_log
  add column run_id uuid references public.sync_runs (id) on delete set null,
  add column column_name text;
comment on column public.sync_error_log.run_id is E'The sync run the failure happened in.';
comment on column public.sync_error_log.column_name is E'The column whose value broke a rule, when one did.';
create index sync_error_log_run_id_idx on public.sync_error_log (run_id);

/*
 * Which run updated which buyer, and which columns changed. Only changed
 * buyers get a row (never one per unchanged buyer per run), and only column
 * names: the values stay in buyers. Inserts need no row: runs never overlap,
 * so the run whose time range holds a buyer's created_at inserted it
 * (buyer_sync.buyer_provenance).
 */
create table public.sync_buyer_changes (
  run_id          uuid not null references public.sync_runs (id) on delete cascade,
  buyer_number    text not null,
  action          text not null check (action in ('insert', 'update')),
  changed_columns text[] not null,
  changed_at      timestamptz not null default now(),
  primary key (run_id, buyer_number)
);
comment on table public.sync_buyer_changes is
  E'One row per buyer a sync run updated, naming the changed columns (never their values).';
create index sync_buyer_changes_buyer_number_idx on public.sync_buyer_changes (buyer_number, changed_at);

/*
 * The buyer numbers on the sheet as last read in full (by a full sync or by
 * `missing`). One row per distinct buyer number, at its first row.
 */
create table buyer_sync_private.sheet_buyers (
  buyer_number text primary key,
  row_number   integer not null
);
comment on table buyer_sync_private.sheet_buyers is
  E'Buyer numbers of the latest full read of the sheet (first row of each).';

create table buyer_sync_private.sheet_snapshot (
  singleton  boolean primary key default true check (singleton),
  source     text not null,
  read_at    timestamptz not null,
  row_count  integer not null,
  keys_hash  text not null,
  run_id     uuid references public.sync_runs (id) on delete set null
);
comment on table buyer_sync_private.sheet_snapshot is
  E'When and from where buyer_sync_private.sheet_buyers was read.';
comment on column buyer_sync_private.sheet_snapshot.keys_hash is
  E'Hash of the (buyer number, row) list: an unchanged sheet does not rewrite sheet_buyers.';

insert into buyer_sync_private.synced_tables (table_schema, table_name) values
  ('public', 'sync_runs'),
  ('public', 'sync_buyer_changes'),
  ('buyer_sync_private', 'sheet_buyers'),
  ('buyer_sync_private', 'sheet_snapshot');

/* Missing and extra buyers: set differences, never count comparisons. */
create view buyer_sync.missing_buyers as
  select s.buyer_number, s.row_number
    from buyer_sync_private.sheet_buyers s
   where not exists (select 1 from public.buyers b where b.buyer_number = s.buyer_number);
comment on view buyer_sync.missing_buyers is
  E'Buyer numbers on the sheet (latest full read) that are not in buyers, with their sheet row.';

create view buyer_sync.extra_buyers as
  select b.buyer_number
    from public.buyers b
   where not exists (select 1 from buyer_sync_private.sheet_buyers s where s.buyer_number = b.buyer_number);
comment on view buyer_sync.extra_buyers is
  E'Buyer numbers in buyers that are not on the sheet (latest full read). Never deleted by a sync.';

create view buyer_sync.sheet_snapshot as
  select source, read_at, row_count, run_id,
         (select count(*) from buyer_sync_private.sheet_buyers)::integer as spreadsheet_count
    from buyer_sync_private.sheet_snapshot;
comment on view buyer_sync.sheet_snapshot is
  E'The latest full read of the sheet that missing_buyers and extra_buyers compare against.';

/*
 * Which run inserted each buyer and which run last wrote it. Sync runs hold an
 * advisory lock and never overlap, so the run is the one that started last
 * before the timestamp.
 */
create view buyer_sync.buyer_provenance as
  select b.buyer_number,
         (select r.id from public.sync_runs r where r.started_at <= b.created_at
           order by r.started_at desc limit 1) as inserted_by_run,
         (select r.id from public.sync_runs r where r.started_at <= b.synced_at
           order by r.started_at desc limit 1) as last_written_by_run,
         b.created_at,
         b.synced_at
    from public.buyers b;
comment on view buyer_sync.buyer_provenance is
  E'For each buyer, the sync run that inserted it and the one that last wrote it.';

/* Error counts by type over a time range (design: SyncErrorLogger.getErrorStats). */
create function buyer_sync.error_stats(since timestamptz default '-infinity', until timestamptz default 'infinity')
returns table (error_type text, error_count bigint, retryable_count bigint, buyer_count bigint)
language sql stable
as $$
  select e.error_type, count(*), count(*) filter (where e.retryable), count(distinct e.buyer_number)
    from public.sync_error_log e
   where e.created_at >= since and e.created_at < until
   group by e.error_type
   order by e.error_type
$$;
comment on function buyer_sync.error_stats(timestamptz, timestamptz) is
  E'Error counts by type between since (inclusive) and until (exclusive).';

-- migrate:down

drop function buyer_sync.error_stats(timestamptz, timestamptz);
drop view buyer_sync.buyer_provenance;
drop view buyer_sync.sheet_snapshot;
drop view buyer_sync.extra_buyers;
drop view buyer_sync.missing_buyers;
delete from buyer_sync_private.synced_tables
 where (table_schema, table_name) in (('public', 'sync_runs'), ('public', 'sync_buyer_changes'),
        ('buyer_sync_private', 'sheet_buyers'), ('buyer_sync_private', 'sheet_snapshot'));
drop table buyer_sync_private.sheet_snapshot;
drop table buyer_sync_private.sheet_buyers;
drop table public.sync_buyer_changes;
drop index public.sync_error_log_run_id_idx;
alter table public.sync_error_log drop column column_name, drop column run_id;
drop table public.sync_runs;
