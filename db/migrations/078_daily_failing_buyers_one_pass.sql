-- migrate:up

/*
 * buyer_sync.daily_failing_buyers (067) counted each day's distinct buyers of
 * any type with a correlated count(distinct) over the same CTE: PostgreSQL
 * materialised the whole error log for it and scanned it again per day, and
 * the API's 30-day window (buyer_sync_api.daily_failing_buyers) could not
 * reach the scan: 3.4 s per dashboard load over 1.3 million log entries. Now
 * one grouping-sets pass gives both counts (the day's own set is its buyers
 * of any type), and the window's day filter goes down to it. The same rows.
 */
create or replace view buyer_sync.daily_failing_buyers as
  with e as (select date_trunc('day', l.created_at) as day, l.error_type,
                    coalesce('b:' || l.buyer_number, 'r:' || l.row_number::text) as who
               from public.sync_error_log l
              -- A run's own failure (no buyer, no row: an unreadable sheet) is no buyer's: the runs chart shows it.
              where l.buyer_number is not null or l.row_number is not null)
  select g.day, g.error_type, g.buyers, g.buyers_all_types
    from (select a.day, a.error_type, a.buyers, a.all_types,
                 -- The day's own row (the grouping set without the type) is the day's distinct buyers, any type.
                 max(a.buyers) filter (where a.all_types = 1) over (partition by a.day) as buyers_all_types
            from (select e.day, e.error_type, count(distinct e.who)::integer as buyers, grouping(e.error_type) as all_types
                    from e
                   group by grouping sets ((e.day, e.error_type), (e.day))) a) g
   where g.all_types = 0;

-- migrate:down

create or replace view buyer_sync.daily_failing_buyers as
  with e as (select date_trunc('day', l.created_at) as day, l.error_type,
                    coalesce('b:' || l.buyer_number, 'r:' || l.row_number::text) as who
               from public.sync_error_log l
              -- A run's own failure (no buyer, no row: an unreadable sheet) is no buyer's: the runs chart shows it.
              where l.buyer_number is not null or l.row_number is not null)
  select e.day, e.error_type, count(distinct e.who)::integer as buyers,
         (select count(distinct a.who) from e a where a.day = e.day)::integer as buyers_all_types
    from e
   group by e.day, e.error_type;
