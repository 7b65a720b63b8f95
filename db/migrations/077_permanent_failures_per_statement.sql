-- migrate:up

/*
 * A permanent-failure alert names every buyer of a run that failed for good
 * (067). It was kept by a row-level trigger on retry_queue: for each buyer,
 * a search of the open alerts' buyer lists and a rewrite of the growing
 * details, so a statement that fails many buyers at once (a round or a sync
 * on the day a sheet-wide mistake runs out of retries) cost time quadratic in
 * their number, inside the sync's transaction: 8,000 buyers took 29 s. Now a
 * statement-level trigger hands the statement's newly failed entries to
 * raise_permanent_failures, which finds the buyers other open alerts already
 * name with one hash anti-join and merges each run's buyers into its alert in
 * one upsert (permanent_failure_details_many: the same details, built once).
 * The alerts are the same: one per run, its first buyer's figures, every
 * buyer in buyer_numbers, the first 50 in buyers.
 */

/* A permanent-failure alert's details with more buyers (entries, in order): permanent_failure_details applied to each, at once. */
create function buyer_sync_private.permanent_failure_details_many(details jsonb, entries jsonb) returns jsonb
language sql immutable
as $$
  with d as (select coalesce(details, '{}'::jsonb) as d),
       known as (select b.n from d, jsonb_array_elements_text(coalesce(d.d->'buyer_numbers', '[]'::jsonb)) b(n)),
       given as (select e.v, e.k from jsonb_array_elements(entries) with ordinality e(v, k)),
       fresh as (select distinct on (g.v->>'buyer_number') g.v, g.k
                   from given g
                  where not exists (select 1 from known where known.n = g.v->>'buyer_number')
                  order by g.v->>'buyer_number', g.k),
       numbers as (select coalesce(d.d->'buyer_numbers', '[]'::jsonb)
                          || coalesce((select jsonb_agg(f.v->'buyer_number' order by f.k) from fresh f), '[]'::jsonb) as n
                     from d),
       shown as (select coalesce(d.d->'buyers', '[]'::jsonb)
                        || coalesce((select jsonb_agg(f.v order by f.k)
                                       from (select f.v, f.k from fresh f order by f.k
                                              limit greatest(0, 50 - jsonb_array_length(coalesce(d.d->'buyers', '[]'::jsonb)))) f),
                                    '[]'::jsonb) as b
                   from d),
       first as (select coalesce((select g.v from given g order by g.k limit 1), '{}'::jsonb) as v)
  select (first.v - 'buyer_number') || (d.d - 'buyer_numbers' - 'buyers' - 'count' - 'capped')
         || jsonb_build_object(
              'buyer_number', coalesce(d.d->>'buyer_number', first.v->>'buyer_number'),
              'buyer_numbers', n.n,
              'count', jsonb_array_length(n.n),
              'capped', jsonb_array_length(n.n) > 50,
              'buyers', s.b)
    from d, numbers n, shown s, first
$$;
comment on function buyer_sync_private.permanent_failure_details_many(jsonb, jsonb) is
  E'permanent_failure_details for many entries at once (a jsonb array, in order): buyer_numbers gains every buyer not in it yet, buyers the first of them up to 50, the top-level figures stay those of the alert''s first buyer.';

/* Raises or extends the permanent-failure alert of each run for the entries that failed for good in one statement. */
create function buyer_sync_private.raise_permanent_failures(failed public.retry_queue[]) returns void
language plpgsql
as $$
declare
  g record;
  first jsonb;
begin
  for g in
    with f as (
      select u.*, 'permanent_failure:run:' || coalesce(u.last_run_id::text, 'tx:' || txid_current()::text) as cond
        from unnest(failed) with ordinality as u
    ), named as (
      -- The buyers each open permanent-failure alert already names.
      select s.condition, b.n
        from public.sync_alerts s
        cross join lateral jsonb_array_elements_text(
                     coalesce(s.details->'buyer_numbers', '[]'::jsonb)
                     || coalesce(jsonb_build_array(s.details->'buyer_number'), '[]'::jsonb)) b(n)
       where s.type = 'permanent_failure' and s.resolved_at is null and s.resolves is null
    )
    select f.cond,
           (array_agg(f.last_run_id order by f.ordinality))[1] as run_id,
           (array_agg(f.source order by f.ordinality))[1] as source,
           (array_agg(f.error_info->>'error_message' order by f.ordinality))[1] as first_error_message,
           jsonb_agg(jsonb_build_object(
             'buyer_number', f.buyer_number,
             'attempts', f.attempt_count,
             'error_type', f.error_info->>'error_type',
             'column_name', f.error_info->>'column_name',
             'row_number', f.row_number,
             'resolution', f.resolution) order by f.ordinality) as entries
      from f
     -- A buyer another open permanent-failure alert names stays there.
     where not exists (select 1 from named where named.n = f.buyer_number and named.condition <> f.cond)
     group by f.cond
     order by min(f.ordinality)
  loop
    first := buyer_sync_private.permanent_failure_details_many(
               jsonb_build_object('run_id', g.run_id, 'source', g.source, 'first_error_message', g.first_error_message),
               g.entries);
    insert into public.sync_alerts as s (type, severity, condition, message, details)
    values ('permanent_failure', 'critical', g.cond, buyer_sync_private.permanent_failure_message(first), first)
    on conflict (md5(condition)) where resolved_at is null and resolves is null
    do update set (details, message) =
      (select x.d, buyer_sync_private.permanent_failure_message(x.d)
         from (select buyer_sync_private.permanent_failure_details_many(s.details, g.entries) as d) x);
  end loop;
end $$;
comment on function buyer_sync_private.raise_permanent_failures(public.retry_queue[]) is
  E'Adds the retry entries that failed for good in one statement to their run''s permanent-failure alert (condition permanent_failure:run:<run id>), raising it with the first; a buyer another open permanent-failure alert names is left there.';

create function buyer_sync_private.alert_permanent_failures() returns trigger
language plpgsql
as $$
begin
  if tg_op = 'INSERT' then
    perform buyer_sync_private.raise_permanent_failures(
      array(select n::public.retry_queue from new_rows n where n.status = 'failed'));
  else
    perform buyer_sync_private.raise_permanent_failures(
      array(select n::public.retry_queue from new_rows n join old_rows o on o.id = n.id
             where n.status = 'failed' and o.status is distinct from 'failed'));
  end if;
  return null;
end $$;
comment on function buyer_sync_private.alert_permanent_failures() is
  E'Statement-level trigger of retry_queue: the entries the statement made failed (inserted so, or updated to it) raise or extend their run''s permanent-failure alert.';

drop trigger retry_queue_failed_on_insert on public.retry_queue;
drop trigger retry_queue_failed_on_update on public.retry_queue;
drop function buyer_sync_private.alert_permanent_failure();
create trigger retry_queue_failed_on_insert after insert on public.retry_queue
  referencing new table as new_rows
  for each statement execute function buyer_sync_private.alert_permanent_failures();
create trigger retry_queue_failed_on_update after update on public.retry_queue
  referencing old table as old_rows new table as new_rows
  for each statement execute function buyer_sync_private.alert_permanent_failures();

-- migrate:down

drop trigger retry_queue_failed_on_insert on public.retry_queue;
drop trigger retry_queue_failed_on_update on public.retry_queue;
drop function buyer_sync_private.alert_permanent_failures();
drop function buyer_sync_private.raise_permanent_failures(public.retry_queue[]);
drop function buyer_sync_private.permanent_failure_details_many(jsonb, jsonb);
create function buyer_sync_private.alert_permanent_failure() RETURNS trigger
language plpgsql
as $$
declare
  cond text := 'permanent_failure:run:' || coalesce(new.last_run_id::text, 'tx:' || txid_current()::text);
  entry jsonb := jsonb_build_object(
    'buyer_number', new.buyer_number,
    'attempts', new.attempt_count,
    'error_type', new.error_info->>'error_type',
    'column_name', new.error_info->>'column_name',
    'row_number', new.row_number,
    'resolution', new.resolution);
  first jsonb;
begin
  if exists (select 1 from public.sync_alerts s
              where s.type = 'permanent_failure' and s.resolved_at is null and s.resolves is null and s.condition <> cond
                and (coalesce(s.details->'buyer_numbers', '[]'::jsonb) ? new.buyer_number or s.details->>'buyer_number' = new.buyer_number)) then
    return null;
  end if;
  first := buyer_sync_private.permanent_failure_details(
             jsonb_build_object('run_id', new.last_run_id, 'source', new.source, 'first_error_message', new.error_info->>'error_message'),
             entry);
  insert into public.sync_alerts as s (type, severity, condition, message, details)
  values ('permanent_failure', 'critical', cond, buyer_sync_private.permanent_failure_message(first), first)
  on conflict (md5(condition)) where resolved_at is null and resolves is null
  do update set details = buyer_sync_private.permanent_failure_details(s.details, entry),
                message = buyer_sync_private.permanent_failure_message(buyer_sync_private.permanent_failure_details(s.details, entry));
  return null;
end $$;
comment on function buyer_sync_private.alert_permanent_failure() is 'Adds a buyer whose retry entry failed for good to its run''s permanent-failure alert (condition permanent_failure:run:<run id>), raising it with the first buyer; a buyer another open permanent-failure alert names is left there.';
create trigger retry_queue_failed_on_insert after insert on public.retry_queue
  for each row when (new.status = 'failed') execute function buyer_sync_private.alert_permanent_failure();
create trigger retry_queue_failed_on_update after update of status on public.retry_queue
  for each row when (new.status = 'failed' and old.status is distinct from 'failed') execute function buyer_sync_private.alert_permanent_failure();
