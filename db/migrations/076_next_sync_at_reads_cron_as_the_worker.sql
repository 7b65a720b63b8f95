-- migrate:up

/*
 * buyer_sync.verdict's next_sync_at comes from the recorded SYNC_CRON
 * (buyer_sync_private.next_cron_time, 067). graphile-worker, which runs the
 * schedule, reads a cron line the way cron does: when both the day of the
 * month and the day of the week are restricted (neither admits every day),
 * a day that matches either one fires. next_cron_time required both, so
 * '0 6 1 * 1' (the 1st of the month, and every Monday) said 2026-06-01 on
 * 2026-03-04 where the worker fires on 2026-03-09. Now it reads the line as
 * the worker does; test/verdict.test.ts holds the two equal over generated
 * cron lines.
 */
create or replace function buyer_sync_private.next_cron_time(cron text, after timestamptz) returns timestamptz
language sql stable strict parallel safe security definer set search_path = pg_catalog, pg_temp
as $$
  with f as (select regexp_split_to_array(btrim(cron), '\s+') as x),
       -- Whether the day fields restrict at all (graphile-worker: a field is exclusionary unless it admits every value).
       r as (select (select count(*) from generate_series(1, 31) v where buyer_sync_private.cron_field_matches(f.x[3], v, 1, 31)) < 31 as dom_restricted,
                    (select count(*) from generate_series(0, 6) v
                      where buyer_sync_private.cron_field_matches(f.x[5], v, 0, 7)
                         or (v = 0 and buyer_sync_private.cron_field_matches(f.x[5], 7, 0, 7))) < 7 as dow_restricted
               from f),
       days as (select d::date as day, m.dom, m.dow, r.dom_restricted and r.dow_restricted as either
                  from f, r,
                       generate_series((after at time zone 'UTC')::date, (after at time zone 'UTC')::date + 400, interval '1 day') d,
                       lateral (select buyer_sync_private.cron_field_matches(f.x[3], extract(day from d)::integer, 1, 31) as dom,
                                       buyer_sync_private.cron_field_matches(f.x[5], extract(dow from d)::integer, 0, 7)
                                         or (extract(dow from d) = 0 and buyer_sync_private.cron_field_matches(f.x[5], 7, 0, 7)) as dow) m
                 where buyer_sync_private.cron_field_matches(f.x[4], extract(month from d)::integer, 1, 12)
                   and case when r.dom_restricted and r.dow_restricted then m.dom or m.dow else m.dom and m.dow end
                 order by d
                 limit 2),
       hours as (select hr from f, generate_series(0, 23) hr where buyer_sync_private.cron_field_matches(f.x[2], hr, 0, 23)),
       minutes as (select mi from f, generate_series(0, 59) mi where buyer_sync_private.cron_field_matches(f.x[1], mi, 0, 59))
  select min(ts) from (select (d.day + make_interval(hours => h.hr, mins => m.mi)) at time zone 'UTC' as ts
                         from days d cross join hours h cross join minutes m) s
   where s.ts > after
$$;
comment on function buyer_sync_private.next_cron_time(text, timestamptz) is
  E'The first minute after `after` that five cron fields (UTC) admit, read as graphile-worker reads them (a day matching either day field fires when both restrict), within 400 days; null when none. security definer: the dashboard role calls it through buyer_sync.verdict without usage on buyer_sync_private.';

-- migrate:down

create or replace function buyer_sync_private.next_cron_time(cron text, after timestamptz) returns timestamptz
language sql stable strict parallel safe security definer set search_path = pg_catalog, pg_temp
as $$
  with f as (select regexp_split_to_array(btrim(cron), '\s+') as x),
       days as (select d::date as day
                  from f, generate_series((after at time zone 'UTC')::date, (after at time zone 'UTC')::date + 400, interval '1 day') d
                 where buyer_sync_private.cron_field_matches(f.x[3], extract(day from d)::integer, 1, 31)
                   and buyer_sync_private.cron_field_matches(f.x[4], extract(month from d)::integer, 1, 12)
                   and (buyer_sync_private.cron_field_matches(f.x[5], extract(dow from d)::integer, 0, 7)
                        or (extract(dow from d) = 0 and buyer_sync_private.cron_field_matches(f.x[5], 7, 0, 7)))
                 order by d
                 limit 2),
       hours as (select hr from f, generate_series(0, 23) hr where buyer_sync_private.cron_field_matches(f.x[2], hr, 0, 23)),
       minutes as (select mi from f, generate_series(0, 59) mi where buyer_sync_private.cron_field_matches(f.x[1], mi, 0, 59))
  select min(ts) from (select (d.day + make_interval(hours => h.hr, mins => m.mi)) at time zone 'UTC' as ts
                         from days d cross join hours h cross join minutes m) s
   where s.ts > after
$$;
comment on function buyer_sync_private.next_cron_time(text, timestamptz) is
  E'The first minute after `after` that five cron fields (UTC, as graphile-worker reads them) admit, within 400 days; null when none. security definer: the dashboard role calls it through buyer_sync.verdict without usage on buyer_sync_private.';
