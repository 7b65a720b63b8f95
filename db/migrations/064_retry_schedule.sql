-- migrate:up

/*
 * The retry schedule is a schedule (issue 16, item 3). On 0.9.1 every run
 * that read a failing row counted one more attempt, whatever its
 * next_retry_at: a buyer failed for good 6 minutes after its first failure
 * instead of 21, three "Sync now" within three minutes failed 1,449 buyers
 * for good at once, and an exhausted buyer opened a new entry at the next
 * sync and went round again (retry_queue grew by one failed entry per such
 * buyer and cycle). Now:
 *
 * - a failure counts as an attempt only when it is the buyer's first (a new
 *   entry) or its retry was due (next_retry_at <= buyer_sync_private.now()),
 *   whichever path made it (a retry round, a full sync, --only). A failure in
 *   between is logged (sync_error_log) and updates the entry's error_info,
 *   row_number and source, never attempt_count, last_attempt_at or
 *   next_retry_at;
 * - an entry remembers the hash of the failing row as the sheet showed it
 *   (row_hash); a different row failing starts a fresh schedule (attempt 1);
 * - an exhausted entry holds its buyer: while the same row fails, no new
 *   entry opens (no new cycle, no new alert), until the row changes, the
 *   buyer syncs, or an operator retries it (buyer_sync.retry_buyer_now),
 *   which release it (released_at);
 * - one clock for all of it, buyer_sync_private.now().
 */

/* ------------------------------------------------------------------ the clock
 * The statement's time. A test session may simulate time with the setting
 * buyer_sync.fake_now (set_config('buyer_sync.fake_now', '2026-01-01
 * 12:00Z', false)): a custom setting is per session, so it moves only the
 * clock of the session that set it (and of sessions started under an ALTER
 * ROLE/DATABASE ... SET, which takes the owner's or a superuser's rights).
 * Empty or absent: statement_timestamp().
 */
create function buyer_sync_private.now() returns timestamptz
language sql stable parallel safe
set search_path = pg_catalog, pg_temp
as $$ select coalesce(nullif(current_setting('buyer_sync.fake_now', true), '')::timestamptz, statement_timestamp()) $$;
comment on function buyer_sync_private.now() is
  E'The retry schedule''s clock: statement_timestamp(), or the session''s buyer_sync.fake_now when set (tests simulate time with it). Due entries, attempts and their next_retry_at all read it.';

/* ------------------------------------------------------------ the entries */
alter table public.retry_queue
  add column row_hash        text,
  add column last_attempt_at timestamptz,
  add column released_at     timestamptz,
  add constraint retry_queue_released_is_exhausted check (released_at is null or resolution = 'exhausted');

comment on column public.retry_queue.row_hash is
  E'md5 of the failing row''s cells as the sheet showed them (the latest failure). A different row failing starts a fresh schedule; while an exhausted entry''s row fails unchanged, the buyer gets no new entry.';
comment on column public.retry_queue.last_attempt_at is
  E'When the latest counted attempt failed (buyer_sync_private.now()); next_retry_at is this plus the schedule''s delay for attempt_count.';
comment on column public.retry_queue.released_at is
  E'Exhausted entries only: when the entry stopped holding its buyer (its row changed, it synced, or an operator retried it with buyer_sync.retry_buyer_now). Null on an exhausted entry: a sync that fails the same row again logs the error and opens no new entry.';
comment on column public.retry_queue.attempt_count is
  E'Counted attempts so far: the first failure (the run, with its one immediate retry) and each failure when a retry was due (next_retry_at reached), whichever path made it. A failure before the retry is due is logged and updates error_info, not this.';
comment on column public.retry_queue.next_retry_at is
  E'When the next attempt is due (buyer_sync.next_retry_at after last_attempt_at, on the clock buyer_sync_private.now()).';

-- Entries from before: their latest attempt is their due time less its delay; closed ones, their last change.
update public.retry_queue q
   set last_attempt_at = coalesce(
         case when q.status in ('pending', 'processing')
              then q.next_retry_at - (select s.delay from buyer_sync.retry_schedule s where s.attempt = q.attempt_count) end,
         q.updated_at);
/*
 * 0.9.1's cycles left several exhausted entries per buyer. The newest of a
 * buyer with no newer entry holds it (its row unknown: the next failure
 * records its hash); the others are released.
 */
update public.retry_queue q
   set released_at = coalesce(q.resolved_at, q.updated_at)
 where q.resolution = 'exhausted'
   and exists (select 1 from public.retry_queue n
                where n.buyer_number = q.buyer_number and (n.created_at, n.id) > (q.created_at, q.id));

create index retry_queue_held_idx on public.retry_queue using hash (buyer_number)
  where resolution = 'exhausted' and released_at is null;
comment on index public.retry_queue_held_idx is
  E'Exhausted entries that hold their buyer (released_at null): looked up for each retryable failure.';

/* ------------------------------------------------------------ one failure
 * What a failure of a buyer with an open entry does to its schedule: counted
 * when its row is not the one that failed before (a fresh schedule: attempt
 * 1) or its retry was due (the next attempt); otherwise not counted, and the
 * schedule stays as it is. next_at null: that was the last attempt.
 */
create function buyer_sync_private.failed_again(
  attempts integer, due_at timestamptz, failed_hash text, new_hash text, clock timestamptz)
returns table (counted boolean, attempt integer, next_at timestamptz)
language sql stable parallel safe
set search_path = pg_catalog, pg_temp
as $$
  select s.counted, s.attempt, case when s.counted then buyer_sync.next_retry_at(s.attempt, clock) else due_at end
    from (select f.fresh or due_at <= clock as counted,
                 case when f.fresh then 1 when due_at <= clock then attempts + 1 else attempts end as attempt
            from (select coalesce(failed_hash <> new_hash, false) as fresh) f) s
$$;
comment on function buyer_sync_private.failed_again(integer, timestamptz, text, text, timestamptz) is
  E'A buyer with an open entry (attempts so far, due at due_at, failed_hash the row that failed) failed again at clock with the row new_hash: whether it counts as an attempt, the attempt number and the next due time (null: that was the last; the entry fails for good).';

/* --------------------------------------------------- the operator's retry
 * As in 058, on the schedule's clock; and a buyer that failed for good is
 * released, so that the sync of its number starts a fresh schedule even
 * when its row did not change.
 */
create or replace function buyer_sync.retry_buyer_now(buyer_number text) returns bigint
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
  update public.retry_queue q set next_retry_at = least(q.next_retry_at, buyer_sync_private.now()), updated_at = statement_timestamp()
   where q.buyer_number = retry_buyer_now.buyer_number and q.status = 'pending';
  if found then
    return buyer_sync.request_retry_round();
  end if;
  -- A buyer that failed for good no longer waits for its row to change: its next failure is attempt 1 of a fresh schedule.
  update public.retry_queue q set released_at = buyer_sync_private.now(), updated_at = statement_timestamp()
   where q.buyer_number = retry_buyer_now.buyer_number and q.resolution = 'exhausted' and q.released_at is null;
  -- Any other buyer (one that failed for good, or is missing): a sync of just its number from the sheet.
  return buyer_sync.request_buyer_sync(array[buyer_number]);
end $$;
comment on function buyer_sync.retry_buyer_now(text) is
  E'Retries one buyer now and returns the job id: a buyer in the retry queue is made due and a retry round requested; any other (failed for good, missing) is synced by its number from the configured sheet, a buyer that failed for good with a fresh schedule.';

-- migrate:down

create or replace function buyer_sync.retry_buyer_now(buyer_number text) returns bigint
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
drop function buyer_sync_private.failed_again(integer, timestamptz, text, text, timestamptz);
drop index public.retry_queue_held_idx;
alter table public.retry_queue
  drop constraint retry_queue_released_is_exhausted,
  drop column released_at, drop column last_attempt_at, drop column row_hash;
comment on column public.retry_queue.attempt_count is
  E'Failed attempts so far: the first (the run that failed, with its one immediate retry) and each retry that failed.';
comment on column public.retry_queue.next_retry_at is
  E'When the next attempt is due (buyer_sync.next_retry_at).';
drop function buyer_sync_private.now();
