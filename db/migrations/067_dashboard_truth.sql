-- migrate:up

/*
 * The dashboard tells the truth first (issue 17).
 *
 * - One verdict, computed here: buyer_sync.verdict (and the API's
 *   buyer_sync_api.verdict()) says ok, warning, failing or unknown, why, since
 *   when and what to do, from the latest run, the latest health check, the
 *   open alerts, the missing buyers, the age of the last success and whether
 *   the sheet was ever read. The page and an analyst in psql get the same
 *   answer. It is never ok while the latest full sync failed or the latest
 *   health check was unhealthy.
 * - Alerts by condition: the permanent failures of one run (or retry round)
 *   share one alert naming every buyer (details.buyer_numbers, complete; the
 *   message names the first 50), resolved when every buyer it names is. Rows
 *   a full sync rejected for good (constraint violations: duplicates, no
 *   buyer number) raise one rows_rejected alert.
 * - Figures that count buyers, not repetitions: failing buyers per day and
 *   type; each day's error rate is its last full sync's, a failed run
 *   counting every row as not written (100 %), the same figure as the
 *   verdict's latest_error_rate.
 * - One redaction for every text the API shows: buyer_sync_private.redact_ids
 *   now also removes URLs, connection strings and file system paths.
 * - The sync's schedule, recorded by serve (buyer_sync.record_schedule), so
 *   the next scheduled sync can be told.
 */

/* ------------------------------------------------------------- redaction
 * What the API must not show even inside text it may show. In this order:
 * quoted paths (they may hold spaces), connection strings, URLs (a Google
 * Sheets URL carries the sheet's id), gsheets:<id>, a password=…, Windows
 * and POSIX absolute paths (a CSV source's directory names people and
 * places), then any remaining run of 40 or more [A-Za-z0-9_-] (a Google
 * spreadsheet id: a sheet shared by link is readable by anyone with it) or
 * an id right after the word spreadsheet. Run ids (uuids) are kept.
 */
create or replace function buyer_sync_private.redact_ids(t text) returns text
language sql immutable parallel safe
as $$
  select regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
         regexp_replace(regexp_replace(regexp_replace(t,
           -- a quoted absolute path, spaces and all
           $r$(['"])(~?/|[A-Za-z]:[\\/]|\\\\)[^'"]*\1$r$, '\1<file>\1', 'g'),
           $r$(postgres(ql)?|mysql|mongodb(\+srv)?|redis|amqps?)://[^\s'"<>]*$r$, '<connection>', 'gi'),
           $r$[A-Za-z][A-Za-z0-9+.-]*://[^\s'"<>]*$r$, '<url>', 'g'),
           $r$gsheets:[A-Za-z0-9_-]+$r$, 'gsheets:<id>', 'gi'),
           $r$(password|passwd|pwd)=[^\s'"&;]+$r$, '\1=<secret>', 'gi'),
           $r$\\\\[^\s'"<>]+$r$, '<file>', 'g'),
           $r$(^|[^A-Za-z0-9_])[A-Za-z]:[\\/][^\s'"<>]*[^\s'"<>:.,;]$r$, '\1<file>', 'g'),
           $r$(^|[\s(\[{'"=,;:])~?/[^\s'"<>()\[\]{},;]*[^\s'"<>()\[\]{},;:.]$r$, '\1<file>', 'g'),
           $r$(spreadsheets?|sheet|document)(\s+|\s*[:=]\s*)['"]?[A-Za-z0-9_-]{20,}$r$, '\1\2<id>', 'gi'),
           $r$[A-Za-z0-9_-]{40,}$r$, '<id>', 'g')
$$;
comment on function buyer_sync_private.redact_ids(text) is
  E'The one redaction of every text the API shows (run and error messages, skipped_because, alert messages and details, verification summaries, the verdict): file system paths (POSIX, Windows, UNC, quoted with spaces) become <file>, connection strings <connection>, other URLs <url>, spreadsheet ids (gsheets:<id>, runs of 40 or more [A-Za-z0-9_-], an id after the word spreadsheet) <id>, password=… <secret>. Run ids (uuids) stay.';


/* --------------------------------------------------------------- schedule
 * The schedule lives in serve's configuration (SYNC_CRON, HEALTH_CRON);
 * serve records it here when it starts, so the database can tell when the
 * next scheduled sync is due. Cron fields are UTC, as graphile-worker reads
 * them.
 */
create table buyer_sync_private.schedules (
  identifier  text primary key,
  cron        text not null check (array_length(regexp_split_to_array(btrim(cron), '\s+'), 1) = 5),
  recorded_at timestamptz not null default now()
);
comment on table buyer_sync_private.schedules is
  E'The crontab schedules serve runs, by the crontab line''s id (scheduled_sync: SYNC_CRON; health_check: HEALTH_CRON), as recorded by buyer_sync.record_schedule when serve starts.';
comment on column buyer_sync_private.schedules.cron is E'Five cron fields (minute hour day month weekday), UTC.';
comment on column buyer_sync_private.schedules.recorded_at is E'When serve last recorded it (its start).';

create function buyer_sync.record_schedule(identifier text, cron text) returns void
language sql volatile
as $$
  insert into buyer_sync_private.schedules (identifier, cron) values (identifier, btrim(cron))
  on conflict on constraint schedules_pkey do update set cron = excluded.cron, recorded_at = excluded.recorded_at
$$;
comment on function buyer_sync.record_schedule(text, text) is
  E'Records a crontab schedule serve runs (identifier scheduled_sync with SYNC_CRON when it starts): buyer_sync.verdict tells the next scheduled sync from it.';

/* Whether one cron field (a list of *, n, a-b, each with an optional /step) admits a value. */
create function buyer_sync_private.cron_field_matches(field text, value integer, lo integer, hi integer) returns boolean
language plpgsql immutable strict parallel safe
as $$
declare
  part text;
  m text[];
  a integer;
  b integer;
  step integer;
begin
  foreach part in array string_to_array(field, ',') loop
    m := regexp_match(part, '^(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$');
    if m is null then
      raise exception 'not a cron field: %', field using errcode = '22023';
    end if;
    if m[1] = '*' then
      a := lo; b := hi;
    else
      a := m[2]::integer;
      b := coalesce(m[3]::integer, case when m[4] is not null then hi else a end);
    end if;
    step := greatest(coalesce(m[4]::integer, 1), 1);
    if value between a and b and (value - a) % step = 0 then
      return true;
    end if;
  end loop;
  return false;
end $$;
comment on function buyer_sync_private.cron_field_matches(text, integer, integer, integer) is
  E'Whether a cron field (comma list of *, n, a-b, each with an optional /step) admits value; lo and hi are the field''s range.';

create function buyer_sync_private.next_cron_time(cron text, after timestamptz) returns timestamptz
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

/* ---------------------------------------------------------- grouped alerts */
insert into buyer_sync.alert_types (type, severity, raised_when, what_to_do) values
  ('rows_rejected', 'error',
   'The last full sync rejected sheet rows for good: constraint violations (a buyer number used twice, a row with data but no buyer number). Retrying cannot fix them. One alert for the condition, naming the rows and buyer numbers (the first 50; details.count counts them all).',
   'buyer-sync report lists every rejected row with its row number and what is wrong (duplicate keys side by side). Fix them on the sheet: give each buyer one row, fill in the missing buyer numbers. The alert resolves on the next full sync that rejects none.');
update buyer_sync.alert_types
   set raised_when = 'Buyers failed every scheduled retry (buyer_sync.retry_schedule), or failed in a way retrying cannot fix while they had retries pending. The buyers of one run or retry round share one alert: details.buyer_numbers names every one (the message the first 50), details.count counts them.'
 where type = 'permanent_failure';

/* The details of a permanent-failure alert with one more buyer (once). The top-level buyer fields are the first buyer's. */
create function buyer_sync_private.permanent_failure_details(details jsonb, entry jsonb) returns jsonb
language sql immutable
as $$
  with d as (select coalesce(details, '{}'::jsonb) as d),
       numbers as (select case when coalesce(d.d->'buyer_numbers', '[]'::jsonb) ? (entry->>'buyer_number')
                               then d.d->'buyer_numbers'
                               else coalesce(d.d->'buyer_numbers', '[]'::jsonb) || jsonb_build_array(entry->>'buyer_number') end as n
                     from d)
  select (entry - 'buyer_number') || (d.d - 'buyer_numbers' - 'buyers' - 'count' - 'capped')
         || jsonb_build_object(
              'buyer_number', coalesce(d.d->>'buyer_number', entry->>'buyer_number'),
              'buyer_numbers', n.n,
              'count', jsonb_array_length(n.n),
              'capped', jsonb_array_length(n.n) > 50,
              'buyers', case when jsonb_array_length(coalesce(d.d->'buyers', '[]'::jsonb)) < 50
                               and not coalesce(d.d->'buyer_numbers', '[]'::jsonb) ? (entry->>'buyer_number')
                             then coalesce(d.d->'buyers', '[]'::jsonb) || jsonb_build_array(entry)
                             else coalesce(d.d->'buyers', '[]'::jsonb) end)
    from d, numbers n
$$;
comment on function buyer_sync_private.permanent_failure_details(jsonb, jsonb) is
  E'A permanent-failure alert''s details with one more buyer: buyer_numbers (every buyer, complete), count, buyers (the first 50 with row, attempts, type and column), capped (more than 50); buyer_number, attempts, error_type, column_name, row_number are the first buyer''s.';

create function buyer_sync_private.permanent_failure_message(details jsonb) returns text
language sql immutable
as $$
  select case when (details->>'count')::integer <= 1
              then format('buyer %s could not be synced after %s attempt(s)%s; fix its row on the sheet, then run buyer-sync sync --only with its number',
                          left(details->>'buyer_number', 60) || case when char_length(details->>'buyer_number') > 60 then '…' else '' end,
                          details->>'attempts',
                          coalesce(': ' || (details->>'first_error_message'), ''))
              else format('%s buyers could not be synced and failed for good: %s%s; fix their rows on the sheet, then run buyer-sync sync --only with their numbers (details.buyer_numbers names all of them)',
                          details->>'count',
                          (select string_agg(left(b.n, 60), ', ' order by b.k)
                             from jsonb_array_elements_text(details->'buyer_numbers') with ordinality b(n, k) where b.k <= 50),
                          case when (details->>'count')::integer > 50 then format(' and %s more', (details->>'count')::integer - 50) else '' end)
         end
$$;
comment on function buyer_sync_private.permanent_failure_message(jsonb) is
  E'The text of a permanent-failure alert: the buyer and why for one buyer; for several, their count and the first 50 numbers.';

/*
 * The permanent-failure trigger (057), now grouped: the failures of one run
 * (the entry's last_run_id: a full sync, a --only run or a retry round; or,
 * without one, of one transaction) add their buyers to one open alert,
 * condition permanent_failure:run:<run id>. Delivery fires on insert, so the
 * alert is sent once, with every buyer the run failed (delivery reads the
 * row after the transaction committed). A buyer already named by another
 * open permanent-failure alert is not named again.
 */
create or replace function buyer_sync_private.alert_permanent_failure() returns trigger
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
comment on function buyer_sync_private.alert_permanent_failure() is
  E'Adds a buyer whose retry entry failed for good to its run''s permanent-failure alert (condition permanent_failure:run:<run id>), raising it with the first buyer; a buyer another open permanent-failure alert names is left there.';

/* Whether a buyer's permanent failure has cleared (the per-buyer rule of 060/061). */
create function buyer_sync_private.permanent_failure_cleared(buyer text, raised_at timestamptz, raised_by_run uuid) returns boolean
language sql stable
as $$
  select exists (select 1 from public.sync_buyer_changes ch where ch.buyer_number = buyer and ch.changed_at > raised_at)
      or exists (select 1 from public.buyers b where b.buyer_number = buyer and b.created_at > raised_at)
      or exists (select 1 from public.retry_queue q
                  where q.buyer_number = buyer and q.status = 'succeeded' and q.resolved_at > raised_at)
      or (exists (select 1 from public.sync_runs r
                   where r.mode = 'full' and r.status = 'succeeded' and r.started_at > raised_at
                     and r.id is distinct from raised_by_run
                     and not exists (select 1 from public.sync_error_log e where e.run_id = r.id and e.buyer_number = buyer))
          and (exists (select 1 from public.buyers b where b.buyer_number = buyer)
               or not exists (select 1 from buyer_sync_private.sheet_buyers k where k.buyer_number = buyer)))
$$;
comment on function buyer_sync_private.permanent_failure_cleared(text, timestamptz, uuid) is
  E'Whether a buyer that failed for good (alert raised at raised_at by run raised_by_run) has cleared: written since (sync_buyer_changes, or inserted), a retry succeeded, or a later full sync went by without a failure of it while it is in buyers or no longer on the sheet.';

/* Evaluating alerts (061), with a permanent-failure alert resolved once every buyer it names has cleared. */
create or replace function buyer_sync.evaluate_alerts() returns setof public.sync_alerts
language plpgsql volatile
as $$
declare
  c record;
  a public.sync_alerts;
begin
  for c in select * from buyer_sync_private.health_conditions_at_once() loop
    if c.active then
      -- An open alert follows its condition: its text and figures are the latest (it is not delivered again).
      update public.sync_alerts s set message = c.message, details = c.details
       where s.condition = c.condition and s.resolved_at is null and s.resolves is null
         and (s.message, s.details) is distinct from (c.message, c.details);
      return query
        insert into public.sync_alerts (type, severity, condition, message, details)
        select c.type, t.severity, c.condition, c.message, c.details from buyer_sync.alert_types t where t.type = c.type
        on conflict (md5(condition)) where resolved_at is null and resolves is null do nothing
        returning *;
    else
      for a in
        update public.sync_alerts s set resolved_at = clock_timestamp()
         where s.condition = c.condition and s.resolved_at is null and s.resolves is null
        returning s.*
      loop
        return query select * from buyer_sync_private.resolve_notice(a, c.details);
      end loop;
    end if;
  end loop;

  /*
   * A permanent-failure alert clears once every buyer it names has
   * (buyer_sync_private.permanent_failure_cleared); alerts raised before 067
   * name one buyer (details.buyer_number).
   */
  for a in
    update public.sync_alerts s set resolved_at = clock_timestamp()
     where s.type = 'permanent_failure' and s.resolved_at is null and s.resolves is null
       and not exists (select 1
                         from jsonb_array_elements_text(coalesce(s.details->'buyer_numbers', jsonb_build_array(s.details->>'buyer_number'))) b(n)
                        where not buyer_sync_private.permanent_failure_cleared(b.n, s.created_at, (s.details->>'run_id')::uuid))
    returning s.*
  loop
    return query select * from buyer_sync_private.resolve_notice(a, jsonb_build_object(
      'buyer_number', a.details->>'buyer_number', 'buyer_numbers', a.details->'buyer_numbers', 'count', a.details->'count'));
  end loop;
end $$;
comment on function buyer_sync.evaluate_alerts() is
  E'Raises an alert for each condition of buyer_sync.health_conditions() that holds and has no open alert (an open one follows its condition''s text), resolves the open alerts whose condition cleared (with an info notice each), resolves a permanent-failure alert once every buyer it names has cleared, and returns the alerts and notices it raised. Every sync run calls it; so does buyer_sync.check_health().';

/* The health conditions (061), and one more: rows the last full sync rejected for good (rows_rejected). */
CREATE OR REPLACE FUNCTION buyer_sync.health_conditions()
 RETURNS TABLE(type text, condition text, active boolean, message text, details jsonb)
 LANGUAGE sql
 STABLE
AS $function$
  with t as (select * from buyer_sync_private.thresholds()),
       -- Once: each reference to a column of the view would otherwise compute its set difference again.
       h as materialized (select missing_count, spreadsheet_count, database_count, sheet_read_at from buyer_sync.current_health),
       last_attempt as (select min(started_at) as first_at from public.sync_runs where mode = 'full'),
       -- The sheet was last known to be in the database: a full sync that succeeded, or a scheduled one that found it
       -- unchanged (not one skipped because another run held the lock: that one saw nothing).
       last_seen as (select max(coalesce(finished_at, started_at)) as at from public.sync_runs
                      where mode = 'full' and (status = 'succeeded' or (status = 'skipped' and coalesce(skipped_kind, 'unchanged') = 'unchanged'))),
       ever as (select exists (select 1 from public.sync_runs where mode = 'full' and status = 'succeeded') as synced)
  -- Before the first full sync every buyer is missing: that is a sheet not synced yet, and said so.
  select 'missing_buyers', 'missing_buyers', h.missing_count > t.missing_buyers_max or (not e.synced and h.missing_count > 0),
         case when e.synced
              then format('%s buyer(s) on the sheet are not in the database (threshold %s); buyer-sync missing lists them',
                          h.missing_count, t.missing_buyers_max)
              else format('the sheet has not been synced yet: its %s buyer(s) are not in the database until the first full sync succeeds (buyer-sync sync, or the worker''s first run)',
                          h.missing_count) end,
         jsonb_build_object('missing_count', h.missing_count, 'threshold', t.missing_buyers_max,
                            'spreadsheet_count', h.spreadsheet_count, 'database_count', h.database_count,
                            'sheet_read_at', h.sheet_read_at,
                            'first_missing', case when h.missing_count = 0 then '[]'::jsonb
                                                  else (select coalesce(jsonb_agg(m.buyer_number order by m.row_number), '[]'::jsonb)
                                                          from (select buyer_number, row_number from buyer_sync.missing_buyers
                                                                 order by row_number limit 20) m) end,
                            'synced_yet', e.synced)
    from t, h, ever e
  union all
  -- Compared unrounded: 5.0025 % is above 5 %, though it shows as 5.00.
  select 'high_error_rate', 'high_error_rate', coalesce(100.0 * l.failed > t.error_rate_max * l.non_blank_rows, false),
         format('the last full sync failed on %s%% of its non-blank rows (%s of %s; threshold %s%%); buyer-sync errors --run %s lists them',
                l.error_rate, l.failed, l.non_blank_rows, t.error_rate_max, l.run_id),
         jsonb_build_object('error_rate', l.error_rate, 'threshold', t.error_rate_max, 'failed', l.failed,
                            'non_blank_rows', l.non_blank_rows, 'errors_by_type', l.errors_by_type, 'run_id', l.run_id)
    from t left join buyer_sync.last_full_sync l on true
  union all
  select 'slow_sync', 'slow_sync', coalesce(l.duration_ms > extract(epoch from t.slow_sync_after) * 1000, false),
         format('the last full sync took %s s (limit %s s; %s rows/s)',
                round(l.duration_ms / 1000.0, 1), extract(epoch from t.slow_sync_after)::bigint, l.rows_per_second),
         jsonb_build_object('duration_ms', l.duration_ms, 'limit_ms', (extract(epoch from t.slow_sync_after) * 1000)::bigint,
                            'rows', l.total_rows, 'rows_per_second', l.rows_per_second, 'run_id', l.run_id)
    from t left join buyer_sync.last_full_sync l on true
  union all
  select 'stale_sync', 'stale_sync',
         coalesce(now() - coalesce(s.at, a.first_at) > t.stale_after, false),
         case when s.at is null
              then format('no full sync has succeeded since the first attempt at %s (limit %s)', a.first_at, t.stale_after)
              else format('no full sync has succeeded since %s (limit %s)', s.at, t.stale_after) end,
         jsonb_build_object('last_sync_time', l.finished_at, 'last_seen_unchanged_at', s.at, 'first_attempt_at', a.first_at, 'stale_after', t.stale_after::text,
                            'latest_failures', (select coalesce(jsonb_agg(jsonb_build_object('run_id', f.id, 'started_at', f.started_at,
                                                                                        'failure', f.failure, 'error_message', f.error_message)
                                                                     order by f.started_at desc), '[]'::jsonb)
                                                  from (select id, started_at, failure, error_message from public.sync_runs
                                                         where mode = 'full' and status = 'failed'
                                                         order by started_at desc limit 3) f))
    from t cross join last_attempt a cross join last_seen s left join buyer_sync.last_full_sync l on true
  union all
  -- Rows the last full sync rejected for good (constraint violations with a sheet row): one alert, the first 50 named.
  select 'rows_rejected', 'rows_rejected', coalesce(rj.n > 0, false),
         format('the last full sync rejected %s sheet row(s) for good (a buyer number used twice, or data without a buyer number): %s%s; buyer-sync report lists them',
                coalesce(rj.n, 0), coalesce(rj.listed, ''),
                case when rj.n > 10 then format(' and %s more', rj.n - 10) else '' end),
         jsonb_build_object('run_id', l.run_id, 'count', coalesce(rj.n, 0), 'capped', coalesce(rj.n > 50, false),
                            'rows', coalesce(rj.rows, '[]'::jsonb), 'buyer_numbers', coalesce(rj.buyers, '[]'::jsonb))
    from (select 1) one
    left join buyer_sync.last_full_sync l on true
    left join lateral (
      select count(*)::integer as n,
             string_agg(case when x.k <= 10 then format('row %s (%s)', x.row_number, coalesce(left(x.buyer_number, 60), 'no buyer number')) end, ', ' order by x.k) as listed,
             jsonb_agg(jsonb_build_object('row_number', x.row_number, 'buyer_number', x.buyer_number) order by x.k) filter (where x.k <= 50) as rows,
             (select jsonb_agg(distinct y.buyer_number) from (select x2.buyer_number from public.sync_error_log x2
                                                              where x2.run_id = l.run_id and x2.error_type = 'constraint_violation'
                                                                and x2.row_number is not null and x2.buyer_number is not null
                                                              order by x2.row_number limit 50) y) as buyers
        from (select e.row_number, e.buyer_number, row_number() over (order by e.row_number, e.id) as k
                from public.sync_error_log e
               where e.run_id = l.run_id and e.error_type = 'constraint_violation' and e.row_number is not null) x
    ) rj on true
$function$;

/* The health check (060): rows_rejected is judged by its condition (not again as an open alert). */
CREATE OR REPLACE FUNCTION buyer_sync.check_health(extra_issues text[] DEFAULT '{}'::text[])
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
declare
  h record;
  raised jsonb;
  issues text[];
  metrics_id uuid;
begin
  select coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'type', a.type, 'severity', a.severity,
                                               'resolved', a.resolves is not null) order by a.created_at), '[]'::jsonb)
    into raised
    from buyer_sync.evaluate_alerts() a;
  select * into h from buyer_sync.current_health;
  issues := array(
    select c.message from buyer_sync.health_conditions() c where c.active
    union all
    select format('%s buyer(s) failed for good and still do (permanent_failure alerts open)', h.permanent_failures)
     where h.permanent_failures > 0
    union all
    -- Open alerts that no condition above judges (verification_failed): unhealthy until they resolve.
    select a.message from public.sync_alerts a
     where a.resolved_at is null and a.resolves is null
       and a.type not in ('missing_buyers', 'high_error_rate', 'slow_sync', 'stale_sync', 'permanent_failure', 'rows_rejected')
    union all
    select 'no full sync has succeeded yet' where h.last_run_id is null
    union all
    select unnest(extra_issues));
  insert into public.sync_health_metrics
    (spreadsheet_count, database_count, missing_count, extra_count, error_rate, sync_duration_ms, throughput_per_second,
     retry_queue_size, last_sync_at, run_id, healthy, issues)
  values (h.spreadsheet_count, h.database_count, h.missing_count, h.extra_count, h.error_rate, h.last_sync_duration_ms,
          h.last_sync_rows_per_second, h.retry_queue_size, h.last_sync_time, h.last_run_id, cardinality(issues) = 0, issues)
  returning id into metrics_id;
  return jsonb_build_object(
    'healthy', cardinality(issues) = 0,
    'issues', to_jsonb(issues),
    'missing_count', h.missing_count,
    'error_rate', h.error_rate,
    'last_sync_time', h.last_sync_time,
    'retry_queue_size', h.retry_queue_size,
    'extra_count', h.extra_count,
    'spreadsheet_count', h.spreadsheet_count,
    'database_count', h.database_count,
    'sheet_read_at', h.sheet_read_at,
    'check_id', metrics_id,
    'alerts', raised);
end $function$;

/* permanent_failures counts the buyers the open permanent-failure alerts name (they group by run now). */
create or replace view buyer_sync.current_health as
SELECT l.finished_at AS last_sync_time,
    l.run_id AS last_run_id,
    COALESCE(l.error_rate, 0::numeric)::numeric(5,2) AS error_rate,
    (( SELECT count(*) AS count
           FROM buyer_sync.missing_buyers))::integer AS missing_count,
    (( SELECT count(*) AS count
           FROM buyer_sync.extra_buyers))::integer AS extra_count,
    (( SELECT count(*) AS count
           FROM buyer_sync_private.sheet_buyers))::integer AS spreadsheet_count,
    (( SELECT count(*) AS count
           FROM buyers))::integer AS database_count,
    ( SELECT sheet_snapshot.read_at
           FROM buyer_sync_private.sheet_snapshot) AS sheet_read_at,
    (( SELECT count(*) AS count
           FROM retry_queue q
          WHERE q.status = ANY (ARRAY['pending'::text, 'processing'::text])))::integer AS retry_queue_size,
    ( SELECT min(q.created_at) AS min
           FROM retry_queue q
          WHERE q.status = ANY (ARRAY['pending'::text, 'processing'::text])) AS oldest_retry_at,
    (( SELECT COALESCE(sum(COALESCE(jsonb_array_length(a.details -> 'buyer_numbers'), 1)), 0) AS sum
           FROM sync_alerts a
          WHERE a.type = 'permanent_failure'::text AND a.resolved_at IS NULL AND a.resolves IS NULL))::integer AS permanent_failures,
    l.duration_ms AS last_sync_duration_ms,
    l.rows_per_second AS last_sync_rows_per_second,
    ( SELECT max(r.started_at) AS max
           FROM sync_runs r
          WHERE r.status = 'failed'::text) AS last_failed_run_at,
    (( SELECT count(*) AS count
           FROM sync_alerts a
          WHERE a.resolved_at IS NULL AND a.resolves IS NULL))::integer AS open_alerts
   FROM ( SELECT 1 AS "?column?") one
     LEFT JOIN buyer_sync.last_full_sync l ON true;
comment on column buyer_sync.current_health.permanent_failures is E'Buyers named by open permanent-failure alerts.';

/* ---------------------------------------------------------------- figures
 * Each day's error rate is its last full sync's: the percent of its
 * non-blank rows not written because they failed; a failed run wrote
 * nothing, so all of its rows count (100 %), even when it failed before it
 * read any. The latest day's figure is buyer_sync.verdict's
 * latest_error_rate: the chart and the headline agree.
 */
create view buyer_sync.daily_error_rate as
  with runs as (
    select date_trunc('day', r.started_at) as day, r.id, r.status, r.failure, r.total_rows - r.blank_rows as rows, r.failed,
           row_number() over (partition by date_trunc('day', r.started_at) order by r.started_at desc, r.id) as k
      from public.sync_runs r
     where r.mode = 'full' and r.status in ('succeeded', 'failed'))
  select r.day,
         (select count(*) from runs a where a.day = r.day)::integer as full_runs,
         (select count(*) from runs a where a.day = r.day and a.status = 'failed')::integer as failed_runs,
         r.id as last_run_id,
         r.status as last_status,
         r.failure as last_failure,
         r.rows as non_blank_rows,
         case when r.status = 'failed' then r.rows else r.failed end as failed_rows,
         case when r.status = 'failed' then 100
              else coalesce(round(100.0 * r.failed / nullif(r.rows, 0), 2), 0) end::numeric(5, 2) as error_rate
    from runs r
   where r.k = 1;
comment on view buyer_sync.daily_error_rate is
  E'Per day (the database''s TimeZone): the full syncs that finished, how many failed, and the error rate of the day''s last one: the percent of its non-blank rows that failed; a failed run wrote nothing and counts 100 %. The latest day''s rate is buyer_sync.verdict.latest_error_rate.';

create view buyer_sync.daily_failing_buyers as
  with e as (select date_trunc('day', l.created_at) as day, l.error_type,
                    coalesce('b:' || l.buyer_number, 'r:' || l.row_number::text) as who
               from public.sync_error_log l
              -- A run's own failure (no buyer, no row: an unreadable sheet) is no buyer's: the runs chart shows it.
              where l.buyer_number is not null or l.row_number is not null)
  select e.day, e.error_type, count(distinct e.who)::integer as buyers,
         (select count(distinct a.who) from e a where a.day = e.day)::integer as buyers_all_types
    from e
   group by e.day, e.error_type;
comment on view buyer_sync.daily_failing_buyers is
  E'Distinct failing buyers per day (the database''s TimeZone) and error type, however many times each was retried or synced that day; a row without a buyer number counts once by its sheet row; a run''s own failure (no buyer, no row) is not counted. buyers_all_types: distinct failing buyers of the day, any type.';

/* ---------------------------------------------------------------- verdict */
create view buyer_sync.verdict as
  -- The thresholds as buyer_sync_private.thresholds() gives them, read here with the view's (owner's) rights.
  with t as (select x.stale_after from (select 1 as rank, a.stale_after from buyer_sync.alert_thresholds a
                                        union all select 2, interval '1 hour') x
              order by x.rank limit 1),
       latest as (select r.* from public.sync_runs r
                   where r.mode = 'full' and r.status in ('succeeded', 'failed')
                   order by r.started_at desc, r.id limit 1),
       attempt as (select r.* from public.sync_runs r where r.mode = 'full' order by r.started_at desc, r.id limit 1),
       ok as (select max(coalesce(r.finished_at, r.started_at)) as last_success_at,
                     max(r.started_at) as last_success_started_at
                from public.sync_runs r where r.mode = 'full' and r.status = 'succeeded'),
       seen as (select max(coalesce(r.finished_at, r.started_at)) as at from public.sync_runs r
                 where r.mode = 'full' and (r.status = 'succeeded' or (r.status = 'skipped' and coalesce(r.skipped_kind, 'unchanged') = 'unchanged'))),
       first_attempt as (select min(r.started_at) as at from public.sync_runs r where r.mode = 'full'),
       failing_since as (select min(r.started_at) as at from public.sync_runs r, ok
                          where r.mode = 'full' and r.status = 'failed' and r.started_at > coalesce(ok.last_success_started_at, '-infinity')),
       in_step_since as (select min(r.started_at) as at from public.sync_runs r
                          where r.mode = 'full' and r.status = 'succeeded'
                            and r.started_at > coalesce((select max(f.started_at) from public.sync_runs f
                                                          where f.mode = 'full' and f.status = 'failed'), '-infinity')),
       chk as (select m.check_time, m.healthy, m.issues from public.sync_health_metrics m order by m.check_time desc, m.id limit 1),
       unhealthy_since as (select min(m.check_time) as at from public.sync_health_metrics m
                            where m.check_time > coalesce((select max(g.check_time) from public.sync_health_metrics g where g.healthy), '-infinity')),
       al as (select count(*) filter (where a.severity in ('critical', 'error'))::integer as bad,
                     count(*) filter (where a.severity = 'warning')::integer as warn,
                     min(a.created_at) filter (where a.severity in ('critical', 'error')) as bad_since,
                     min(a.created_at) filter (where a.severity = 'warning') as warn_since
                from buyer_sync.open_alerts a),
       worst as (select a.type, a.message, ty.what_to_do from buyer_sync.open_alerts a join buyer_sync.alert_types ty on ty.type = a.type
                  where a.severity in ('critical', 'error', 'warning')
                  order by case a.severity when 'critical' then 0 when 'error' then 1 else 2 end, a.created_at, a.id limit 1),
       snap as (select s.read_at from buyer_sync_private.sheet_snapshot s),
       missing as materialized (select count(*)::integer as n from buyer_sync.missing_buyers),
       sched as (select s.cron from buyer_sync_private.schedules s where s.identifier = 'scheduled_sync'),
       facts as (
         select l.status as latest_status, l.failure as latest_failure, l.error_message as latest_message, l.started_at as latest_at,
                l.total_rows - l.blank_rows as latest_rows, l.failed as latest_failed,
                a.started_at as attempt_at, a.status as attempt_status, a.skipped_kind as attempt_skipped_kind,
                ok.last_success_at, seen.at as seen_at, fa.at as first_attempt_at, fs.at as failing_since, iss.at as in_step_since,
                c.check_time, c.healthy, c.issues, us.at as unhealthy_since,
                coalesce(al.bad, 0) as bad_alerts, coalesce(al.warn, 0) as warn_alerts, al.bad_since, al.warn_since,
                w.type as worst_type, w.message as worst_message, w.what_to_do as worst_what_to_do,
                sn.read_at as sheet_read_at, mi.n as missing_count, t.stale_after, sc.cron as sync_cron
           from t cross join ok cross join seen cross join first_attempt fa cross join failing_since fs cross join in_step_since iss
                cross join unhealthy_since us cross join al cross join missing mi
                left join latest l on true left join attempt a on true left join chk c on true left join worst w on true
                left join snap sn on true left join sched sc on true),
       judged as (
         select f.*,
                case when f.latest_status = 'failed' and f.latest_failure = 'mass_change' then 'mass_change'
                     when f.latest_status = 'failed' then 'sync_failed'
                     when f.last_success_at is null and f.sheet_read_at is null then 'never_read'
                     when f.last_success_at is null then 'never_synced'
                     when f.bad_alerts > 0 then 'alerts'
                     when f.healthy is false then 'unhealthy'
                     when now() - coalesce(f.seen_at, f.first_attempt_at) > f.stale_after then 'stale'
                     when f.missing_count > 0 then 'missing'
                     when f.warn_alerts > 0 then 'warnings'
                     else 'in_step' end as rule
           from facts f)
  select case when j.rule in ('mass_change', 'sync_failed', 'alerts', 'unhealthy', 'stale') then 'failing'
              when j.rule in ('missing', 'warnings') then 'warning'
              when j.rule in ('never_read', 'never_synced') then 'unknown'
              else 'ok' end as level,
         j.rule,
         case j.rule
           when 'mass_change' then 'Failing: the latest sync was refused by the mass-change guard'
           when 'sync_failed' then 'Failing: the latest sync failed'
           when 'never_read' then 'Waiting for the first sync'
           when 'never_synced' then 'Waiting for the first sync'
           when 'alerts' then format('Failing: %s open alert(s) need action', j.bad_alerts)
           when 'unhealthy' then 'Failing: the latest health check found problems'
           when 'stale' then 'Failing: no sync has succeeded for too long'
           when 'missing' then format('Warning: %s buyer(s) on the sheet are not in the database', j.missing_count)
           when 'warnings' then format('Warning: %s open warning(s)', j.warn_alerts)
           else 'In step: every buyer on the sheet is in the database'
         end as headline,
         buyer_sync_private.redact_ids(case j.rule
           when 'mass_change' then coalesce(j.latest_message, 'the run would have updated more existing buyers than SYNC_MAX_CHANGED_PERCENT allows; nothing was written')
           when 'sync_failed' then format('%s (%s)', coalesce(j.latest_message, 'the run failed'), j.latest_failure)
           when 'never_read' then 'the sheet has not been read yet'
           when 'never_synced' then 'the sheet was read, but no full sync has succeeded yet'
           when 'alerts' then j.worst_message || case when j.bad_alerts > 1 then format(' (and %s more open alert(s))', j.bad_alerts - 1) else '' end
           when 'unhealthy' then coalesce(array_to_string(j.issues[1:3], '; '), 'the health check was unhealthy')
           when 'stale' then case when j.seen_at is null then format('no full sync has succeeded since the first attempt (limit %s)', j.stale_after)
                                  else format('no full sync has succeeded for %s (limit %s)', date_trunc('minute', now() - j.seen_at), j.stale_after) end
           when 'missing' then format('%s buyer(s) on the sheet (read %s) are not in the database; their rows fail or have not been synced yet', j.missing_count, j.sheet_read_at)
           when 'warnings' then j.worst_message
           else format('the last full sync (%s) wrote every buyer on the sheet; no open alert, the latest health check healthy', j.last_success_at)
         end) as reason,
         case j.rule
           when 'mass_change' then j.failing_since
           when 'sync_failed' then j.failing_since
           when 'never_read' then j.first_attempt_at
           when 'never_synced' then coalesce(j.first_attempt_at, j.sheet_read_at)
           when 'alerts' then j.bad_since
           when 'unhealthy' then j.unhealthy_since
           when 'stale' then coalesce(j.seen_at, j.first_attempt_at)
           when 'missing' then j.sheet_read_at
           when 'warnings' then j.warn_since
           else j.in_step_since
         end as since,
         case j.rule
           when 'mass_change' then 'Look at what changed on the sheet (a wrong encoding, shifted or renamed columns, a sort gone wrong) and fix it; the next sync goes through. If the change is intended, an operator presses "Allow the mass change once" on its alert (or runs buyer-sync sync --allow-mass-change).'
           when 'sync_failed' then 'Read the reason: a renamed or missing header (put it back, or change the column mapping), an unreadable sheet (SHEET_SOURCE, sharing, credentials), a schema check blocking (buyer-sync check-schema --fix) or a lost database. Fix it, then press "Sync now" (or run buyer-sync sync) and watch the next run.'
           when 'never_read' then 'Nothing to do if buyer-sync serve is running: its worker reads the sheet on its schedule. To start now: buyer-sync sync (or "Sync now" with the operator token).'
           when 'never_synced' then 'Wait for the first full sync (the worker''s schedule), or run buyer-sync sync now.'
           when 'alerts' then j.worst_what_to_do
           when 'unhealthy' then 'Run buyer-sync health for the issues one by one; each names its command. The verdict turns green at the next health check that finds none.'
           when 'stale' then 'Is a worker running (buyer-sync serve)? Look at the latest runs below: the sheet unreadable, Google refusing, the schema check blocking. Fix the cause and press "Sync now".'
           when 'missing' then 'buyer-sync missing lists them; buyer-sync errors --buyer <number> says why each failed. Fix their rows on the sheet; the next sync writes them.'
           when 'warnings' then j.worst_what_to_do
           else 'Nothing.'
         end as what_to_do,
         'docs/runbooks.md#verdict-' || replace(j.rule, '_', '-') as runbook,
         j.attempt_at as last_attempt_at,
         j.attempt_status as last_attempt_status,
         j.attempt_skipped_kind as last_attempt_skipped_kind,
         j.latest_at as latest_run_at,
         j.latest_status as latest_run_status,
         case when j.latest_status = 'failed' then 100
              when j.latest_status = 'succeeded' then coalesce(round(100.0 * j.latest_failed / nullif(j.latest_rows, 0), 2), 0) end::numeric(5, 2)
           as latest_error_rate,
         j.last_success_at,
         j.sheet_read_at,
         j.check_time as last_check_at,
         j.healthy as last_check_healthy,
         j.sync_cron as schedule,
         case when j.sync_cron is not null
                   and exists (select 1 from buyer_sync_private.workers w
                                where w.last_seen_at > now() - (select l.dead_after from buyer_sync_private.worker_liveness l))
              then buyer_sync_private.next_cron_time(j.sync_cron, now()) end as next_sync_at,
         now() as judged_at
    from judged j;
comment on view buyer_sync.verdict is
  E'The one answer to "is the buyers table in step with the sheet?", for the dashboard and for analysts (one row). level: failing (the latest full sync failed or was refused by the mass-change guard; an open critical or error alert; the latest health check unhealthy; no success within alert_thresholds.stale_after), warning (missing buyers below the alert threshold; open warnings), unknown (the sheet never read, or never synced yet, with no failed run) or ok. Never ok while the latest full sync failed or the latest health check was unhealthy. rule names the first of these that holds; headline, reason (redacted), since, what_to_do and runbook (an anchor of docs/runbooks.md) say it in words. Also the last attempt, the last success and the next scheduled sync.';
comment on column buyer_sync.verdict.level is E'ok, warning, failing or unknown.';
comment on column buyer_sync.verdict.rule is E'Which rule decided: mass_change, sync_failed, never_read, never_synced, alerts, unhealthy, stale, missing, warnings or in_step (in that order).';
comment on column buyer_sync.verdict.since is E'When the state began: the first failed run since the last success, the oldest open alert, the first unhealthy check since the last healthy one, …; null when unknown.';
comment on column buyer_sync.verdict.runbook is E'Where the runbook says what the verdict means and what to do: docs/runbooks.md#verdict-<rule>.';
comment on column buyer_sync.verdict.last_attempt_at is E'When the latest full sync started, whatever came of it (running, succeeded, failed, skipped).';
comment on column buyer_sync.verdict.latest_error_rate is E'Percent of the latest finished full sync''s non-blank rows that it did not write: its failed rows; 100 when it failed (a failed run writes nothing). The chart''s latest day shows the same figure.';
comment on column buyer_sync.verdict.last_success_at is E'When the latest successful full sync finished.';
comment on column buyer_sync.verdict.schedule is E'The full sync''s schedule (SYNC_CRON, UTC) as serve recorded it; null: not recorded.';
comment on column buyer_sync.verdict.next_sync_at is E'The next scheduled full sync: the schedule''s next minute, when it is recorded and a worker is alive; null otherwise (unknown).';

/* ------------------------------------------------------------------- API */
create view buyer_sync_api.current_verdict as
  select v.level, v.rule, v.headline, v.reason, v.since, v.what_to_do, v.runbook,
         v.last_attempt_at, v.last_attempt_status, v.last_attempt_skipped_kind, v.latest_run_at, v.latest_run_status,
         v.latest_error_rate, v.last_success_at, v.sheet_read_at, v.last_check_at, v.last_check_healthy,
         v.schedule, v.next_sync_at, v.judged_at
    from buyer_sync.verdict v;
comment on view buyer_sync_api.current_verdict is
  E'@behavior -list -connection -single\nThe verdict the dashboard opens with (buyer_sync.verdict): ok, warning, failing or unknown, why, since when, what to do, and the last attempt, last success and next scheduled sync.';
comment on column buyer_sync_api.current_verdict.level is E'@notNull\nok, warning, failing or unknown.';
comment on column buyer_sync_api.current_verdict.rule is E'@notNull\nmass_change, sync_failed, never_read, never_synced, alerts, unhealthy, stale, missing, warnings or in_step.';
comment on column buyer_sync_api.current_verdict.headline is E'@notNull\nThe verdict in a few words.';
comment on column buyer_sync_api.current_verdict.reason is E'@notNull\nWhy, redacted (no paths, URLs or spreadsheet ids).';
comment on column buyer_sync_api.current_verdict.since is E'When the state began; null: unknown.';
comment on column buyer_sync_api.current_verdict.what_to_do is E'@notNull\nWhat to do about it.';
comment on column buyer_sync_api.current_verdict.runbook is E'@notNull\nThe runbook section: docs/runbooks.md#verdict-<rule>.';
comment on column buyer_sync_api.current_verdict.last_attempt_at is E'When the latest full sync started (any outcome); null: never.';
comment on column buyer_sync_api.current_verdict.last_attempt_status is E'running, succeeded, failed or skipped.';
comment on column buyer_sync_api.current_verdict.last_attempt_skipped_kind is E'unchanged or busy when the latest attempt was skipped.';
comment on column buyer_sync_api.current_verdict.latest_run_at is E'When the latest finished (succeeded or failed) full sync started.';
comment on column buyer_sync_api.current_verdict.latest_run_status is E'succeeded or failed.';
comment on column buyer_sync_api.current_verdict.latest_error_rate is E'Percent of the latest finished full sync''s non-blank rows it did not write (100 when it failed); the same as the error-rate chart''s latest day.';
comment on column buyer_sync_api.current_verdict.last_success_at is E'When the latest successful full sync finished; null: never.';
comment on column buyer_sync_api.current_verdict.sheet_read_at is E'When the sheet was last read in full; null: never.';
comment on column buyer_sync_api.current_verdict.last_check_at is E'The latest health check; null: none yet.';
comment on column buyer_sync_api.current_verdict.last_check_healthy is E'Whether the latest health check was healthy.';
comment on column buyer_sync_api.current_verdict.schedule is E'The full sync''s schedule (five cron fields, UTC) as serve recorded it; null: not recorded.';
comment on column buyer_sync_api.current_verdict.next_sync_at is E'The next scheduled full sync; null: unknown (no schedule recorded, or no worker alive).';
comment on column buyer_sync_api.current_verdict.judged_at is E'@notNull\nWhen the verdict was computed.';

create function buyer_sync_api.verdict() returns buyer_sync_api.current_verdict
language sql stable
as $$ select v.* from buyer_sync_api.current_verdict v $$;
comment on function buyer_sync_api.verdict() is
  E'@notNull\nThe verdict, one row: level, headline, reason, since, what to do, runbook; last attempt, last success, next sync.';

create view buyer_sync_api.daily_error_rate as
  select d.day::date as day, d.full_runs, d.failed_runs, d.last_status, d.last_failure, d.non_blank_rows, d.failed_rows, d.error_rate
    from buyer_sync.daily_error_rate d
   where d.day > now() - interval '30 days'
   order by d.day;
comment on view buyer_sync_api.daily_error_rate is
  E'@primaryKey day\n@behavior -connection +list\nPer day over the last 30 days (the database''s TimeZone), oldest first: full syncs finished and failed, and the error rate of the day''s last full sync (a failed run counts 100 %: it wrote nothing).';
comment on column buyer_sync_api.daily_error_rate.day is E'@notNull\nThe day (a date).';
comment on column buyer_sync_api.daily_error_rate.full_runs is E'@notNull\nFull syncs that finished (succeeded or failed) that day.';
comment on column buyer_sync_api.daily_error_rate.failed_runs is E'@notNull\nOf them, failed (wrote nothing).';
comment on column buyer_sync_api.daily_error_rate.last_status is E'@notNull\nsucceeded or failed: the day''s last full sync.';
comment on column buyer_sync_api.daily_error_rate.last_failure is E'Why the day''s last full sync failed; null: it succeeded.';
comment on column buyer_sync_api.daily_error_rate.non_blank_rows is E'@notNull\nNon-blank rows the day''s last full sync read.';
comment on column buyer_sync_api.daily_error_rate.failed_rows is E'@notNull\nOf them, not written: its failed rows, or all of them when it failed.';
comment on column buyer_sync_api.daily_error_rate.error_rate is E'@notNull\nfailed_rows in percent of non_blank_rows; 100 when the run failed.';

create view buyer_sync_api.daily_failing_buyers as
  select d.day::date as day, d.error_type, d.buyers, d.buyers_all_types
    from buyer_sync.daily_failing_buyers d
   where d.day > now() - interval '30 days'
   order by d.day, d.error_type;
comment on view buyer_sync_api.daily_failing_buyers is
  E'@primaryKey day,error_type\n@behavior -connection +list\nDistinct failing buyers per day and error type over the last 30 days, however often each was retried or synced; a row without a buyer number counts once by its row.';
comment on column buyer_sync_api.daily_failing_buyers.day is E'@notNull\nThe day (a date).';
comment on column buyer_sync_api.daily_failing_buyers.error_type is E'@notNull\nfield_length, data_type, constraint_violation, transient or unknown.';
comment on column buyer_sync_api.daily_failing_buyers.buyers is E'@notNull\nDistinct buyers that failed with this type that day.';
comment on column buyer_sync_api.daily_failing_buyers.buyers_all_types is E'@notNull\nDistinct buyers that failed that day, any type.';

/* Redaction everywhere: the same columns as before, their text through buyer_sync_private.redact_ids. */
create or replace view buyer_sync_api.recent_errors as
  select e.id, e.created_at, e.run_id, e.buyer_number, e.row_number, e.column_name, e.error_type,
         buyer_sync_private.redact_ids(e.error_message) as error_message, e.retryable
    from public.sync_error_log e
   order by e.created_at desc, e.id
   limit 200;
comment on column buyer_sync_api.recent_errors.error_message is
  E'@notNull\nThe column, the rule and, for lengths, the length; redacted (no paths, URLs or spreadsheet ids). Never a cell value.';

create or replace view buyer_sync_api.retry_entries as
  select q.id, q.buyer_number, q.row_number, q.status, q.attempt_count, q.next_retry_at, q.created_at, q.updated_at,
         q.error_info->>'error_type' as error_type, q.error_info->>'column_name' as column_name,
         buyer_sync_private.redact_ids(q.error_info->>'error_message') as error_message
    from public.retry_queue q
   where q.status in ('pending', 'processing')
   order by q.next_retry_at, q.id
   limit 1000;

create or replace view buyer_sync_api.verification as
  select v.id, v.created_at, v.trigger, v.run_id,
         case when v.source like 'gsheets:%' then 'google_sheet' else 'csv' end as source_kind,
         v.passed, v.complete, v.accurate, buyer_sync_private.redact_ids(v.summary) as summary,
         v.sample_size, v.missing_count, v.extra_count, v.unverifiable_count, v.mismatch_count, v.mismatched_buyers
    from buyer_sync.latest_verification v;

create or replace view buyer_sync_api.alerts as
  select a.id, a.type, a.severity,
         case a.severity when 'critical' then 0 when 'error' then 1 when 'warning' then 2 else 3 end as severity_rank,
         buyer_sync_private.redact_ids(a.message) as message,
         buyer_sync_private.redact_ids((a.details - 'source')::text)::jsonb as details,
         a.created_at, a.delivered_at, buyer_sync_private.redact_ids(a.delivery_error) as delivery_error, a.acknowledged_at, t.what_to_do
    from buyer_sync.open_alerts a
    join buyer_sync.alert_types t on t.type = a.type
   order by severity_rank, a.created_at desc, a.id;
comment on column buyer_sync_api.alerts.details is
  E'@notNull\nThe alert''s details without the sheet''s address, redacted (no paths, URLs or spreadsheet ids). A permanent-failure alert''s buyerNumbers names every buyer it concerns.';

create or replace view buyer_sync_api.dashboard_summary as
  select s.last_sync_time, s.error_rate, s.row_success_rate, s.runs_24h, s.failed_runs_24h, s.run_success_rate_24h,
         s.missing_count, s.extra_count, s.spreadsheet_count, s.database_count, s.sheet_read_at, s.retry_queue_size,
         s.oldest_retry_at, s.permanent_failures, s.open_alerts, s.last_sync_duration_ms, s.last_sync_rows_per_second,
         s.last_verification_at, s.last_verification_passed,
         buyer_sync_private.redact_ids(s.last_verification_summary) as last_verification_summary,
         s.last_check_healthy, s.last_check_time
    from buyer_sync.dashboard_summary s;
comment on column buyer_sync_api.dashboard_summary.permanent_failures is
  E'@notNull\nBuyers named by open permanent-failure alerts (the alerts group them by run).';

-- The views' functions run with their reader's execute rights (058): redact_ids is granted already.
grant execute on function buyer_sync_private.next_cron_time(text, timestamptz) to buyer_sync_dashboard;
grant select on buyer_sync_api.current_verdict, buyer_sync_api.daily_error_rate, buyer_sync_api.daily_failing_buyers to buyer_sync_dashboard;
grant execute on function buyer_sync_api.verdict() to buyer_sync_dashboard;

-- migrate:down

-- The previous definitions (058, 060, 061), restored; the grouped alerts stay as they are (a down cannot split them into one per buyer).
drop function buyer_sync_api.verdict();
drop view buyer_sync_api.current_verdict;
drop view buyer_sync_api.daily_error_rate;
drop view buyer_sync_api.daily_failing_buyers;
create or replace view buyer_sync_api.dashboard_summary as
SELECT s.last_sync_time,
    s.error_rate,
    s.row_success_rate,
    s.runs_24h,
    s.failed_runs_24h,
    s.run_success_rate_24h,
    s.missing_count,
    s.extra_count,
    s.spreadsheet_count,
    s.database_count,
    s.sheet_read_at,
    s.retry_queue_size,
    s.oldest_retry_at,
    s.permanent_failures,
    s.open_alerts,
    s.last_sync_duration_ms,
    s.last_sync_rows_per_second,
    s.last_verification_at,
    s.last_verification_passed,
    s.last_verification_summary,
    s.last_check_healthy,
    s.last_check_time
   FROM buyer_sync.dashboard_summary s;
comment on column buyer_sync_api.dashboard_summary.permanent_failures is E'@notNull\nOpen permanent-failure alerts (one per buyer).';
create or replace view buyer_sync_api.alerts as
SELECT a.id,
    a.type,
    a.severity,
        CASE a.severity
            WHEN 'critical'::text THEN 0
            WHEN 'error'::text THEN 1
            WHEN 'warning'::text THEN 2
            ELSE 3
        END AS severity_rank,
    buyer_sync_private.redact_ids(a.message) AS message,
    buyer_sync_private.redact_ids((a.details - 'source'::text)::text)::jsonb AS details,
    a.created_at,
    a.delivered_at,
    a.delivery_error,
    a.acknowledged_at,
    t.what_to_do
   FROM buyer_sync.open_alerts a
     JOIN buyer_sync.alert_types t ON t.type = a.type
  ORDER BY (
        CASE a.severity
            WHEN 'critical'::text THEN 0
            WHEN 'error'::text THEN 1
            WHEN 'warning'::text THEN 2
            ELSE 3
        END), a.created_at DESC, a.id;
comment on column buyer_sync_api.alerts.details is E'@notNull\nThe alert''s details without the sheet''s address (spreadsheet ids show as <id>).';
create or replace view buyer_sync_api.verification as
SELECT v.id,
    v.created_at,
    v.trigger,
    v.run_id,
        CASE
            WHEN v.source ~~ 'gsheets:%'::text THEN 'google_sheet'::text
            ELSE 'csv'::text
        END AS source_kind,
    v.passed,
    v.complete,
    v.accurate,
    v.summary,
    v.sample_size,
    v.missing_count,
    v.extra_count,
    v.unverifiable_count,
    v.mismatch_count,
    v.mismatched_buyers
   FROM buyer_sync.latest_verification v;
create or replace view buyer_sync_api.retry_entries as
SELECT q.id,
    q.buyer_number,
    q.row_number,
    q.status,
    q.attempt_count,
    q.next_retry_at,
    q.created_at,
    q.updated_at,
    q.error_info ->> 'error_type'::text AS error_type,
    q.error_info ->> 'column_name'::text AS column_name,
    q.error_info ->> 'error_message'::text AS error_message
   FROM retry_queue q
  WHERE q.status = ANY (ARRAY['pending'::text, 'processing'::text])
  ORDER BY q.next_retry_at, q.id
 LIMIT 1000;
create or replace view buyer_sync_api.recent_errors as
SELECT e.id,
    e.created_at,
    e.run_id,
    e.buyer_number,
    e.row_number,
    e.column_name,
    e.error_type,
    e.error_message,
    e.retryable
   FROM sync_error_log e
  ORDER BY e.created_at DESC, e.id
 LIMIT 200;
comment on column buyer_sync_api.recent_errors.error_message is E'@notNull\nThe column, the rule and, for lengths, the length. Never a cell value.';
drop view buyer_sync.verdict;
drop view buyer_sync.daily_failing_buyers;
drop view buyer_sync.daily_error_rate;
create or replace view buyer_sync.current_health as
SELECT l.finished_at AS last_sync_time,
    l.run_id AS last_run_id,
    COALESCE(l.error_rate, 0::numeric)::numeric(5,2) AS error_rate,
    (( SELECT count(*) AS count
           FROM buyer_sync.missing_buyers))::integer AS missing_count,
    (( SELECT count(*) AS count
           FROM buyer_sync.extra_buyers))::integer AS extra_count,
    (( SELECT count(*) AS count
           FROM buyer_sync_private.sheet_buyers))::integer AS spreadsheet_count,
    (( SELECT count(*) AS count
           FROM buyers))::integer AS database_count,
    ( SELECT sheet_snapshot.read_at
           FROM buyer_sync_private.sheet_snapshot) AS sheet_read_at,
    (( SELECT count(*) AS count
           FROM retry_queue q
          WHERE q.status = ANY (ARRAY['pending'::text, 'processing'::text])))::integer AS retry_queue_size,
    ( SELECT min(q.created_at) AS min
           FROM retry_queue q
          WHERE q.status = ANY (ARRAY['pending'::text, 'processing'::text])) AS oldest_retry_at,
    (( SELECT count(*) AS count
           FROM sync_alerts a
          WHERE a.type = 'permanent_failure'::text AND a.resolved_at IS NULL AND a.resolves IS NULL))::integer AS permanent_failures,
    l.duration_ms AS last_sync_duration_ms,
    l.rows_per_second AS last_sync_rows_per_second,
    ( SELECT max(r.started_at) AS max
           FROM sync_runs r
          WHERE r.status = 'failed'::text) AS last_failed_run_at,
    (( SELECT count(*) AS count
           FROM sync_alerts a
          WHERE a.resolved_at IS NULL AND a.resolves IS NULL))::integer AS open_alerts
   FROM ( SELECT 1 AS "?column?") one
     LEFT JOIN buyer_sync.last_full_sync l ON true;
comment on column buyer_sync.current_health.permanent_failures is null;
CREATE OR REPLACE FUNCTION buyer_sync.check_health(extra_issues text[] DEFAULT '{}'::text[])
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
declare
  h record;
  raised jsonb;
  issues text[];
  metrics_id uuid;
begin
  select coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'type', a.type, 'severity', a.severity,
                                               'resolved', a.resolves is not null) order by a.created_at), '[]'::jsonb)
    into raised
    from buyer_sync.evaluate_alerts() a;
  select * into h from buyer_sync.current_health;
  issues := array(
    select c.message from buyer_sync.health_conditions() c where c.active
    union all
    select format('%s buyer(s) failed for good and still do (permanent_failure alerts open)', h.permanent_failures)
     where h.permanent_failures > 0
    union all
    -- Open alerts that no condition above judges (verification_failed): unhealthy until they resolve.
    select a.message from public.sync_alerts a
     where a.resolved_at is null and a.resolves is null
       and a.type not in ('missing_buyers', 'high_error_rate', 'slow_sync', 'stale_sync', 'permanent_failure')
    union all
    select 'no full sync has succeeded yet' where h.last_run_id is null
    union all
    select unnest(extra_issues));
  insert into public.sync_health_metrics
    (spreadsheet_count, database_count, missing_count, extra_count, error_rate, sync_duration_ms, throughput_per_second,
     retry_queue_size, last_sync_at, run_id, healthy, issues)
  values (h.spreadsheet_count, h.database_count, h.missing_count, h.extra_count, h.error_rate, h.last_sync_duration_ms,
          h.last_sync_rows_per_second, h.retry_queue_size, h.last_sync_time, h.last_run_id, cardinality(issues) = 0, issues)
  returning id into metrics_id;
  return jsonb_build_object(
    'healthy', cardinality(issues) = 0,
    'issues', to_jsonb(issues),
    'missing_count', h.missing_count,
    'error_rate', h.error_rate,
    'last_sync_time', h.last_sync_time,
    'retry_queue_size', h.retry_queue_size,
    'extra_count', h.extra_count,
    'spreadsheet_count', h.spreadsheet_count,
    'database_count', h.database_count,
    'sheet_read_at', h.sheet_read_at,
    'check_id', metrics_id,
    'alerts', raised);
end $function$;
CREATE OR REPLACE FUNCTION buyer_sync.health_conditions()
 RETURNS TABLE(type text, condition text, active boolean, message text, details jsonb)
 LANGUAGE sql
 STABLE
AS $function$
  with t as (select * from buyer_sync_private.thresholds()),
       -- Once: each reference to a column of the view would otherwise compute its set difference again.
       h as materialized (select missing_count, spreadsheet_count, database_count, sheet_read_at from buyer_sync.current_health),
       last_attempt as (select min(started_at) as first_at from public.sync_runs where mode = 'full'),
       -- The sheet was last known to be in the database: a full sync that succeeded, or a scheduled one that found it
       -- unchanged (not one skipped because another run held the lock: that one saw nothing).
       last_seen as (select max(coalesce(finished_at, started_at)) as at from public.sync_runs
                      where mode = 'full' and (status = 'succeeded' or (status = 'skipped' and coalesce(skipped_kind, 'unchanged') = 'unchanged'))),
       ever as (select exists (select 1 from public.sync_runs where mode = 'full' and status = 'succeeded') as synced)
  -- Before the first full sync every buyer is missing: that is a sheet not synced yet, and said so.
  select 'missing_buyers', 'missing_buyers', h.missing_count > t.missing_buyers_max or (not e.synced and h.missing_count > 0),
         case when e.synced
              then format('%s buyer(s) on the sheet are not in the database (threshold %s); buyer-sync missing lists them',
                          h.missing_count, t.missing_buyers_max)
              else format('the sheet has not been synced yet: its %s buyer(s) are not in the database until the first full sync succeeds (buyer-sync sync, or the worker''s first run)',
                          h.missing_count) end,
         jsonb_build_object('missing_count', h.missing_count, 'threshold', t.missing_buyers_max,
                            'spreadsheet_count', h.spreadsheet_count, 'database_count', h.database_count,
                            'sheet_read_at', h.sheet_read_at,
                            'first_missing', case when h.missing_count = 0 then '[]'::jsonb
                                                  else (select coalesce(jsonb_agg(m.buyer_number order by m.row_number), '[]'::jsonb)
                                                          from (select buyer_number, row_number from buyer_sync.missing_buyers
                                                                 order by row_number limit 20) m) end,
                            'synced_yet', e.synced)
    from t, h, ever e
  union all
  -- Compared unrounded: 5.0025 % is above 5 %, though it shows as 5.00.
  select 'high_error_rate', 'high_error_rate', coalesce(100.0 * l.failed > t.error_rate_max * l.non_blank_rows, false),
         format('the last full sync failed on %s%% of its non-blank rows (%s of %s; threshold %s%%); buyer-sync errors --run %s lists them',
                l.error_rate, l.failed, l.non_blank_rows, t.error_rate_max, l.run_id),
         jsonb_build_object('error_rate', l.error_rate, 'threshold', t.error_rate_max, 'failed', l.failed,
                            'non_blank_rows', l.non_blank_rows, 'errors_by_type', l.errors_by_type, 'run_id', l.run_id)
    from t left join buyer_sync.last_full_sync l on true
  union all
  select 'slow_sync', 'slow_sync', coalesce(l.duration_ms > extract(epoch from t.slow_sync_after) * 1000, false),
         format('the last full sync took %s s (limit %s s; %s rows/s)',
                round(l.duration_ms / 1000.0, 1), extract(epoch from t.slow_sync_after)::bigint, l.rows_per_second),
         jsonb_build_object('duration_ms', l.duration_ms, 'limit_ms', (extract(epoch from t.slow_sync_after) * 1000)::bigint,
                            'rows', l.total_rows, 'rows_per_second', l.rows_per_second, 'run_id', l.run_id)
    from t left join buyer_sync.last_full_sync l on true
  union all
  select 'stale_sync', 'stale_sync',
         coalesce(now() - coalesce(s.at, a.first_at) > t.stale_after, false),
         case when s.at is null
              then format('no full sync has succeeded since the first attempt at %s (limit %s)', a.first_at, t.stale_after)
              else format('no full sync has succeeded since %s (limit %s)', s.at, t.stale_after) end,
         jsonb_build_object('last_sync_time', l.finished_at, 'last_seen_unchanged_at', s.at, 'first_attempt_at', a.first_at, 'stale_after', t.stale_after::text,
                            'latest_failures', (select coalesce(jsonb_agg(jsonb_build_object('run_id', f.id, 'started_at', f.started_at,
                                                                                        'failure', f.failure, 'error_message', f.error_message)
                                                                     order by f.started_at desc), '[]'::jsonb)
                                                  from (select id, started_at, failure, error_message from public.sync_runs
                                                         where mode = 'full' and status = 'failed'
                                                         order by started_at desc limit 3) f))
    from t cross join last_attempt a cross join last_seen s left join buyer_sync.last_full_sync l on true
$function$;
CREATE OR REPLACE FUNCTION buyer_sync.evaluate_alerts()
 RETURNS SETOF sync_alerts
 LANGUAGE plpgsql
AS $function$
declare
  c record;
  a public.sync_alerts;
begin
  for c in select * from buyer_sync_private.health_conditions_at_once() loop
    if c.active then
      -- An open alert follows its condition: its text and figures are the latest (it is not delivered again).
      update public.sync_alerts s set message = c.message, details = c.details
       where s.condition = c.condition and s.resolved_at is null and s.resolves is null
         and (s.message, s.details) is distinct from (c.message, c.details);
      return query
        insert into public.sync_alerts (type, severity, condition, message, details)
        select c.type, t.severity, c.condition, c.message, c.details from buyer_sync.alert_types t where t.type = c.type
        on conflict (md5(condition)) where resolved_at is null and resolves is null do nothing
        returning *;
    else
      for a in
        update public.sync_alerts s set resolved_at = clock_timestamp()
         where s.condition = c.condition and s.resolved_at is null and s.resolves is null
        returning s.*
      loop
        return query select * from buyer_sync_private.resolve_notice(a, c.details);
      end loop;
    end if;
  end loop;

  /*
   * A permanent failure clears once the buyer was written after it (a row in
   * sync_buyer_changes, or inserted since), or a retry of it succeeded, or a
   * later full sync went by without any failure of the buyer while it is in
   * buyers (its row put back as it was) or no longer on the sheet. A buyer
   * whose row still fails, in any way, stays open.
   */
  for a in
    update public.sync_alerts s set resolved_at = clock_timestamp()
     where s.type = 'permanent_failure' and s.resolved_at is null and s.resolves is null
       and (exists (select 1 from public.sync_buyer_changes ch
                     where ch.buyer_number = s.details->>'buyer_number' and ch.changed_at > s.created_at)
            or exists (select 1 from public.buyers b
                        where b.buyer_number = s.details->>'buyer_number' and b.created_at > s.created_at)
            or exists (select 1 from public.retry_queue q
                        where q.buyer_number = s.details->>'buyer_number' and q.status = 'succeeded'
                          and q.resolved_at > s.created_at)
            or (exists (select 1 from public.sync_runs r
                         where r.mode = 'full' and r.status = 'succeeded' and r.started_at > s.created_at
                           and r.id is distinct from (s.details->>'run_id')::uuid
                           and not exists (select 1 from public.sync_error_log e
                                            where e.run_id = r.id and e.buyer_number = s.details->>'buyer_number'))
                and (exists (select 1 from public.buyers b where b.buyer_number = s.details->>'buyer_number')
                     or not exists (select 1 from buyer_sync_private.sheet_buyers k where k.buyer_number = s.details->>'buyer_number'))))
    returning s.*
  loop
    return query select * from buyer_sync_private.resolve_notice(a, jsonb_build_object('buyer_number', a.details->>'buyer_number'));
  end loop;
end $function$;
comment on function buyer_sync.evaluate_alerts() is
  E'Raises an alert for each condition of buyer_sync.health_conditions() that holds and has no open alert, resolves the open alerts whose condition cleared (with an info notice each), and returns the alerts and notices it raised. Every sync run calls it; so does buyer_sync.check_health().';
drop function buyer_sync_private.permanent_failure_cleared(text, timestamptz, uuid);
CREATE OR REPLACE FUNCTION buyer_sync_private.alert_permanent_failure()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
begin
  insert into public.sync_alerts (type, severity, condition, message, details)
  values (
    'permanent_failure', 'critical', 'permanent_failure:' || new.buyer_number,
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
      'run_id', new.last_run_id))
  on conflict (md5(condition)) where resolved_at is null and resolves is null do nothing;
  return null;
end $function$;
comment on function buyer_sync_private.alert_permanent_failure() is null;
drop function buyer_sync_private.permanent_failure_message(jsonb);
drop function buyer_sync_private.permanent_failure_details(jsonb, jsonb);
update buyer_sync.alert_types
   set raised_when = 'A buyer failed every scheduled retry (buyer_sync.retry_schedule), or failed in a way retrying cannot fix while it had retries pending.'
 where type = 'permanent_failure';
-- rows_rejected alerts go with their type (their notices too).
delete from public.sync_alerts where type = 'rows_rejected';
delete from buyer_sync.alert_types where type = 'rows_rejected';
drop function buyer_sync_private.next_cron_time(text, timestamptz);
drop function buyer_sync_private.cron_field_matches(text, integer, integer, integer);
drop function buyer_sync.record_schedule(text, text);
drop table buyer_sync_private.schedules;
CREATE OR REPLACE FUNCTION buyer_sync_private.redact_ids(t text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
AS $function$ select regexp_replace(t, '[A-Za-z0-9_-]{40,}', '<id>', 'g') $function$;
comment on function buyer_sync_private.redact_ids(text) is
  E'Replaces every run of 40 or more [A-Za-z0-9_-] (a Google spreadsheet id) with <id>: for text the API shows.';
