-- migrate:up

/*
 * Three mends to the sync report (068), found in review:
 *
 * - report_failing_rows's "since" (the first full sync of the unbroken run of
 *   full syncs that failed a buyer) probed the error log of every earlier
 *   full run for each failing row: 150 buyers failing over 4,320 runs (a
 *   month of quarter-hour syncs) took 94 s, on every report write. The same
 *   answer now comes from the buyer's own error entries, each placed once in
 *   the order of all full syncs (gaps and islands): 72 s to 0.3 s for 300
 *   failing rows, 150 of them over 2,000 runs. A new partial index finds a
 *   keyless row's entries.
 * - A retryable failing row whose buyer has no retry-queue entry (one pruned,
 *   say) was dropped from the report: `not (… and q.status = …)` is null when
 *   there is no entry. It is a failing row like any other.
 * - report_status.failing_since_write named the latest failed write after
 *   the last good one; the dashboard says "writes failing since" that time,
 *   so it is the first one.
 */
create index sync_error_log_keyless_row_idx on public.sync_error_log (row_number) where buyer_number is null;
comment on index public.sync_error_log_keyless_row_idx is
  E'The error entries of rows without a buyer number, by sheet row: how buyer_sync.report_failing_rows finds since when such a row fails.';

create or replace view buyer_sync.report_failing_rows as
  with full_runs as materialized (
    -- Every succeeded full sync with its place in their order: what "unbroken" counts in.
    select r.id, r.started_at, row_number() over (order by r.started_at, r.id) as place
      from public.sync_runs r
     where r.mode = 'full' and r.status = 'succeeded'
  ), last_full as (
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
      -- Since when: the first full sync of the unbroken run of full syncs that failed this buyer (or this row, without a
      -- buyer number). Its own error entries (by the buyer-number index, or the keyless-row index), each with its full
      -- sync's place in the order of all full syncs; the unbroken run is the island of consecutive places that ends at
      -- the latest (gaps and islands), instead of probing every earlier run's error log.
      with mine as materialized (
        select e2.run_id, e2.created_at from public.sync_error_log e2
         where l.buyer_number is not null and e2.buyer_number = l.buyer_number
        union all
        select e2.run_id, e2.created_at from public.sync_error_log e2
         where l.buyer_number is null and e2.buyer_number is null and e2.row_number = l.row_number
      ), placed as (
        select m.created_at, fr.place, fr.place - dense_rank() over (order by fr.place) as island
          from mine m
          join full_runs fr on fr.id = m.run_id
         where fr.started_at <= l.full_started_at
      )
      select min(p.created_at) as first_seen
        from placed p
       where p.island = (select p2.island from placed p2 order by p2.place desc limit 1)
    ) streak on true
   where not coalesce(l.retryable and q.status = 'succeeded' and q.resolved_at > l.full_started_at
                       and q.resolved_run_id is distinct from l.full_run_id, false);

create or replace view buyer_sync.report_status as
  select s.target, s.written_at, s.lines, s.since_run_id,
         (select min(w.attempted_at) from buyer_sync_private.report_writes w where w.target = s.target and w.outcome = 'failed'
           and w.attempted_at > s.written_at) as failing_since_write,
         (select w.failure from buyer_sync_private.report_writes w where w.target = s.target
           order by w.attempted_at desc limit 1) as last_failure
    from buyer_sync_private.report_state s;

-- migrate:down

create or replace view buyer_sync.report_status as
  select s.target, s.written_at, s.lines, s.since_run_id,
         (select w.attempted_at from buyer_sync_private.report_writes w where w.target = s.target and w.outcome = 'failed'
           and w.attempted_at > s.written_at order by w.attempted_at desc limit 1) as failing_since_write,
         (select w.failure from buyer_sync_private.report_writes w where w.target = s.target
           order by w.attempted_at desc limit 1) as last_failure
    from buyer_sync_private.report_state s;

create or replace view buyer_sync.report_failing_rows as
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

drop index public.sync_error_log_keyless_row_idx;
