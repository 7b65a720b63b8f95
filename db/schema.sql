\restrict GqFvdLriS1l4cCyXVZQPVIa2bonS4MYVFGEOZMfgLCMTFnWDO0hAgQ6zNnR1aMh

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: buyer_sync; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA buyer_sync;


--
-- Name: SCHEMA buyer_sync; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA buyer_sync IS 'buyer-sync''s views and functions for analysts and operators.';


--
-- Name: buyer_sync_api; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA buyer_sync_api;


--
-- Name: SCHEMA buyer_sync_api; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA buyer_sync_api IS 'The dashboard''s API (GraphQL at /graphql): views and functions without personal data. Owner-rights views: the dashboard role reads them, never the tables under them.';


--
-- Name: buyer_sync_private; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA buyer_sync_private;


--
-- Name: SCHEMA buyer_sync_private; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA buyer_sync_private IS 'buyer-sync''s internal state. Not an API.';


--
-- Name: graphile_worker; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA graphile_worker;


--
-- Name: job_spec; Type: TYPE; Schema: graphile_worker; Owner: -
--

CREATE TYPE graphile_worker.job_spec AS (
	identifier text,
	payload json,
	queue_name text,
	run_at timestamp with time zone,
	max_attempts smallint,
	job_key text,
	priority smallint,
	flags text[]
);


--
-- Name: acknowledge_alert(uuid); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.acknowledge_alert(alert_id uuid) RETURNS timestamp with time zone
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  a public.sync_alerts;
begin
  select * into a from public.sync_alerts s where s.id = alert_id for update;
  if not found or a.resolves is not null then
    raise exception 'no alert %', alert_id using errcode = 'P0002';
  end if;
  if a.resolved_at is not null then
    raise exception 'alert % was resolved at %: nothing to acknowledge', alert_id, a.resolved_at using errcode = '55000';
  end if;
  update public.sync_alerts s set acknowledged_at = coalesce(s.acknowledged_at, clock_timestamp())
   where s.id = alert_id
  returning s.acknowledged_at into a.acknowledged_at;
  return a.acknowledged_at;
end $$;


--
-- Name: FUNCTION acknowledge_alert(alert_id uuid); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.acknowledge_alert(alert_id uuid) IS 'Marks an open alert as acknowledged (someone is on it) and returns when; acknowledging it again keeps the first time. It stays open until its condition clears.';


--
-- Name: approve_mass_change(interval); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.approve_mass_change(valid_for interval DEFAULT '1 day'::interval) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  approval bigint;
begin
  if valid_for is null or valid_for <= interval '0' or valid_for > interval '7 days' then
    raise exception 'approve_mass_change takes a validity between 0 and 7 days, got %', valid_for using errcode = '22023';
  end if;
  insert into buyer_sync_private.mass_change_approvals (expires_at)
  values (clock_timestamp() + valid_for)
  returning id into approval;
  return approval;
end $$;


--
-- Name: FUNCTION approve_mass_change(valid_for interval); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.approve_mass_change(valid_for interval) IS 'Lets the next sync run that the mass-change guard would refuse go through, once (within valid_for, default a day); returns the approval''s id. Request the sync with buyer_sync.request_sync(), or wait for the schedule.';


--
-- Name: buyer_number_max_length(); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.buyer_number_max_length() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ select 200 $$;


--
-- Name: FUNCTION buyer_number_max_length(); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.buyer_number_max_length() IS 'The longest buyer number, in characters, a sheet row may carry. A longer one fails its row as field_length (the row is logged and queued, never written to buyers). 200 characters are at most 800 bytes, far below the ~2.7 kB a btree entry may take.';


--
-- Name: check_health(text[]); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.check_health(extra_issues text[] DEFAULT '{}'::text[]) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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
end $$;


--
-- Name: FUNCTION check_health(extra_issues text[]); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.check_health(extra_issues text[]) IS 'One health check (buyer-sync health, and the worker every 5 minutes, after refreshing the sheet''s snapshot): evaluates the alerts, writes a sync_health_metrics row and returns the health as JSON. extra_issues: what the caller found itself (the sheet could not be read).';


--
-- Name: error_rate(timestamp with time zone, timestamp with time zone, text); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.error_rate(since timestamp with time zone, until timestamp with time zone DEFAULT 'infinity'::timestamp with time zone, mode text DEFAULT NULL::text) RETURNS numeric
    LANGUAGE sql STABLE
    AS $$
  select coalesce(round(100.0 * sum(r.failed) / nullif(sum(r.total_rows - r.blank_rows), 0), 2), 0)::numeric(5, 2)
    from public.sync_runs r
   where r.status = 'succeeded' and r.started_at >= since and r.started_at < until
     and (error_rate.mode is null or r.mode = error_rate.mode)
$$;


--
-- Name: FUNCTION error_rate(since timestamp with time zone, until timestamp with time zone, mode text); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.error_rate(since timestamp with time zone, until timestamp with time zone, mode text) IS 'Percent of the non-blank rows read by the runs that succeeded in [since, until) (of one mode, if given) that failed.';


--
-- Name: error_stats(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.error_stats(since timestamp with time zone DEFAULT '-infinity'::timestamp with time zone, until timestamp with time zone DEFAULT 'infinity'::timestamp with time zone) RETURNS TABLE(error_type text, error_count bigint, retryable_count bigint, buyer_count bigint)
    LANGUAGE sql STABLE
    AS $$
  select e.error_type, count(*), count(*) filter (where e.retryable), count(distinct e.buyer_number)
    from public.sync_error_log e
   where e.created_at >= since and e.created_at < until
   group by e.error_type
   order by e.error_type
$$;


--
-- Name: FUNCTION error_stats(since timestamp with time zone, until timestamp with time zone); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.error_stats(since timestamp with time zone, until timestamp with time zone) IS 'Error counts by type between since (inclusive) and until (exclusive).';


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: sync_alerts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sync_alerts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    type text NOT NULL,
    severity text NOT NULL,
    message text NOT NULL,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    delivered_at timestamp with time zone,
    condition text NOT NULL,
    resolved_at timestamp with time zone,
    resolves uuid,
    delivery_attempts integer DEFAULT 0 NOT NULL,
    delivery_error text,
    acknowledged_at timestamp with time zone,
    CONSTRAINT sync_alerts_acknowledged_is_open CHECK (((acknowledged_at IS NULL) OR (resolves IS NULL))),
    CONSTRAINT sync_alerts_delivery_attempts_check CHECK ((delivery_attempts >= 0)),
    CONSTRAINT sync_alerts_notice_is_closed CHECK (((resolves IS NULL) OR (resolved_at IS NULL))),
    CONSTRAINT sync_alerts_notice_is_info CHECK (((resolves IS NULL) OR (severity = 'info'::text))),
    CONSTRAINT sync_alerts_severity_check CHECK ((severity = ANY (ARRAY['info'::text, 'warning'::text, 'error'::text, 'critical'::text])))
);


--
-- Name: TABLE sync_alerts; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.sync_alerts IS 'Every alert raised. delivered_at is set once the alert webhook accepted it.';


--
-- Name: COLUMN sync_alerts.type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_alerts.type IS 'missing_buyers, high_error_rate, permanent_failure, slow_sync, stale_sync or verification_failed (buyer_sync.alert_types); a resolved notice has its alert''s type.';


--
-- Name: COLUMN sync_alerts.delivered_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_alerts.delivered_at IS 'When ALERT_WEBHOOK_URL accepted the alert (2xx); set once. Null: not delivered (no webhook configured, or the receiver failed: delivery_error).';


--
-- Name: COLUMN sync_alerts.condition; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_alerts.condition IS 'What the alert is about: its type, or permanent_failure:<buyer number>. At most one open alert per condition.';


--
-- Name: COLUMN sync_alerts.resolved_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_alerts.resolved_at IS 'When the condition cleared; null while it lasts (or for a resolved notice).';


--
-- Name: COLUMN sync_alerts.resolves; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_alerts.resolves IS 'For a resolved notice (severity info): the alert whose condition cleared.';


--
-- Name: COLUMN sync_alerts.delivery_attempts; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_alerts.delivery_attempts IS 'POSTs tried so far.';


--
-- Name: COLUMN sync_alerts.delivery_error; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_alerts.delivery_error IS 'Why the last POST failed (HTTP status, connection refused, timeout); null once delivered.';


--
-- Name: COLUMN sync_alerts.acknowledged_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_alerts.acknowledged_at IS 'When an operator acknowledged the open alert (someone is on it). It stays open until its condition clears.';


--
-- Name: evaluate_alerts(); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.evaluate_alerts() RETURNS SETOF public.sync_alerts
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: FUNCTION evaluate_alerts(); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.evaluate_alerts() IS 'Raises an alert for each condition of buyer_sync.health_conditions() that holds and has no open alert (an open one follows its condition''s text), resolves the open alerts whose condition cleared (with an info notice each), resolves a permanent-failure alert once every buyer it names has cleared, and returns the alerts and notices it raised. Every sync run calls it; so does buyer_sync.check_health().';


--
-- Name: fold_key(text); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.fold_key(key text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN btrim(NORMALIZE(regexp_replace(NORMALIZE(key, NFKC), '[\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u115f-\u1160\u17b4-\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]'::text, ''::text, 'g'::text), NFKC), '
                  　'::text);


--
-- Name: FUNCTION fold_key(key text); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.fold_key(key text) IS 'A buyer number as a person reads it: NFKC, without invisible format characters (Unicode Cf and Default_Ignorable_Code_Point: zero-width spaces, word joiner, soft hyphen, bidi marks, BOM, variation selectors…), NFKC again, surrounding white space trimmed. Two buyer numbers with the same fold are one buyer written two ways; a number that folds to '''' is no number. The same fold as the sync''s (src/sync/lookalikes.ts). Printable ASCII without surrounding spaces is its own fold.';


--
-- Name: hash_part(date); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.hash_part(value date) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ select buyer_sync.hash_part((value - date '2000-01-01')::text) $$;


--
-- Name: FUNCTION hash_part(value date); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.hash_part(value date) IS 'How a date enters a content hash: its days since 2000-01-01, as text.';


--
-- Name: hash_part(bigint); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.hash_part(value bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ select buyer_sync.hash_part(value::text) $$;


--
-- Name: FUNCTION hash_part(value bigint); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.hash_part(value bigint) IS 'How a bigint enters a content hash: its decimal text.';


--
-- Name: hash_part(text); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.hash_part(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ select coalesce('v' || octet_length(value)::text || ':' || value, 'n') $$;


--
-- Name: FUNCTION hash_part(value text); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.hash_part(value text) IS 'How a text value enters a content hash: n for null, v<bytes>:<text> otherwise, so no two different rows encode alike.';


--
-- Name: health_conditions(); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.health_conditions() RETURNS TABLE(type text, condition text, active boolean, message text, details jsonb)
    LANGUAGE plpgsql STABLE
    AS $$
#variable_conflict use_column
begin
  -- Each statement reads the thresholds itself (one row): it stands alone, with a plan of its own.
  return query
  with t as (select * from buyer_sync_private.thresholds()),
       -- Once: each reference to a column of the view would otherwise compute its set difference again.
       h as materialized (select missing_count, spreadsheet_count, database_count, sheet_read_at from buyer_sync.current_health),
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
    from t, h, ever e;
  return query
  with t as (select * from buyer_sync_private.thresholds())
  -- Compared unrounded: 5.0025 % is above 5 %, though it shows as 5.00.
  select 'high_error_rate', 'high_error_rate', coalesce(100.0 * l.failed > t.error_rate_max * l.non_blank_rows, false),
         format('the last full sync failed on %s%% of its non-blank rows (%s of %s; threshold %s%%); buyer-sync errors --run %s lists them',
                l.error_rate, l.failed, l.non_blank_rows, t.error_rate_max, l.run_id),
         jsonb_build_object('error_rate', l.error_rate, 'threshold', t.error_rate_max, 'failed', l.failed,
                            'non_blank_rows', l.non_blank_rows, 'errors_by_type', l.errors_by_type, 'run_id', l.run_id)
    from t left join buyer_sync.last_full_sync l on true;
  return query
  with t as (select * from buyer_sync_private.thresholds())
  select 'slow_sync', 'slow_sync', coalesce(l.duration_ms > extract(epoch from t.slow_sync_after) * 1000, false),
         format('the last full sync took %s s (limit %s s; %s rows/s)',
                round(l.duration_ms / 1000.0, 1), extract(epoch from t.slow_sync_after)::bigint, l.rows_per_second),
         jsonb_build_object('duration_ms', l.duration_ms, 'limit_ms', (extract(epoch from t.slow_sync_after) * 1000)::bigint,
                            'rows', l.total_rows, 'rows_per_second', l.rows_per_second, 'run_id', l.run_id)
    from t left join buyer_sync.last_full_sync l on true;
  return query
  with t as (select * from buyer_sync_private.thresholds()),
       last_attempt as (select min(started_at) as first_at from public.sync_runs where mode = 'full'),
       -- The sheet was last known to be in the database: a full sync that succeeded, or a scheduled one that found it
       -- unchanged (not one skipped because another run held the lock: that one saw nothing).
       last_seen as (select max(coalesce(finished_at, started_at)) as at from public.sync_runs
                      where mode = 'full' and (status = 'succeeded' or (status = 'skipped' and coalesce(skipped_kind, 'unchanged') = 'unchanged')))
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
    from t cross join last_attempt a cross join last_seen s left join buyer_sync.last_full_sync l on true;
  return query
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
    ) rj on true;
end
$$;


--
-- Name: FUNCTION health_conditions(); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.health_conditions() IS 'The conditions that raise alerts and whether each holds now (missing_buyers, high_error_rate, slow_sync, stale_sync), with the message and details an alert would carry. Permanent failures are raised as they happen (one per buyer).';


--
-- Name: is_own_report_version(text, text, text); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.is_own_report_version(spreadsheet_id text, read_version text, current_version text) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
  select exists (
    select 1 from buyer_sync_private.report_state s
     where split_part(s.target, '!', 1) = 'gsheets:' || spreadsheet_id
       and s.read_version = read_version and s.own_version = current_version)
$$;


--
-- Name: FUNCTION is_own_report_version(spreadsheet_id text, read_version text, current_version text); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.is_own_report_version(spreadsheet_id text, read_version text, current_version text) IS 'True when current_version is the Drive version buyer-sync''s own report write produced from read_version (the version the last full sync read) with nothing else changing the file meanwhile: src/sync/unchanged.ts treats it as unchanged.';


--
-- Name: mapping_column_problems(jsonb); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.mapping_column_problems(mapping jsonb) RETURNS TABLE(column_name text, problem text)
    LANGUAGE sql STABLE
    AS $$
  with target as (
    select to_regclass(format('public.%I', mapping->>'table')) as oid, mapping->>'table' as name
  ),
  mapped as (
    select c->>'column' as column_name, c->>'type' as mapped_type, c->>'header' as header, ord
      from jsonb_array_elements(mapping->'columns') with ordinality as e(c, ord)
  ),
  columns as (
    -- Each column with its type, domains looked through.
    select a.attname::text as column_name, a.attnum, a.attgenerated, a.attidentity,
           format_type(a.atttypid, a.atttypmod) as declared_type,
           (with recursive base as (
              select t.oid, t.typtype, t.typbasetype from pg_catalog.pg_type t where t.oid = a.atttypid
              union all
              select t.oid, t.typtype, t.typbasetype from base b join pg_catalog.pg_type t on t.oid = b.typbasetype
               where b.typtype = 'd')
            select b.oid from base b where b.typtype <> 'd') as base_type
      from target, pg_catalog.pg_attribute a
     where a.attrelid = target.oid and a.attnum > 0 and not a.attisdropped
  )
  select null::text, format('table public.%s does not exist: run `buyer-sync migrate`, or fix "table" in the column mapping', t.name)
    from target t where t.oid is null
  union all
  select m.column_name,
         format('%s.%s does not exist (the mapping reads header "%s" into it): add it with a migration, or fix the mapping',
                t.name, m.column_name, m.header)
    from mapped m, target t
   where t.oid is not null and not exists (select 1 from columns c where c.column_name = m.column_name)
  union all
  select m.column_name,
         format('%s.%s is %s, but the mapping reads header "%s" as %s: change the column''s type with a migration, or the mapping''s "type"',
                t.name, m.column_name, c.declared_type, m.header, m.mapped_type)
    from mapped m join columns c using (column_name), target t
   where case m.mapped_type
           when 'text' then c.base_type not in ('text'::regtype, 'character varying'::regtype, 'character'::regtype)
           when 'date' then c.base_type <> 'date'::regtype
           when 'bigint' then c.base_type <> 'bigint'::regtype
           else true
         end
  union all
  select m.column_name,
         format('%s.%s is a generated column (%s), which a sync cannot write: remove it from the column mapping',
                t.name, m.column_name, case when c.attgenerated <> '' then 'generated always as ...' else 'generated always as identity' end)
    from mapped m join columns c using (column_name), target t
   where c.attgenerated <> '' or c.attidentity = 'a'
  union all
  select k.column_name,
         format('%s.%s, the key, has no unique index of its own: add one with a migration (alter table %s add unique (%s)); a sync upserts on it',
                t.name, k.column_name, t.name, k.column_name)
    from target t join columns k on k.column_name = mapping->>'key'
   where not exists (
           select 1 from pg_catalog.pg_index i
            where i.indrelid = t.oid and i.indisunique and i.indimmediate and i.indisvalid
              and i.indpred is null and i.indexprs is null and i.indnkeyatts = 1 and i.indkey[0] = k.attnum)
  union all
  select b.column_name,
         format('%s.%s must exist as timestamptz (a sync records when it wrote each row): add it with a migration', t.name, b.column_name)
    from target t, (values ('created_at'), ('synced_at'), ('db_updated_at')) as b(column_name)
   where t.oid is not null
     and not exists (select 1 from columns c where c.column_name = b.column_name
                        and c.base_type = 'timestamp with time zone'::regtype and c.attgenerated = '')
$$;


--
-- Name: FUNCTION mapping_column_problems(mapping jsonb); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.mapping_column_problems(mapping jsonb) IS 'The column mapping checked against its table''s columns and key index: one row per problem, naming the column and the fix. Part of buyer_sync.mapping_problems.';


--
-- Name: mapping_problems(jsonb); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.mapping_problems(mapping jsonb) RETURNS TABLE(column_name text, problem text)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
#variable_conflict use_column
begin
  return query
  with problems as (
    select p.column_name, p.problem from buyer_sync.mapping_column_problems(mapping) p
  ),
  mapped as (
    select c->>'column' as col, c->>'type' as typ, ord from jsonb_array_elements(mapping->'columns') with ordinality as e(c, ord)
  ),
  hashed as (
    select h.column_name as col, h.column_type as typ, h.position as ord from buyer_sync_private.content_hash_columns h
  ),
  differs as (
    select (select string_agg(m.col, ', ' order by m.ord) from mapped m where not exists (select 1 from hashed h where h.col = m.col)) as added,
           (select string_agg(h.col, ', ' order by h.ord) from hashed h where not exists (select 1 from mapped m where m.col = h.col)) as dropped,
           (select string_agg(format('%s (%s, hashed as %s)', m.col, m.typ, h.typ), ', ' order by m.ord) from mapped m join hashed h using (col) where m.typ <> h.typ) as retyped,
           exists (select 1 from mapped m full join hashed h on h.ord = m.ord where m.col is distinct from h.col or m.typ is distinct from h.typ) as any_difference
  )
  select p.column_name, p.problem from problems p
  union all
  select 'content_hash',
         format('buyers.content_hash does not cover the mapped columns (%s), so every sync would hash every stored buyer on the fly: '
                'run `npx buyer-sync check-schema --fix` to write the migration that rebuilds it from the mapping, then `npx buyer-sync migrate`',
                concat_ws('; ',
                  'the mapping adds ' || d.added,
                  'the mapping no longer has ' || d.dropped,
                  'a changed type: ' || d.retyped,
                  case when d.added is null and d.dropped is null and d.retyped is null then 'the mapping lists them in another order' end))
    from differs d
   where mapping->>'table' = 'buyers' and not exists (select 1 from problems) and d.any_difference;
end
$$;


--
-- Name: FUNCTION mapping_problems(mapping jsonb); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.mapping_problems(mapping jsonb) IS 'The column mapping checked against its table before a sync reads the sheet: one row per problem, naming the column and the fix (buyer_sync.mapping_column_problems, and for buyers a content hash that does not cover the mapped columns); none when the mapping fits.';


--
-- Name: next_retry_at(integer, timestamp with time zone); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.next_retry_at(attempt integer, after timestamp with time zone DEFAULT now()) RETURNS timestamp with time zone
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ select after + s.delay from buyer_sync.retry_schedule s where s.attempt = next_retry_at.attempt $$;


--
-- Name: FUNCTION next_retry_at(attempt integer, after timestamp with time zone); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.next_retry_at(attempt integer, after timestamp with time zone) IS 'When the next attempt at a buyer is due after its attempt-th failure; null when that was the last (the entry fails for good).';


--
-- Name: prune_history(integer); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.prune_history(batch_size integer DEFAULT 5000) RETURNS TABLE(table_name text, deleted bigint)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  n bigint;
  lim constant integer := batch_size;  -- sync_runs has a column batch_size
  runs_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('runs');
  skipped_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('skipped_runs');
  reports_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('verifications');
  details_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('verification_details');
  metrics_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('health_metrics');
  retries_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('closed_retries');
  alerts_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('resolved_alerts');
  jobs_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('failed_jobs');
  writes_cutoff constant timestamptz := buyer_sync_private.retention_cutoff('report_writes');
begin
  if batch_size is null or batch_size < 1 then
    raise exception 'batch_size must be a positive number (got %)', batch_size;
  end if;

  -- Failed graphile-worker jobs, through graphile-worker's own admin function (it deletes only unlocked jobs).
  select count(*) into n
    from graphile_worker.complete_jobs(array(
           select j.id from graphile_worker.jobs j
            where j.attempts >= j.max_attempts and j.locked_at is null and j.updated_at < jobs_cutoff
            order by j.id limit lim));
  table_name := 'graphile_worker.jobs'; deleted := n; return next;

  -- Resolved alerts: their resolution notices first (on delete cascade), then the alerts that have none left.
  delete from public.sync_alerts x
   where x.ctid = any(array(
           select s.ctid from public.sync_alerts s join public.sync_alerts a on a.id = s.resolves
            where a.resolves is null and a.resolved_at < alerts_cutoff
            limit lim));
  get diagnostics n = row_count;
  delete from public.sync_alerts x
   where x.ctid = any(array(
           select a.ctid from public.sync_alerts a
            where a.resolves is null and a.resolved_at < alerts_cutoff
              and not exists (select 1 from public.sync_alerts s where s.resolves = a.id)
            limit lim));
  get diagnostics deleted = row_count;
  table_name := 'sync_alerts'; deleted := deleted + n; return next;

  -- Verification: details of old passed reports, details of reports about to go, then the reports left without any.
  delete from buyer_sync.verification_findings x
   where x.ctid = any(array(
           select f.ctid from buyer_sync.verification_findings f
             join buyer_sync_private.prunable_reports(reports_cutoff, details_cutoff) p on p.id = f.report_id
            limit lim));
  get diagnostics n = row_count;
  table_name := 'buyer_sync.verification_findings'; deleted := n; return next;
  delete from buyer_sync.verification_mismatches x
   where x.ctid = any(array(
           select m.ctid from buyer_sync.verification_mismatches m
             join buyer_sync_private.prunable_reports(reports_cutoff, details_cutoff) p on p.id = m.report_id
            limit lim));
  get diagnostics n = row_count;
  table_name := 'buyer_sync.verification_mismatches'; deleted := n; return next;
  delete from buyer_sync.verification_reports x
   where x.id = any(array(
           select p.id from buyer_sync_private.prunable_reports(reports_cutoff, details_cutoff) p
            where p.whole
              and not exists (select 1 from buyer_sync.verification_findings f where f.report_id = p.id)
              and not exists (select 1 from buyer_sync.verification_mismatches m where m.report_id = p.id)
            limit lim));
  get diagnostics n = row_count;
  table_name := 'buyer_sync.verification_reports'; deleted := n; return next;

  -- Health checks (the latest one stays: the dashboard shows it).
  delete from public.sync_health_metrics x
   where x.id = any(array(
           select m.id from public.sync_health_metrics m
            where m.check_time < metrics_cutoff
              and m.id is distinct from (select l.id from public.sync_health_metrics l order by l.check_time desc, l.id limit 1)
            limit lim));
  get diagnostics n = row_count;
  table_name := 'sync_health_metrics'; deleted := n; return next;

  -- Closed retry entries; never an open one, nor a failed one whose permanent_failure alert is open.
  delete from public.retry_queue x
   where x.id = any(array(
           select q.id from public.retry_queue q
            where q.status in ('succeeded', 'failed') and coalesce(q.resolved_at, q.updated_at) < retries_cutoff
              and not exists (select 1 from public.sync_alerts a
                               where a.type = 'permanent_failure' and a.resolved_at is null and a.resolves is null
                                 and (a.details->>'buyer_number' = q.buyer_number
                                      or coalesce(a.details->'buyer_numbers', '[]'::jsonb) ? q.buyer_number))
            limit lim));
  get diagnostics n = row_count;
  table_name := 'retry_queue'; deleted := n; return next;

  -- Report tab writes; the latest of each tab stays (the dashboard shows how it went).
  delete from buyer_sync_private.report_writes x
   where x.id = any(array(
           select w.id from buyer_sync_private.report_writes w
            where w.attempted_at < writes_cutoff
              and w.id <> (select l.id from buyer_sync_private.report_writes l
                            where l.target = w.target order by l.attempted_at desc, l.id desc limit 1)
            limit lim));
  get diagnostics n = row_count;
  table_name := 'buyer_sync_private.report_writes'; deleted := n; return next;

  -- Runs: their error log and buyer changes first, then the runs that have none left.
  delete from public.sync_error_log x
   where x.id = any(array(
           select e.id from public.sync_error_log e
            where e.run_id in (select p.id from buyer_sync_private.prunable_runs(runs_cutoff, skipped_cutoff) p(id))
            limit lim));
  get diagnostics n = row_count;
  delete from public.sync_error_log x
   where x.id = any(array(
           select e.id from public.sync_error_log e
            where e.run_id is null and e.created_at < runs_cutoff
            limit lim));
  get diagnostics deleted = row_count;
  table_name := 'sync_error_log'; deleted := deleted + n; return next;
  delete from public.sync_buyer_changes x
   where (x.run_id, x.buyer_number) in (
           select c.run_id, c.buyer_number from public.sync_buyer_changes c
            where c.run_id in (select p.id from buyer_sync_private.prunable_runs(runs_cutoff, skipped_cutoff) p(id))
            limit lim);
  get diagnostics n = row_count;
  table_name := 'sync_buyer_changes'; deleted := n; return next;
  delete from public.sync_runs x
   where x.id = any(array(
           select p.id from buyer_sync_private.prunable_runs(runs_cutoff, skipped_cutoff) p(id)
            where not exists (select 1 from public.sync_error_log e where e.run_id = p.id)
              and not exists (select 1 from public.sync_buyer_changes c where c.run_id = p.id)
            limit lim));
  get diagnostics n = row_count;
  table_name := 'sync_runs'; deleted := n; return next;
end $$;


--
-- Name: FUNCTION prune_history(batch_size integer); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.prune_history(batch_size integer) IS 'One round of pruning by buyer_sync.retention: deletes at most batch_size rows per statement (children before their parents) and returns the rows deleted per table. Call it again, each time in its own transaction, until a round deletes nothing (the history__prune task does). Never deletes buyers, open alerts, open retry entries, running runs, or what a kept row refers to.';


--
-- Name: record_schedule(text, text); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.record_schedule(identifier text, cron text) RETURNS void
    LANGUAGE sql
    AS $$
  insert into buyer_sync_private.schedules (identifier, cron) values (identifier, btrim(cron))
  on conflict on constraint schedules_pkey do update set cron = excluded.cron, recorded_at = excluded.recorded_at
$$;


--
-- Name: FUNCTION record_schedule(identifier text, cron text); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.record_schedule(identifier text, cron text) IS 'Records a crontab schedule serve runs (identifier scheduled_sync with SYNC_CRON when it starts): buyer_sync.verdict tells the next scheduled sync from it.';


--
-- Name: request_buyer_sync(text[]); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.request_buyer_sync(buyer_numbers text[]) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


--
-- Name: FUNCTION request_buyer_sync(buyer_numbers text[]); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.request_buyer_sync(buyer_numbers text[]) IS 'Asks the worker to sync just these buyer numbers from the configured sheet (the recovery for missing buyers); returns the job id. Requests made before it starts are merged.';


--
-- Name: request_retry_round(); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.request_retry_round() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  job record;
begin
  select * into job from graphile_worker.add_job('retry_queue__process', '{}'::json,
    queue_name := 'buyer_sync', job_key := 'retry_queue__process', max_attempts := 3);
  return job.id;
end $$;


--
-- Name: FUNCTION request_retry_round(); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.request_retry_round() IS 'Asks the worker for a retry round now (retries that are due); returns the job id.';


--
-- Name: request_sync(); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.request_sync() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  job record;
begin
  select * into job from graphile_worker.add_job('buyers__sync', '{}'::json,
    queue_name := 'buyer_sync', job_key := 'buyers__sync', max_attempts := 3);
  return job.id;
end $$;


--
-- Name: FUNCTION request_sync(); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.request_sync() IS 'Asks the worker for a full sync of the configured sheet, as soon as the queue allows; returns the job id. Requests made before it starts collapse into one.';


--
-- Name: retry_buyer_now(text); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.retry_buyer_now(buyer_number text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


--
-- Name: FUNCTION retry_buyer_now(buyer_number text); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.retry_buyer_now(buyer_number text) IS 'Retries one buyer now and returns the job id: a buyer in the retry queue is made due and a retry round requested; any other (failed for good, missing) is synced by its number from the configured sheet, a buyer that failed for good with a fresh schedule.';


--
-- Name: acknowledge_alert(uuid); Type: FUNCTION; Schema: buyer_sync_api; Owner: -
--

CREATE FUNCTION buyer_sync_api.acknowledge_alert(alert_id uuid) RETURNS timestamp with time zone
    LANGUAGE sql STRICT
    AS $$ select buyer_sync.acknowledge_alert(alert_id) $$;


--
-- Name: FUNCTION acknowledge_alert(alert_id uuid); Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON FUNCTION buyer_sync_api.acknowledge_alert(alert_id uuid) IS 'Acknowledges an open alert (someone is on it); returns when. Operator token required.';


--
-- Name: approve_mass_change(); Type: FUNCTION; Schema: buyer_sync_api; Owner: -
--

CREATE FUNCTION buyer_sync_api.approve_mass_change() RETURNS bigint
    LANGUAGE sql
    AS $$ select buyer_sync.approve_mass_change() $$;


--
-- Name: FUNCTION approve_mass_change(); Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON FUNCTION buyer_sync_api.approve_mass_change() IS 'Lets the next sync that the mass-change guard would refuse go through, once (within a day); returns the approval''s id. Request a sync to run it now. Operator token required.';


--
-- Name: redact_ids(text); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.redact_ids(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$
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
$_$;


--
-- Name: FUNCTION redact_ids(t text); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.redact_ids(t text) IS 'The one redaction of every text the API shows (run and error messages, skipped_because, alert messages and details, verification summaries, the verdict): file system paths (POSIX, Windows, UNC, quoted with spaces) become <file>, connection strings <connection>, other URLs <url>, spreadsheet ids (gsheets:<id>, runs of 40 or more [A-Za-z0-9_-], an id after the word spreadsheet) <id>, password=… <secret>. Run ids (uuids) stay.';


--
-- Name: verification_reports; Type: TABLE; Schema: buyer_sync; Owner: -
--

CREATE TABLE buyer_sync.verification_reports (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    source text NOT NULL,
    trigger text NOT NULL,
    run_id uuid,
    seed bigint NOT NULL,
    sample_requested integer,
    sample_size integer NOT NULL,
    spreadsheet_count integer NOT NULL,
    database_count integer NOT NULL,
    missing_count integer NOT NULL,
    extra_count integer NOT NULL,
    unverifiable_count integer NOT NULL,
    mismatch_count integer NOT NULL,
    mismatched_buyers integer NOT NULL,
    complete boolean NOT NULL,
    accurate boolean NOT NULL,
    passed boolean NOT NULL,
    summary text NOT NULL,
    duration_ms integer NOT NULL,
    lookalike_groups integer DEFAULT 0 NOT NULL,
    CONSTRAINT verification_reports_lookalike_groups_check CHECK ((lookalike_groups >= 0)),
    CONSTRAINT verification_reports_passed_check CHECK ((passed = (complete AND accurate AND (lookalike_groups = 0)))),
    CONSTRAINT verification_reports_sample_requested_check CHECK ((sample_requested >= 0)),
    CONSTRAINT verification_reports_sample_size_check CHECK ((sample_size >= 0)),
    CONSTRAINT verification_reports_trigger_check CHECK ((trigger = ANY (ARRAY['command'::text, 'after_sync'::text])))
);


--
-- Name: TABLE verification_reports; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON TABLE buyer_sync.verification_reports IS 'Every integrity verification (buyer-sync verify, and after each scheduled sync): completeness (every sheet buyer in buyers, by set difference) and accuracy (a seeded sample compared column by column), with its summary.';


--
-- Name: COLUMN verification_reports.trigger; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verification_reports.trigger IS 'command: buyer-sync verify (the sheet as it is now); after_sync: right after a scheduled sync, on the very rows the sync read.';


--
-- Name: COLUMN verification_reports.seed; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verification_reports.seed IS 'The sample''s seed: buyer-sync verify --seed <seed> --sample <n> draws the same buyers from the same sheet.';


--
-- Name: COLUMN verification_reports.sample_requested; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verification_reports.sample_requested IS '--sample N; null: every buyer.';


--
-- Name: COLUMN verification_reports.unverifiable_count; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verification_reports.unverifiable_count IS 'Sheet buyers whose row breaks a row rule: the sync cannot write them (the error log says why), so they are not compared.';


--
-- Name: COLUMN verification_reports.lookalike_groups; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verification_reports.lookalike_groups IS 'Groups of look-alike buyer numbers the verification found in buyers (buyer_sync.lookalike_buyers): any makes it fail.';


--
-- Name: latest_verification; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.latest_verification AS
 SELECT v.id,
    v.created_at,
    v.trigger,
    v.run_id,
    v.source,
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
   FROM buyer_sync.verification_reports v
  ORDER BY v.created_at DESC, v.id
 LIMIT 1;


--
-- Name: VIEW latest_verification; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.latest_verification IS 'The latest verification report''s summary and counts (no values).';


--
-- Name: verification; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.verification AS
 SELECT v.id,
    v.created_at,
    v.trigger,
    v.run_id,
        CASE
            WHEN (v.source ~~ 'gsheets:%'::text) THEN 'google_sheet'::text
            ELSE 'csv'::text
        END AS source_kind,
    v.passed,
    v.complete,
    v.accurate,
    buyer_sync_private.redact_ids(v.summary) AS summary,
    v.sample_size,
    v.missing_count,
    v.extra_count,
    v.unverifiable_count,
    v.mismatch_count,
    v.mismatched_buyers
   FROM buyer_sync.latest_verification v;


--
-- Name: VIEW verification; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.verification IS '@behavior -list -connection -single
An integrity verification: whether it passed, its summary and counts. The mismatching values stay in the database.';


--
-- Name: COLUMN verification.id; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.verification.id IS '@notNull';


--
-- Name: COLUMN verification.created_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.verification.created_at IS '@notNull';


--
-- Name: COLUMN verification.trigger; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.verification.trigger IS '@notNull
command (buyer-sync verify) or after_sync (right after a scheduled sync).';


--
-- Name: COLUMN verification.source_kind; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.verification.source_kind IS '@notNull
google_sheet or csv.';


--
-- Name: COLUMN verification.passed; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.verification.passed IS '@notNull';


--
-- Name: COLUMN verification.summary; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.verification.summary IS '@notNull';


--
-- Name: latest_verification(); Type: FUNCTION; Schema: buyer_sync_api; Owner: -
--

CREATE FUNCTION buyer_sync_api.latest_verification() RETURNS buyer_sync_api.verification
    LANGUAGE sql STABLE
    AS $$ select v.* from buyer_sync_api.verification v $$;


--
-- Name: FUNCTION latest_verification(); Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON FUNCTION buyer_sync_api.latest_verification() IS 'The latest integrity verification (verify, or after a scheduled sync); null: none yet.';


--
-- Name: request_sync(); Type: FUNCTION; Schema: buyer_sync_api; Owner: -
--

CREATE FUNCTION buyer_sync_api.request_sync() RETURNS bigint
    LANGUAGE sql
    AS $$ select buyer_sync.request_sync() $$;


--
-- Name: FUNCTION request_sync(); Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON FUNCTION buyer_sync_api.request_sync() IS 'Asks the worker for a full sync of the configured sheet now; returns the job id. Operator token required.';


--
-- Name: retry_buyer(text); Type: FUNCTION; Schema: buyer_sync_api; Owner: -
--

CREATE FUNCTION buyer_sync_api.retry_buyer(buyer_number text) RETURNS bigint
    LANGUAGE sql STRICT
    AS $$ select buyer_sync.retry_buyer_now(buyer_number) $$;


--
-- Name: FUNCTION retry_buyer(buyer_number text); Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON FUNCTION buyer_sync_api.retry_buyer(buyer_number text) IS 'Retries one buyer now (a queued buyer is made due; any other is synced by its number from the sheet); returns the job id. Operator token required.';


--
-- Name: sheet_buyers; Type: TABLE; Schema: buyer_sync_private; Owner: -
--

CREATE TABLE buyer_sync_private.sheet_buyers (
    buyer_number text NOT NULL,
    row_number integer NOT NULL
);


--
-- Name: TABLE sheet_buyers; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON TABLE buyer_sync_private.sheet_buyers IS 'Buyer numbers of the latest full read of the sheet (first row of each).';


--
-- Name: buyers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.buyers (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    buyer_number text NOT NULL,
    name text,
    phone text,
    email text,
    address text,
    inquiry_date date,
    inquiry_source text,
    desired_area text,
    property_type text,
    budget bigint,
    status text,
    assignee text,
    next_follow_up date,
    notes text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    synced_at timestamp with time zone,
    db_updated_at timestamp with time zone DEFAULT now() NOT NULL,
    content_hash text GENERATED ALWAYS AS (md5((((((((((((((buyer_sync.hash_part(buyer_number) || buyer_sync.hash_part(name)) || buyer_sync.hash_part(phone)) || buyer_sync.hash_part(email)) || buyer_sync.hash_part(address)) || buyer_sync.hash_part(inquiry_date)) || buyer_sync.hash_part(inquiry_source)) || buyer_sync.hash_part(desired_area)) || buyer_sync.hash_part(property_type)) || buyer_sync.hash_part(budget)) || buyer_sync.hash_part(status)) || buyer_sync.hash_part(assignee)) || buyer_sync.hash_part(next_follow_up)) || buyer_sync.hash_part(notes)))) STORED
);


--
-- Name: TABLE buyers; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.buyers IS 'One row per buyer of the buyers spreadsheet, keyed by buyer_number. Written only by buyer-sync.';


--
-- Name: COLUMN buyers.buyer_number; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.buyers.buyer_number IS 'The buyer''s number as shown on the sheet (leading zeros kept). Unique.';


--
-- Name: COLUMN buyers.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.buyers.created_at IS 'When buyer-sync first inserted this buyer. Never changed by later syncs.';


--
-- Name: COLUMN buyers.synced_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.buyers.synced_at IS 'When a sync last wrote this row''s values from the sheet.';


--
-- Name: COLUMN buyers.db_updated_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.buyers.db_updated_at IS 'When this row last changed in the database.';


--
-- Name: COLUMN buyers.content_hash; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.buyers.content_hash IS 'md5 over the mapped columns, each as buyer_sync.hash_part encodes it (see buyer_sync_private.content_hash_columns); how a sync tells changed rows from unchanged ones.';


--
-- Name: extra_buyers; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.extra_buyers AS
 SELECT b.buyer_number
   FROM public.buyers b
  WHERE (NOT (EXISTS ( SELECT 1
           FROM buyer_sync_private.sheet_buyers s
          WHERE (s.buyer_number = b.buyer_number))));


--
-- Name: VIEW extra_buyers; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.extra_buyers IS 'Buyer numbers in buyers that are not on the sheet (latest full read). Never deleted by a sync.';


--
-- Name: sync_runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sync_runs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    status text DEFAULT 'running'::text NOT NULL,
    mode text NOT NULL,
    source text NOT NULL,
    batch_size integer NOT NULL,
    total_rows integer DEFAULT 0 NOT NULL,
    blank_rows integer DEFAULT 0 NOT NULL,
    inserted integer DEFAULT 0 NOT NULL,
    updated integer DEFAULT 0 NOT NULL,
    unchanged integer DEFAULT 0 NOT NULL,
    failed integer DEFAULT 0 NOT NULL,
    batches integer DEFAULT 0 NOT NULL,
    errors_by_type jsonb DEFAULT '{}'::jsonb NOT NULL,
    retry_queue_size integer,
    duration_ms integer,
    rows_per_second numeric(12,2),
    error_type text,
    error_message text,
    encoding text,
    failure text,
    source_version text,
    skipped_because text,
    skipped_kind text,
    CONSTRAINT sync_runs_batch_size_check CHECK ((batch_size > 0)),
    CONSTRAINT sync_runs_failure_check CHECK ((failure = ANY (ARRAY['blocked'::text, 'sheet'::text, 'database'::text, 'cancelled'::text, 'interrupted'::text, 'error'::text, 'mass_change'::text]))),
    CONSTRAINT sync_runs_failure_fits_status CHECK (((status = 'failed'::text) = (failure IS NOT NULL))),
    CONSTRAINT sync_runs_mode_check CHECK ((mode = ANY (ARRAY['full'::text, 'only'::text, 'retry'::text]))),
    CONSTRAINT sync_runs_rows_accounted CHECK (((status <> 'succeeded'::text) OR (((((inserted + updated) + unchanged) + failed) + blank_rows) = total_rows))),
    CONSTRAINT sync_runs_skipped_kind_check CHECK ((skipped_kind = ANY (ARRAY['unchanged'::text, 'busy'::text]))),
    CONSTRAINT sync_runs_skipped_kind_fits_status CHECK (((skipped_kind IS NULL) OR (status = 'skipped'::text))),
    CONSTRAINT sync_runs_skipped_says_why CHECK (((status = 'skipped'::text) = (skipped_because IS NOT NULL))),
    CONSTRAINT sync_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'succeeded'::text, 'failed'::text, 'skipped'::text])))
);


--
-- Name: TABLE sync_runs; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.sync_runs IS 'One row per sync run: where it read from, what it did with every row, how long it took.';


--
-- Name: COLUMN sync_runs.status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_runs.status IS 'running, succeeded, failed (wrote nothing) or skipped (a scheduled sync that found the sheet unchanged since its last full read: read nothing, wrote nothing).';


--
-- Name: COLUMN sync_runs.mode; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_runs.mode IS 'full: the whole sheet; only: the buyer numbers given with --only; retry: due retry-queue entries.';


--
-- Name: COLUMN sync_runs.total_rows; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_runs.total_rows IS 'Data rows read (header excluded, blank rows included) = inserted + updated + unchanged + failed + blank_rows.';


--
-- Name: COLUMN sync_runs.failed; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_runs.failed IS 'Rows that failed (not error entries).';


--
-- Name: COLUMN sync_runs.error_message; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_runs.error_message IS 'Why a failed run stopped (the run wrote nothing). Never a cell value.';


--
-- Name: COLUMN sync_runs.encoding; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_runs.encoding IS 'The character encoding of the CSV export the run read (utf-8, utf-16le, utf-16be, shift_jis, euc-jp); null for the Google Sheets API.';


--
-- Name: COLUMN sync_runs.failure; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_runs.failure IS 'Why a failed run failed: blocked (schema check or mapping, before the sheet was read), sheet (unreadable or refused), database, cancelled (stopped on purpose), interrupted (its process died), error, or mass_change (the mass-change guard refused it: it would have updated too many existing buyers; nothing written). Null unless status is failed.';


--
-- Name: COLUMN sync_runs.source_version; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_runs.source_version IS 'The sheet''s version as the run found it (Drive''s file version of a Google sheet); null when unknown (a CSV export, Drive not answering).';


--
-- Name: COLUMN sync_runs.skipped_because; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_runs.skipped_because IS 'Why a scheduled sync did not read the sheet: which full read found the same version, and how long ago. Null unless status is skipped.';


--
-- Name: COLUMN sync_runs.skipped_kind; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_runs.skipped_kind IS 'Why a skipped run read nothing: unchanged (a scheduled sync found the sheet as the last full read saw it; also when null on a skipped run) or busy (another run held the sync lock). Null unless status is skipped.';


--
-- Name: run_stats; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.run_stats AS
 SELECT r.id AS run_id,
    r.started_at,
    r.finished_at,
    r.mode,
    r.status,
    r.failure,
    r.source,
    r.total_rows,
    r.blank_rows,
    (r.total_rows - r.blank_rows) AS non_blank_rows,
    r.inserted,
    r.updated,
    r.unchanged,
    r.failed,
    (
        CASE
            WHEN (r.status = 'succeeded'::text) THEN COALESCE(round(((100.0 * (r.failed)::numeric) / (NULLIF((r.total_rows - r.blank_rows), 0))::numeric), 2), (0)::numeric)
            ELSE NULL::numeric
        END)::numeric(5,2) AS error_rate,
    r.errors_by_type,
    r.duration_ms,
    r.rows_per_second,
    r.retry_queue_size,
    r.error_type,
    r.error_message
   FROM public.sync_runs r;


--
-- Name: VIEW run_stats; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.run_stats IS 'Every sync run with its error rate: the percent of its non-blank rows that failed (null unless it succeeded: a failed run wrote nothing). failure and error_message say why a run failed.';


--
-- Name: last_full_sync; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.last_full_sync AS
 SELECT s.run_id,
    s.started_at,
    s.finished_at,
    s.mode,
    s.status,
    s.failure,
    s.source,
    s.total_rows,
    s.blank_rows,
    s.non_blank_rows,
    s.inserted,
    s.updated,
    s.unchanged,
    s.failed,
    s.error_rate,
    s.errors_by_type,
    s.duration_ms,
    s.rows_per_second,
    s.retry_queue_size,
    s.error_type,
    s.error_message
   FROM buyer_sync.run_stats s
  WHERE ((s.mode = 'full'::text) AND (s.status = 'succeeded'::text))
  ORDER BY s.started_at DESC, s.run_id
 LIMIT 1;


--
-- Name: VIEW last_full_sync; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.last_full_sync IS 'The latest full sync that succeeded: what the health check''s error rate, duration and throughput are about.';


--
-- Name: missing_buyers; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.missing_buyers AS
 SELECT s.buyer_number,
    s.row_number
   FROM buyer_sync_private.sheet_buyers s
  WHERE (NOT (EXISTS ( SELECT 1
           FROM public.buyers b
          WHERE (b.buyer_number = s.buyer_number))));


--
-- Name: VIEW missing_buyers; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.missing_buyers IS 'Buyer numbers on the sheet (latest full read) that are not in buyers, with their sheet row.';


--
-- Name: sheet_snapshot; Type: TABLE; Schema: buyer_sync_private; Owner: -
--

CREATE TABLE buyer_sync_private.sheet_snapshot (
    singleton boolean DEFAULT true NOT NULL,
    source text NOT NULL,
    read_at timestamp with time zone NOT NULL,
    row_count integer NOT NULL,
    keys_hash text NOT NULL,
    run_id uuid,
    CONSTRAINT sheet_snapshot_singleton_check CHECK (singleton)
);


--
-- Name: TABLE sheet_snapshot; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON TABLE buyer_sync_private.sheet_snapshot IS 'When and from where buyer_sync_private.sheet_buyers was read.';


--
-- Name: COLUMN sheet_snapshot.keys_hash; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON COLUMN buyer_sync_private.sheet_snapshot.keys_hash IS 'Hash of the (buyer number, row) list: an unchanged sheet does not rewrite sheet_buyers.';


--
-- Name: retry_queue; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.retry_queue (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    buyer_number text NOT NULL,
    row_number integer,
    error_info jsonb NOT NULL,
    attempt_count integer DEFAULT 0 NOT NULL,
    next_retry_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    source text,
    resolution text,
    resolved_at timestamp with time zone,
    last_run_id uuid,
    resolved_run_id uuid,
    row_hash text,
    last_attempt_at timestamp with time zone,
    released_at timestamp with time zone,
    CONSTRAINT retry_queue_attempt_count_check CHECK ((attempt_count >= 0)),
    CONSTRAINT retry_queue_released_is_exhausted CHECK (((released_at IS NULL) OR (resolution = 'exhausted'::text))),
    CONSTRAINT retry_queue_resolution_check CHECK ((resolution = ANY (ARRAY['synced'::text, 'left_sheet'::text, 'exhausted'::text, 'not_retryable'::text]))),
    CONSTRAINT retry_queue_resolution_fits_status CHECK (
CASE status
    WHEN 'succeeded'::text THEN (resolution = ANY (ARRAY['synced'::text, 'left_sheet'::text]))
    WHEN 'failed'::text THEN (resolution = ANY (ARRAY['exhausted'::text, 'not_retryable'::text]))
    ELSE (resolution IS NULL)
END),
    CONSTRAINT retry_queue_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'succeeded'::text, 'failed'::text])))
);


--
-- Name: TABLE retry_queue; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.retry_queue IS 'Buyers whose sync failed with a retryable error, with their retry schedule (1, 5, 15 minutes).';


--
-- Name: COLUMN retry_queue.attempt_count; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.retry_queue.attempt_count IS 'Counted attempts so far: the first failure (the run, with its one immediate retry) and each failure when a retry was due (next_retry_at reached), whichever path made it. A failure before the retry is due is logged and updates error_info, not this.';


--
-- Name: COLUMN retry_queue.next_retry_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.retry_queue.next_retry_at IS 'When the next attempt is due (buyer_sync.next_retry_at after last_attempt_at, on the clock buyer_sync_private.now()).';


--
-- Name: COLUMN retry_queue.status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.retry_queue.status IS 'pending, processing, succeeded or failed (failed = permanently, after the last attempt).';


--
-- Name: COLUMN retry_queue.source; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.retry_queue.source IS 'The sheet the failing run read (a CSV path or gsheets:<id>#gid=<tab>): a retry re-reads the buyer''s row from it.';


--
-- Name: COLUMN retry_queue.resolution; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.retry_queue.resolution IS 'How a closed entry ended: synced (a retry or a later sync wrote the buyer), left_sheet (the buyer''s row is no longer on the sheet), exhausted (every scheduled attempt failed), not_retryable (a later attempt failed in a way retrying cannot fix).';


--
-- Name: COLUMN retry_queue.last_run_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.retry_queue.last_run_id IS 'The run that made the latest attempt.';


--
-- Name: COLUMN retry_queue.resolved_run_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.retry_queue.resolved_run_id IS 'The run that closed the entry; with resolved_at, the log of a retry''s success.';


--
-- Name: COLUMN retry_queue.row_hash; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.retry_queue.row_hash IS 'md5 of the failing row''s cells as the sheet showed them (the latest failure). A different row failing starts a fresh schedule; while an exhausted entry''s row fails unchanged, the buyer gets no new entry.';


--
-- Name: COLUMN retry_queue.last_attempt_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.retry_queue.last_attempt_at IS 'When the latest counted attempt failed (buyer_sync_private.now()); next_retry_at is this plus the schedule''s delay for attempt_count.';


--
-- Name: COLUMN retry_queue.released_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.retry_queue.released_at IS 'Exhausted entries only: when the entry stopped holding its buyer (its row changed, it synced, or an operator retried it with buyer_sync.retry_buyer_now). Null on an exhausted entry: a sync that fails the same row again logs the error and opens no new entry.';


--
-- Name: current_health; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.current_health AS
 SELECT l.finished_at AS last_sync_time,
    l.run_id AS last_run_id,
    (COALESCE(l.error_rate, (0)::numeric))::numeric(5,2) AS error_rate,
    (( SELECT count(*) AS count
           FROM buyer_sync.missing_buyers))::integer AS missing_count,
    (( SELECT count(*) AS count
           FROM buyer_sync.extra_buyers))::integer AS extra_count,
    (( SELECT count(*) AS count
           FROM buyer_sync_private.sheet_buyers))::integer AS spreadsheet_count,
    (( SELECT count(*) AS count
           FROM public.buyers))::integer AS database_count,
    ( SELECT sheet_snapshot.read_at
           FROM buyer_sync_private.sheet_snapshot) AS sheet_read_at,
    (( SELECT count(*) AS count
           FROM public.retry_queue q
          WHERE (q.status = ANY (ARRAY['pending'::text, 'processing'::text]))))::integer AS retry_queue_size,
    ( SELECT min(q.created_at) AS min
           FROM public.retry_queue q
          WHERE (q.status = ANY (ARRAY['pending'::text, 'processing'::text]))) AS oldest_retry_at,
    (( SELECT COALESCE(sum(COALESCE(jsonb_array_length((a.details -> 'buyer_numbers'::text)), 1)), (0)::bigint) AS sum
           FROM public.sync_alerts a
          WHERE ((a.type = 'permanent_failure'::text) AND (a.resolved_at IS NULL) AND (a.resolves IS NULL))))::integer AS permanent_failures,
    l.duration_ms AS last_sync_duration_ms,
    l.rows_per_second AS last_sync_rows_per_second,
    ( SELECT max(r.started_at) AS max
           FROM public.sync_runs r
          WHERE (r.status = 'failed'::text)) AS last_failed_run_at,
    (( SELECT count(*) AS count
           FROM public.sync_alerts a
          WHERE ((a.resolved_at IS NULL) AND (a.resolves IS NULL))))::integer AS open_alerts
   FROM (( SELECT 1 AS "?column?") one
     LEFT JOIN buyer_sync.last_full_sync l ON (true));


--
-- Name: VIEW current_health; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.current_health IS 'Health now, in one row: the last full sync (time, error rate in percent of its non-blank rows, duration, throughput), missing and extra buyers by set difference against the latest full read of the sheet, the retry queue''s depth and oldest entry, open permanent failures and alerts.';


--
-- Name: COLUMN current_health.permanent_failures; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.current_health.permanent_failures IS 'Buyers named by open permanent-failure alerts.';


--
-- Name: sync_health_metrics; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sync_health_metrics (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    check_time timestamp with time zone DEFAULT now() NOT NULL,
    spreadsheet_count integer NOT NULL,
    database_count integer NOT NULL,
    missing_count integer NOT NULL,
    error_rate numeric(5,2),
    sync_duration_ms integer,
    throughput_per_second numeric(10,2),
    extra_count integer,
    retry_queue_size integer,
    last_sync_at timestamp with time zone,
    run_id uuid,
    healthy boolean,
    issues text[],
    CONSTRAINT sync_health_metrics_error_rate_check CHECK (((error_rate >= (0)::numeric) AND (error_rate <= (100)::numeric)))
);


--
-- Name: TABLE sync_health_metrics; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.sync_health_metrics IS 'One row per health check. error_rate is the percent of the last run''s non-blank rows that failed.';


--
-- Name: COLUMN sync_health_metrics.spreadsheet_count; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_health_metrics.spreadsheet_count IS 'Distinct buyer numbers on the sheet (latest full read).';


--
-- Name: COLUMN sync_health_metrics.missing_count; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_health_metrics.missing_count IS 'On the sheet, not in buyers (set difference).';


--
-- Name: COLUMN sync_health_metrics.sync_duration_ms; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_health_metrics.sync_duration_ms IS 'Duration of the last full sync (run_id).';


--
-- Name: COLUMN sync_health_metrics.throughput_per_second; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_health_metrics.throughput_per_second IS 'Sheet rows per second of the last full sync (run_id).';


--
-- Name: COLUMN sync_health_metrics.extra_count; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_health_metrics.extra_count IS 'In buyers, not on the sheet (set difference; never deleted).';


--
-- Name: COLUMN sync_health_metrics.run_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_health_metrics.run_id IS 'The last full sync at the time of the check: error_rate, sync_duration_ms and throughput are its.';


--
-- Name: COLUMN sync_health_metrics.issues; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_health_metrics.issues IS 'Why the check was unhealthy, one line each (no personal data).';


--
-- Name: dashboard_summary; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.dashboard_summary AS
 SELECT h.last_sync_time,
    h.error_rate,
        CASE
            WHEN (h.last_run_id IS NOT NULL) THEN (((100)::numeric - h.error_rate))::numeric(5,2)
            ELSE NULL::numeric
        END AS row_success_rate,
    r.runs_24h,
    r.failed_runs_24h,
    (round(((100.0 * ((r.runs_24h - r.failed_runs_24h))::numeric) / (NULLIF(r.runs_24h, 0))::numeric), 2))::numeric(5,2) AS run_success_rate_24h,
    h.missing_count,
    h.extra_count,
    h.spreadsheet_count,
    h.database_count,
    h.sheet_read_at,
    h.retry_queue_size,
    h.oldest_retry_at,
    h.permanent_failures,
    h.open_alerts,
    h.last_sync_duration_ms,
    h.last_sync_rows_per_second,
    v.created_at AS last_verification_at,
    v.passed AS last_verification_passed,
    v.summary AS last_verification_summary,
    ( SELECT m.healthy
           FROM public.sync_health_metrics m
          ORDER BY m.check_time DESC, m.id
         LIMIT 1) AS last_check_healthy,
    ( SELECT max(m.check_time) AS max
           FROM public.sync_health_metrics m) AS last_check_time
   FROM ((buyer_sync.current_health h
     CROSS JOIN ( SELECT (count(*) FILTER (WHERE (s.status <> 'running'::text)))::integer AS runs_24h,
            (count(*) FILTER (WHERE (s.status = 'failed'::text)))::integer AS failed_runs_24h
           FROM public.sync_runs s
          WHERE (s.started_at > (now() - '24:00:00'::interval))) r)
     LEFT JOIN buyer_sync.latest_verification v ON (true));


--
-- Name: VIEW dashboard_summary; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.dashboard_summary IS 'The dashboard''s numbers in one row (null where nothing has run yet): the last full sync (time, error rate and its complement, the row success rate), the share of finished runs of the last 24 hours that succeeded, missing and extra buyers (set difference), the retry queue, open permanent failures and alerts, the latest verification and health check.';


--
-- Name: dashboard_summary; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.dashboard_summary AS
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
    buyer_sync_private.redact_ids(s.last_verification_summary) AS last_verification_summary,
    s.last_check_healthy,
    s.last_check_time
   FROM buyer_sync.dashboard_summary s;


--
-- Name: VIEW dashboard_summary; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.dashboard_summary IS '@behavior -list -connection -single
The dashboard''s numbers: the last full sync, sheet and database counts, missing and extra buyers (set difference), the retry queue, open alerts, the latest verification and health check. Null where nothing has run yet.';


--
-- Name: COLUMN dashboard_summary.error_rate; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.dashboard_summary.error_rate IS '@notNull
Percent of the last full sync''s non-blank rows that failed (0 before any sync).';


--
-- Name: COLUMN dashboard_summary.row_success_rate; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.dashboard_summary.row_success_rate IS '100 minus error_rate; null before any full sync.';


--
-- Name: COLUMN dashboard_summary.runs_24h; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.dashboard_summary.runs_24h IS '@notNull
Runs finished in the last 24 hours.';


--
-- Name: COLUMN dashboard_summary.failed_runs_24h; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.dashboard_summary.failed_runs_24h IS '@notNull
Runs of the last 24 hours that failed (wrote nothing).';


--
-- Name: COLUMN dashboard_summary.run_success_rate_24h; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.dashboard_summary.run_success_rate_24h IS 'Percent of the last 24 hours'' finished runs that succeeded; null: none finished.';


--
-- Name: COLUMN dashboard_summary.missing_count; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.dashboard_summary.missing_count IS '@notNull
Sheet buyers (latest full read) not in the database, by set difference.';


--
-- Name: COLUMN dashboard_summary.extra_count; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.dashboard_summary.extra_count IS '@notNull
Database buyers not on the sheet (latest full read); a sync never deletes them.';


--
-- Name: COLUMN dashboard_summary.spreadsheet_count; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.dashboard_summary.spreadsheet_count IS '@notNull
Distinct buyer numbers on the sheet (latest full read).';


--
-- Name: COLUMN dashboard_summary.database_count; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.dashboard_summary.database_count IS '@notNull
Buyers in the database.';


--
-- Name: COLUMN dashboard_summary.sheet_read_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.dashboard_summary.sheet_read_at IS 'When the sheet was last read in full; null: never.';


--
-- Name: COLUMN dashboard_summary.retry_queue_size; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.dashboard_summary.retry_queue_size IS '@notNull
Buyers waiting for a retry.';


--
-- Name: COLUMN dashboard_summary.permanent_failures; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.dashboard_summary.permanent_failures IS '@notNull
Buyers named by open permanent-failure alerts (the alerts group them by run).';


--
-- Name: COLUMN dashboard_summary.open_alerts; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.dashboard_summary.open_alerts IS '@notNull
Alerts whose condition still holds.';


--
-- Name: summary(); Type: FUNCTION; Schema: buyer_sync_api; Owner: -
--

CREATE FUNCTION buyer_sync_api.summary() RETURNS buyer_sync_api.dashboard_summary
    LANGUAGE sql STABLE
    AS $$ select s.* from buyer_sync_api.dashboard_summary s $$;


--
-- Name: FUNCTION summary(); Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON FUNCTION buyer_sync_api.summary() IS '@notNull
The dashboard''s numbers, one row.';


--
-- Name: next_cron_time(text, timestamp with time zone); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.next_cron_time(cron text, after timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE sql STABLE STRICT SECURITY DEFINER PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


--
-- Name: FUNCTION next_cron_time(cron text, after timestamp with time zone); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.next_cron_time(cron text, after timestamp with time zone) IS 'The first minute after `after` that five cron fields (UTC) admit, read as graphile-worker reads them (a day matching either day field fires when both restrict), within 400 days; null when none. security definer: the dashboard role calls it through buyer_sync.verdict without usage on buyer_sync_private.';


--
-- Name: alert_thresholds; Type: TABLE; Schema: buyer_sync; Owner: -
--

CREATE TABLE buyer_sync.alert_thresholds (
    singleton boolean DEFAULT true NOT NULL,
    missing_buyers_max integer DEFAULT 10 NOT NULL,
    error_rate_max numeric(5,2) DEFAULT 5 NOT NULL,
    slow_sync_after interval DEFAULT '00:05:00'::interval NOT NULL,
    stale_after interval DEFAULT '01:00:00'::interval NOT NULL,
    CONSTRAINT alert_thresholds_error_rate_max_check CHECK (((error_rate_max >= (0)::numeric) AND (error_rate_max <= (100)::numeric))),
    CONSTRAINT alert_thresholds_missing_buyers_max_check CHECK ((missing_buyers_max >= 0)),
    CONSTRAINT alert_thresholds_singleton_check CHECK (singleton),
    CONSTRAINT alert_thresholds_slow_sync_after_check CHECK ((slow_sync_after > '00:00:00'::interval)),
    CONSTRAINT alert_thresholds_stale_after_check CHECK ((stale_after > '00:00:00'::interval))
);


--
-- Name: TABLE alert_thresholds; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON TABLE buyer_sync.alert_thresholds IS 'The alert thresholds (one row, which cannot be deleted; change them with update, "set <column> = default" restores a shipped value: the column defaults are the only definition of the defaults). missing_buyers alerts when missing > missing_buyers_max, high_error_rate when the last full sync''s error rate (percent) > error_rate_max, slow_sync when it took longer than slow_sync_after, stale_sync when no full sync succeeded within stale_after.';


--
-- Name: alert_types; Type: TABLE; Schema: buyer_sync; Owner: -
--

CREATE TABLE buyer_sync.alert_types (
    type text NOT NULL,
    severity text NOT NULL,
    raised_when text NOT NULL,
    what_to_do text NOT NULL,
    CONSTRAINT alert_types_severity_check CHECK ((severity = ANY (ARRAY['info'::text, 'warning'::text, 'error'::text, 'critical'::text])))
);


--
-- Name: TABLE alert_types; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON TABLE buyer_sync.alert_types IS 'The kinds of alert: severity, when one is raised (buyer_sync.alert_thresholds) and what an operator does about it.';


--
-- Name: open_alerts; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.open_alerts AS
 SELECT a.id,
    a.type,
    a.severity,
    a.condition,
    a.message,
    a.details,
    a.created_at,
    a.delivered_at,
    a.delivery_error,
    a.acknowledged_at
   FROM public.sync_alerts a
  WHERE ((a.resolved_at IS NULL) AND (a.resolves IS NULL));


--
-- Name: VIEW open_alerts; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.open_alerts IS 'Alerts whose condition still holds. Buyer numbers, counts and rules only.';


--
-- Name: schedules; Type: TABLE; Schema: buyer_sync_private; Owner: -
--

CREATE TABLE buyer_sync_private.schedules (
    identifier text NOT NULL,
    cron text NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT schedules_cron_check CHECK ((array_length(regexp_split_to_array(btrim(cron), '\s+'::text), 1) = 5))
);


--
-- Name: TABLE schedules; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON TABLE buyer_sync_private.schedules IS 'The crontab schedules serve runs, by the crontab line''s id (scheduled_sync: SYNC_CRON; health_check: HEALTH_CRON), as recorded by buyer_sync.record_schedule when serve starts.';


--
-- Name: COLUMN schedules.cron; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON COLUMN buyer_sync_private.schedules.cron IS 'Five cron fields (minute hour day month weekday), UTC.';


--
-- Name: COLUMN schedules.recorded_at; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON COLUMN buyer_sync_private.schedules.recorded_at IS 'When serve last recorded it (its start).';


--
-- Name: worker_liveness; Type: TABLE; Schema: buyer_sync_private; Owner: -
--

CREATE TABLE buyer_sync_private.worker_liveness (
    singleton boolean DEFAULT true NOT NULL,
    heartbeat_every interval DEFAULT '00:00:05'::interval NOT NULL,
    dead_after interval DEFAULT '00:01:00'::interval NOT NULL,
    CONSTRAINT worker_liveness_bounds_sane CHECK (((heartbeat_every > '00:00:00'::interval) AND (dead_after >= ((3)::double precision * heartbeat_every)))),
    CONSTRAINT worker_liveness_one_row CHECK (singleton)
);


--
-- Name: TABLE worker_liveness; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON TABLE buyer_sync_private.worker_liveness IS 'How worker liveness is judged (one row): serve processes heartbeat every heartbeat_every; a worker is dead once its advisory lock is gone and its heartbeat is older than dead_after.';


--
-- Name: COLUMN worker_liveness.singleton; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON COLUMN buyer_sync_private.worker_liveness.singleton IS 'Always true: the table has one row.';


--
-- Name: COLUMN worker_liveness.heartbeat_every; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON COLUMN buyer_sync_private.worker_liveness.heartbeat_every IS 'How often a live serve process refreshes workers.last_seen_at (read when its liveness connection opens).';


--
-- Name: COLUMN worker_liveness.dead_after; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON COLUMN buyer_sync_private.worker_liveness.dead_after IS 'How old a heartbeat must be, with the advisory lock not held, before the worker is dead and its jobs are unlocked; at least 3 heartbeats, and well above the time a reconnect takes.';


--
-- Name: workers; Type: TABLE; Schema: buyer_sync_private; Owner: -
--

CREATE TABLE buyer_sync_private.workers (
    worker_id text NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: TABLE workers; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON TABLE buyer_sync_private.workers IS 'graphile-worker workers started by buyer-sync serve; alive while their advisory lock (7340002, hashtext(worker_id)) is held or their heartbeat (last_seen_at) is recent.';


--
-- Name: COLUMN workers.last_seen_at; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON COLUMN buyer_sync_private.workers.last_seen_at IS 'The worker''s last heartbeat: refreshed by its process every worker_liveness.heartbeat_every.';


--
-- Name: verdict; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.verdict AS
 WITH t AS (
         SELECT a.stale_after
           FROM buyer_sync.alert_thresholds a
         LIMIT 1
        ), latest AS (
         SELECT r.id,
            r.started_at,
            r.finished_at,
            r.status,
            r.mode,
            r.source,
            r.batch_size,
            r.total_rows,
            r.blank_rows,
            r.inserted,
            r.updated,
            r.unchanged,
            r.failed,
            r.batches,
            r.errors_by_type,
            r.retry_queue_size,
            r.duration_ms,
            r.rows_per_second,
            r.error_type,
            r.error_message,
            r.encoding,
            r.failure,
            r.source_version,
            r.skipped_because,
            r.skipped_kind
           FROM public.sync_runs r
          WHERE ((r.mode = 'full'::text) AND (r.status = ANY (ARRAY['succeeded'::text, 'failed'::text])))
          ORDER BY r.started_at DESC, r.id
         LIMIT 1
        ), attempt AS (
         SELECT r.id,
            r.started_at,
            r.finished_at,
            r.status,
            r.mode,
            r.source,
            r.batch_size,
            r.total_rows,
            r.blank_rows,
            r.inserted,
            r.updated,
            r.unchanged,
            r.failed,
            r.batches,
            r.errors_by_type,
            r.retry_queue_size,
            r.duration_ms,
            r.rows_per_second,
            r.error_type,
            r.error_message,
            r.encoding,
            r.failure,
            r.source_version,
            r.skipped_because,
            r.skipped_kind
           FROM public.sync_runs r
          WHERE (r.mode = 'full'::text)
          ORDER BY r.started_at DESC, r.id
         LIMIT 1
        ), ok AS (
         SELECT max(COALESCE(r.finished_at, r.started_at)) AS last_success_at,
            max(r.started_at) AS last_success_started_at
           FROM public.sync_runs r
          WHERE ((r.mode = 'full'::text) AND (r.status = 'succeeded'::text))
        ), seen AS (
         SELECT max(COALESCE(r.finished_at, r.started_at)) AS at
           FROM public.sync_runs r
          WHERE ((r.mode = 'full'::text) AND ((r.status = 'succeeded'::text) OR ((r.status = 'skipped'::text) AND (COALESCE(r.skipped_kind, 'unchanged'::text) = 'unchanged'::text))))
        ), first_attempt AS (
         SELECT min(r.started_at) AS at
           FROM public.sync_runs r
          WHERE (r.mode = 'full'::text)
        ), failing_since AS (
         SELECT min(r.started_at) AS at
           FROM public.sync_runs r,
            ok
          WHERE ((r.mode = 'full'::text) AND (r.status = 'failed'::text) AND (r.started_at > COALESCE(ok.last_success_started_at, '-infinity'::timestamp with time zone)))
        ), in_step_since AS (
         SELECT min(r.started_at) AS at
           FROM public.sync_runs r
          WHERE ((r.mode = 'full'::text) AND (r.status = 'succeeded'::text) AND (r.started_at > COALESCE(( SELECT max(f.started_at) AS max
                   FROM public.sync_runs f
                  WHERE ((f.mode = 'full'::text) AND (f.status = 'failed'::text))), '-infinity'::timestamp with time zone)))
        ), chk AS (
         SELECT m.check_time,
            m.healthy,
            m.issues
           FROM public.sync_health_metrics m
          ORDER BY m.check_time DESC, m.id
         LIMIT 1
        ), unhealthy_since AS (
         SELECT min(m.check_time) AS at
           FROM public.sync_health_metrics m
          WHERE (m.check_time > COALESCE(( SELECT max(g.check_time) AS max
                   FROM public.sync_health_metrics g
                  WHERE g.healthy), '-infinity'::timestamp with time zone))
        ), al AS (
         SELECT (count(*) FILTER (WHERE (a.severity = ANY (ARRAY['critical'::text, 'error'::text]))))::integer AS bad,
            (count(*) FILTER (WHERE (a.severity = 'warning'::text)))::integer AS warn,
            min(a.created_at) FILTER (WHERE (a.severity = ANY (ARRAY['critical'::text, 'error'::text]))) AS bad_since,
            min(a.created_at) FILTER (WHERE (a.severity = 'warning'::text)) AS warn_since
           FROM buyer_sync.open_alerts a
        ), worst AS (
         SELECT a.type,
            a.message,
            ty.what_to_do
           FROM (buyer_sync.open_alerts a
             JOIN buyer_sync.alert_types ty ON ((ty.type = a.type)))
          WHERE (a.severity = ANY (ARRAY['critical'::text, 'error'::text, 'warning'::text]))
          ORDER BY
                CASE a.severity
                    WHEN 'critical'::text THEN 0
                    WHEN 'error'::text THEN 1
                    ELSE 2
                END, a.created_at, a.id
         LIMIT 1
        ), snap AS (
         SELECT s.read_at
           FROM buyer_sync_private.sheet_snapshot s
         LIMIT 1
        ), missing AS MATERIALIZED (
         SELECT (count(*))::integer AS n
           FROM buyer_sync.missing_buyers
        ), sched AS (
         SELECT s.cron
           FROM buyer_sync_private.schedules s
          WHERE (s.identifier = 'scheduled_sync'::text)
        ), facts AS (
         SELECT l.status AS latest_status,
            l.failure AS latest_failure,
            l.error_message AS latest_message,
            l.started_at AS latest_at,
            (l.total_rows - l.blank_rows) AS latest_rows,
            l.failed AS latest_failed,
            a.started_at AS attempt_at,
            a.status AS attempt_status,
            a.skipped_kind AS attempt_skipped_kind,
            ok.last_success_at,
            seen.at AS seen_at,
            fa.at AS first_attempt_at,
            fs.at AS failing_since,
            iss.at AS in_step_since,
            c.check_time,
            c.healthy,
            c.issues,
            us.at AS unhealthy_since,
            COALESCE(al.bad, 0) AS bad_alerts,
            COALESCE(al.warn, 0) AS warn_alerts,
            al.bad_since,
            al.warn_since,
            w.type AS worst_type,
            w.message AS worst_message,
            w.what_to_do AS worst_what_to_do,
            sn.read_at AS sheet_read_at,
            mi.n AS missing_count,
            t.stale_after,
            sc.cron AS sync_cron
           FROM ((((((((((((((t
             CROSS JOIN ok)
             CROSS JOIN seen)
             CROSS JOIN first_attempt fa)
             CROSS JOIN failing_since fs)
             CROSS JOIN in_step_since iss)
             CROSS JOIN unhealthy_since us)
             CROSS JOIN al)
             CROSS JOIN missing mi)
             LEFT JOIN latest l ON (true))
             LEFT JOIN attempt a ON (true))
             LEFT JOIN chk c ON (true))
             LEFT JOIN worst w ON (true))
             LEFT JOIN snap sn ON (true))
             LEFT JOIN sched sc ON (true))
        ), judged AS (
         SELECT f.latest_status,
            f.latest_failure,
            f.latest_message,
            f.latest_at,
            f.latest_rows,
            f.latest_failed,
            f.attempt_at,
            f.attempt_status,
            f.attempt_skipped_kind,
            f.last_success_at,
            f.seen_at,
            f.first_attempt_at,
            f.failing_since,
            f.in_step_since,
            f.check_time,
            f.healthy,
            f.issues,
            f.unhealthy_since,
            f.bad_alerts,
            f.warn_alerts,
            f.bad_since,
            f.warn_since,
            f.worst_type,
            f.worst_message,
            f.worst_what_to_do,
            f.sheet_read_at,
            f.missing_count,
            f.stale_after,
            f.sync_cron,
                CASE
                    WHEN ((f.latest_status = 'failed'::text) AND (f.latest_failure = 'mass_change'::text)) THEN 'mass_change'::text
                    WHEN (f.latest_status = 'failed'::text) THEN 'sync_failed'::text
                    WHEN ((f.last_success_at IS NULL) AND (f.sheet_read_at IS NULL)) THEN 'never_read'::text
                    WHEN (f.last_success_at IS NULL) THEN 'never_synced'::text
                    WHEN (f.bad_alerts > 0) THEN 'alerts'::text
                    WHEN (f.healthy IS FALSE) THEN 'unhealthy'::text
                    WHEN ((now() - COALESCE(f.seen_at, f.first_attempt_at)) > f.stale_after) THEN 'stale'::text
                    WHEN (f.missing_count > 0) THEN 'missing'::text
                    WHEN (f.warn_alerts > 0) THEN 'warnings'::text
                    ELSE 'in_step'::text
                END AS rule
           FROM facts f
        )
 SELECT
        CASE
            WHEN (j.rule = ANY (ARRAY['mass_change'::text, 'sync_failed'::text, 'alerts'::text, 'unhealthy'::text, 'stale'::text])) THEN 'failing'::text
            WHEN (j.rule = ANY (ARRAY['missing'::text, 'warnings'::text])) THEN 'warning'::text
            WHEN (j.rule = ANY (ARRAY['never_read'::text, 'never_synced'::text])) THEN 'unknown'::text
            ELSE 'ok'::text
        END AS level,
    j.rule,
        CASE j.rule
            WHEN 'mass_change'::text THEN 'Failing: the latest sync was refused by the mass-change guard'::text
            WHEN 'sync_failed'::text THEN 'Failing: the latest sync failed'::text
            WHEN 'never_read'::text THEN 'Waiting for the first sync'::text
            WHEN 'never_synced'::text THEN 'Waiting for the first sync'::text
            WHEN 'alerts'::text THEN format('Failing: %s open alert(s) need action'::text, j.bad_alerts)
            WHEN 'unhealthy'::text THEN 'Failing: the latest health check found problems'::text
            WHEN 'stale'::text THEN 'Failing: no sync has succeeded for too long'::text
            WHEN 'missing'::text THEN format('Warning: %s buyer(s) on the sheet are not in the database'::text, j.missing_count)
            WHEN 'warnings'::text THEN format('Warning: %s open warning(s)'::text, j.warn_alerts)
            ELSE 'In step: every buyer on the sheet is in the database'::text
        END AS headline,
    buyer_sync_private.redact_ids(
        CASE j.rule
            WHEN 'mass_change'::text THEN COALESCE(j.latest_message, 'the run would have updated more existing buyers than SYNC_MAX_CHANGED_PERCENT allows; nothing was written'::text)
            WHEN 'sync_failed'::text THEN format('%s (%s)'::text, COALESCE(j.latest_message, 'the run failed'::text), j.latest_failure)
            WHEN 'never_read'::text THEN 'the sheet has not been read yet'::text
            WHEN 'never_synced'::text THEN 'the sheet was read, but no full sync has succeeded yet'::text
            WHEN 'alerts'::text THEN (j.worst_message ||
            CASE
                WHEN (j.bad_alerts > 1) THEN format(' (and %s more open alert(s))'::text, (j.bad_alerts - 1))
                ELSE ''::text
            END)
            WHEN 'unhealthy'::text THEN COALESCE(array_to_string(j.issues[1:3], '; '::text), 'the health check was unhealthy'::text)
            WHEN 'stale'::text THEN
            CASE
                WHEN (j.seen_at IS NULL) THEN format('no full sync has succeeded since the first attempt (limit %s)'::text, j.stale_after)
                ELSE format('no full sync has succeeded for %s (limit %s)'::text, date_trunc('minute'::text, (now() - j.seen_at)), j.stale_after)
            END
            WHEN 'missing'::text THEN format('%s buyer(s) on the sheet (read %s) are not in the database; their rows fail or have not been synced yet'::text, j.missing_count, j.sheet_read_at)
            WHEN 'warnings'::text THEN j.worst_message
            ELSE format('the last full sync (%s) wrote every buyer on the sheet; no open alert, the latest health check healthy'::text, j.last_success_at)
        END) AS reason,
        CASE j.rule
            WHEN 'mass_change'::text THEN j.failing_since
            WHEN 'sync_failed'::text THEN j.failing_since
            WHEN 'never_read'::text THEN j.first_attempt_at
            WHEN 'never_synced'::text THEN COALESCE(j.first_attempt_at, j.sheet_read_at)
            WHEN 'alerts'::text THEN j.bad_since
            WHEN 'unhealthy'::text THEN j.unhealthy_since
            WHEN 'stale'::text THEN COALESCE(j.seen_at, j.first_attempt_at)
            WHEN 'missing'::text THEN j.sheet_read_at
            WHEN 'warnings'::text THEN j.warn_since
            ELSE j.in_step_since
        END AS since,
        CASE j.rule
            WHEN 'mass_change'::text THEN 'Look at what changed on the sheet (a wrong encoding, shifted or renamed columns, a sort gone wrong) and fix it; the next sync goes through. If the change is intended, an operator presses "Allow the mass change once" on its alert (or runs buyer-sync sync --allow-mass-change).'::text
            WHEN 'sync_failed'::text THEN 'Read the reason: a renamed or missing header (put it back, or change the column mapping), an unreadable sheet (SHEET_SOURCE, sharing, credentials), a schema check blocking (buyer-sync check-schema --fix) or a lost database. Fix it, then press "Sync now" (or run buyer-sync sync) and watch the next run.'::text
            WHEN 'never_read'::text THEN 'Nothing to do if buyer-sync serve is running: its worker reads the sheet on its schedule. To start now: buyer-sync sync (or "Sync now" with the operator token).'::text
            WHEN 'never_synced'::text THEN 'Wait for the first full sync (the worker''s schedule), or run buyer-sync sync now.'::text
            WHEN 'alerts'::text THEN j.worst_what_to_do
            WHEN 'unhealthy'::text THEN 'Run buyer-sync health for the issues one by one; each names its command. The verdict turns green at the next health check that finds none.'::text
            WHEN 'stale'::text THEN 'Is a worker running (buyer-sync serve)? Look at the latest runs below: the sheet unreadable, Google refusing, the schema check blocking. Fix the cause and press "Sync now".'::text
            WHEN 'missing'::text THEN 'buyer-sync missing lists them; buyer-sync errors --buyer <number> says why each failed. Fix their rows on the sheet; the next sync writes them.'::text
            WHEN 'warnings'::text THEN j.worst_what_to_do
            ELSE 'Nothing.'::text
        END AS what_to_do,
    ('docs/runbooks.md#verdict-'::text || replace(j.rule, '_'::text, '-'::text)) AS runbook,
    j.attempt_at AS last_attempt_at,
    j.attempt_status AS last_attempt_status,
    j.attempt_skipped_kind AS last_attempt_skipped_kind,
    j.latest_at AS latest_run_at,
    j.latest_status AS latest_run_status,
    (
        CASE
            WHEN (j.latest_status = 'failed'::text) THEN (100)::numeric
            WHEN (j.latest_status = 'succeeded'::text) THEN COALESCE(round(((100.0 * (j.latest_failed)::numeric) / (NULLIF(j.latest_rows, 0))::numeric), 2), (0)::numeric)
            ELSE NULL::numeric
        END)::numeric(5,2) AS latest_error_rate,
    j.last_success_at,
    j.sheet_read_at,
    j.check_time AS last_check_at,
    j.healthy AS last_check_healthy,
    j.sync_cron AS schedule,
        CASE
            WHEN ((j.sync_cron IS NOT NULL) AND (EXISTS ( SELECT 1
               FROM buyer_sync_private.workers w
              WHERE (w.last_seen_at > (now() - ( SELECT l.dead_after
                       FROM buyer_sync_private.worker_liveness l)))))) THEN buyer_sync_private.next_cron_time(j.sync_cron, now())
            ELSE NULL::timestamp with time zone
        END AS next_sync_at,
    now() AS judged_at
   FROM judged j;


--
-- Name: VIEW verdict; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.verdict IS 'The one answer to "is the buyers table in step with the sheet?", for the dashboard and for analysts (one row). level: failing (the latest full sync failed or was refused by the mass-change guard; an open critical or error alert; the latest health check unhealthy; no success within alert_thresholds.stale_after), warning (missing buyers below the alert threshold; open warnings), unknown (the sheet never read, or never synced yet, with no failed run) or ok. Never ok while the latest full sync failed or the latest health check was unhealthy. rule names the first of these that holds; headline, reason (redacted), since, what_to_do and runbook (an anchor of docs/runbooks.md) say it in words. Also the last attempt, the last success and the next scheduled sync.';


--
-- Name: COLUMN verdict.level; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verdict.level IS 'ok, warning, failing or unknown.';


--
-- Name: COLUMN verdict.rule; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verdict.rule IS 'Which rule decided: mass_change, sync_failed, never_read, never_synced, alerts, unhealthy, stale, missing, warnings or in_step (in that order).';


--
-- Name: COLUMN verdict.since; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verdict.since IS 'When the state began: the first failed run since the last success, the oldest open alert, the first unhealthy check since the last healthy one, …; null when unknown.';


--
-- Name: COLUMN verdict.runbook; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verdict.runbook IS 'Where the runbook says what the verdict means and what to do: docs/runbooks.md#verdict-<rule>.';


--
-- Name: COLUMN verdict.last_attempt_at; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verdict.last_attempt_at IS 'When the latest full sync started, whatever came of it (running, succeeded, failed, skipped).';


--
-- Name: COLUMN verdict.latest_error_rate; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verdict.latest_error_rate IS 'Percent of the latest finished full sync''s non-blank rows that it did not write: its failed rows; 100 when it failed (a failed run writes nothing). The chart''s latest day shows the same figure.';


--
-- Name: COLUMN verdict.last_success_at; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verdict.last_success_at IS 'When the latest successful full sync finished.';


--
-- Name: COLUMN verdict.schedule; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verdict.schedule IS 'The full sync''s schedule (SYNC_CRON, UTC) as serve recorded it; null: not recorded.';


--
-- Name: COLUMN verdict.next_sync_at; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.verdict.next_sync_at IS 'The next scheduled full sync: the schedule''s next minute, when it is recorded and a worker is alive; null otherwise (unknown).';


--
-- Name: current_verdict; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.current_verdict AS
 SELECT v.level,
    v.rule,
    v.headline,
    v.reason,
    v.since,
    v.what_to_do,
    v.runbook,
    v.last_attempt_at,
    v.last_attempt_status,
    v.last_attempt_skipped_kind,
    v.latest_run_at,
    v.latest_run_status,
    v.latest_error_rate,
    v.last_success_at,
    v.sheet_read_at,
    v.last_check_at,
    v.last_check_healthy,
    v.schedule,
    v.next_sync_at,
    v.judged_at
   FROM buyer_sync.verdict v;


--
-- Name: VIEW current_verdict; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.current_verdict IS '@behavior -list -connection -single
The verdict the dashboard opens with (buyer_sync.verdict): ok, warning, failing or unknown, why, since when, what to do, and the last attempt, last success and next scheduled sync.';


--
-- Name: COLUMN current_verdict.level; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.level IS '@notNull
ok, warning, failing or unknown.';


--
-- Name: COLUMN current_verdict.rule; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.rule IS '@notNull
mass_change, sync_failed, never_read, never_synced, alerts, unhealthy, stale, missing, warnings or in_step.';


--
-- Name: COLUMN current_verdict.headline; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.headline IS '@notNull
The verdict in a few words.';


--
-- Name: COLUMN current_verdict.reason; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.reason IS '@notNull
Why, redacted (no paths, URLs or spreadsheet ids).';


--
-- Name: COLUMN current_verdict.since; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.since IS 'When the state began; null: unknown.';


--
-- Name: COLUMN current_verdict.what_to_do; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.what_to_do IS '@notNull
What to do about it.';


--
-- Name: COLUMN current_verdict.runbook; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.runbook IS '@notNull
The runbook section: docs/runbooks.md#verdict-<rule>.';


--
-- Name: COLUMN current_verdict.last_attempt_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.last_attempt_at IS 'When the latest full sync started (any outcome); null: never.';


--
-- Name: COLUMN current_verdict.last_attempt_status; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.last_attempt_status IS 'running, succeeded, failed or skipped.';


--
-- Name: COLUMN current_verdict.last_attempt_skipped_kind; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.last_attempt_skipped_kind IS 'unchanged or busy when the latest attempt was skipped.';


--
-- Name: COLUMN current_verdict.latest_run_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.latest_run_at IS 'When the latest finished (succeeded or failed) full sync started.';


--
-- Name: COLUMN current_verdict.latest_run_status; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.latest_run_status IS 'succeeded or failed.';


--
-- Name: COLUMN current_verdict.latest_error_rate; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.latest_error_rate IS 'Percent of the latest finished full sync''s non-blank rows it did not write (100 when it failed); the same as the error-rate chart''s latest day.';


--
-- Name: COLUMN current_verdict.last_success_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.last_success_at IS 'When the latest successful full sync finished; null: never.';


--
-- Name: COLUMN current_verdict.sheet_read_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.sheet_read_at IS 'When the sheet was last read in full; null: never.';


--
-- Name: COLUMN current_verdict.last_check_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.last_check_at IS 'The latest health check; null: none yet.';


--
-- Name: COLUMN current_verdict.last_check_healthy; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.last_check_healthy IS 'Whether the latest health check was healthy.';


--
-- Name: COLUMN current_verdict.schedule; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.schedule IS 'The full sync''s schedule (five cron fields, UTC) as serve recorded it; null: not recorded.';


--
-- Name: COLUMN current_verdict.next_sync_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.next_sync_at IS 'The next scheduled full sync; null: unknown (no schedule recorded, or no worker alive).';


--
-- Name: COLUMN current_verdict.judged_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.current_verdict.judged_at IS '@notNull
When the verdict was computed.';


--
-- Name: verdict(); Type: FUNCTION; Schema: buyer_sync_api; Owner: -
--

CREATE FUNCTION buyer_sync_api.verdict() RETURNS buyer_sync_api.current_verdict
    LANGUAGE sql STABLE
    AS $$ select v.* from buyer_sync_api.current_verdict v $$;


--
-- Name: FUNCTION verdict(); Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON FUNCTION buyer_sync_api.verdict() IS '@notNull
The verdict, one row: level, headline, reason, since, what to do, runbook; last attempt, last success, next sync.';


--
-- Name: alert_permanent_failures(); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.alert_permanent_failures() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: FUNCTION alert_permanent_failures(); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.alert_permanent_failures() IS 'Statement-level trigger of retry_queue: the entries the statement made failed (inserted so, or updated to it) raise or extend their run''s permanent-failure alert.';


--
-- Name: content_hash_expression(jsonb); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.content_hash_expression(columns jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO 'pg_catalog'
    AS $$
  select format('md5(%s)', string_agg(format('buyer_sync.hash_part(%I::%s)', c->>'column', c->>'type'), ' || ' order by ord))
    from jsonb_array_elements(columns) with ordinality as e(c, ord)
   where c->>'type' in ('text', 'date', 'bigint')
$$;


--
-- Name: FUNCTION content_hash_expression(columns jsonb); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.content_hash_expression(columns jsonb) IS 'The expression of buyers.content_hash over the given columns ([{column, type}], in order): md5 of each value as buyer_sync.hash_part encodes it.';


--
-- Name: cron_field_matches(text, integer, integer, integer); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.cron_field_matches(field text, value integer, lo integer, hi integer) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$
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
end $_$;


--
-- Name: FUNCTION cron_field_matches(field text, value integer, lo integer, hi integer); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.cron_field_matches(field text, value integer, lo integer, hi integer) IS 'Whether a cron field (comma list of *, n, a-b, each with an optional /step) admits value; lo and hi are the field''s range.';


--
-- Name: enqueue_alert_delivery(); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.enqueue_alert_delivery() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  perform graphile_worker.add_job('alerts__deliver', '{}'::json,
    job_key := 'alerts__deliver', job_key_mode := 'preserve_run_at', max_attempts := 25);
  return null;
end $$;


--
-- Name: FUNCTION enqueue_alert_delivery(); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.enqueue_alert_delivery() IS 'Enqueues the worker''s delivery round (alerts__deliver), which POSTs every undelivered alert to ALERT_WEBHOOK_URL; a round already waiting keeps its time.';


--
-- Name: enqueue_report_write(); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.enqueue_report_write() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


--
-- Name: FUNCTION enqueue_report_write(); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.enqueue_report_write() IS 'A full, retry or --only run finished: enqueues the report tab''s write (report__write, coalesced by its job key, in a queue of its own so a slow write never holds a sync), when a report tab is configured (report_settings).';


--
-- Name: failed_again(integer, timestamp with time zone, text, text, timestamp with time zone); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.failed_again(attempts integer, due_at timestamp with time zone, failed_hash text, new_hash text, clock timestamp with time zone) RETURNS TABLE(counted boolean, attempt integer, next_at timestamp with time zone)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select s.counted, s.attempt, case when s.counted then buyer_sync.next_retry_at(s.attempt, clock) else due_at end
    from (select f.fresh or due_at <= clock as counted,
                 case when f.fresh then 1 when due_at <= clock then attempts + 1 else attempts end as attempt
            from (select coalesce(failed_hash <> new_hash, false) as fresh) f) s
$$;


--
-- Name: FUNCTION failed_again(attempts integer, due_at timestamp with time zone, failed_hash text, new_hash text, clock timestamp with time zone); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.failed_again(attempts integer, due_at timestamp with time zone, failed_hash text, new_hash text, clock timestamp with time zone) IS 'A buyer with an open entry (attempts so far, due at due_at, failed_hash the row that failed) failed again at clock with the row new_hash: whether it counts as an attempt, the attempt number and the next due time (null: that was the last; the entry fails for good).';


--
-- Name: health_conditions_at_once(); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.health_conditions_at_once() RETURNS TABLE(type text, condition text, active boolean, message text, details jsonb)
    LANGUAGE plpgsql STABLE
    AS $$
begin
  return query select * from buyer_sync.health_conditions();
end $$;


--
-- Name: FUNCTION health_conditions_at_once(); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.health_conditions_at_once() IS 'buyer_sync.health_conditions(), computed by RETURN QUERY: what a PL/pgSQL loop reads instead of the view-like function itself, whose query would run through a cursor and so never in parallel.';


--
-- Name: keep_alert_thresholds_row(); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.keep_alert_thresholds_row() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  raise exception 'buyer_sync.alert_thresholds keeps its one row'
    using errcode = 'restrict_violation',
          hint = 'Change the thresholds with update; "set <column> = default" restores a shipped default.';
end $$;


--
-- Name: FUNCTION keep_alert_thresholds_row(); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.keep_alert_thresholds_row() IS 'Refuses to delete (or truncate) the one row of buyer_sync.alert_thresholds: the thresholds in force are that row, and its column defaults are the only place the shipped values live.';


--
-- Name: now(); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.now() RETURNS timestamp with time zone
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$ select coalesce(nullif(current_setting('buyer_sync.fake_now', true), '')::timestamptz, statement_timestamp()) $$;


--
-- Name: FUNCTION now(); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.now() IS 'The retry schedule''s clock: statement_timestamp(), or the session''s buyer_sync.fake_now when set (tests simulate time with it). Due entries, attempts and their next_retry_at all read it.';


--
-- Name: permanent_failure_cleared(text, timestamp with time zone, uuid); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.permanent_failure_cleared(buyer text, raised_at timestamp with time zone, raised_by_run uuid) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
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


--
-- Name: FUNCTION permanent_failure_cleared(buyer text, raised_at timestamp with time zone, raised_by_run uuid); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.permanent_failure_cleared(buyer text, raised_at timestamp with time zone, raised_by_run uuid) IS 'Whether a buyer that failed for good (alert raised at raised_at by run raised_by_run) has cleared: written since (sync_buyer_changes, or inserted), a retry succeeded, or a later full sync went by without a failure of it while it is in buyers or no longer on the sheet.';


--
-- Name: permanent_failure_details(jsonb, jsonb); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.permanent_failure_details(details jsonb, entry jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$
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


--
-- Name: FUNCTION permanent_failure_details(details jsonb, entry jsonb); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.permanent_failure_details(details jsonb, entry jsonb) IS 'A permanent-failure alert''s details with one more buyer: buyer_numbers (every buyer, complete), count, buyers (the first 50 with row, attempts, type and column), capped (more than 50); buyer_number, attempts, error_type, column_name, row_number are the first buyer''s.';


--
-- Name: permanent_failure_details_many(jsonb, jsonb); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.permanent_failure_details_many(details jsonb, entries jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$
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


--
-- Name: FUNCTION permanent_failure_details_many(details jsonb, entries jsonb); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.permanent_failure_details_many(details jsonb, entries jsonb) IS 'permanent_failure_details for many entries at once (a jsonb array, in order): buyer_numbers gains every buyer not in it yet, buyers the first of them up to 50, the top-level figures stay those of the alert''s first buyer.';


--
-- Name: permanent_failure_message(jsonb); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.permanent_failure_message(details jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
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


--
-- Name: FUNCTION permanent_failure_message(details jsonb); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.permanent_failure_message(details jsonb) IS 'The text of a permanent-failure alert: the buyer and why for one buyer; for several, their count and the first 50 numbers.';


--
-- Name: prunable_reports(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.prunable_reports(reports_cutoff timestamp with time zone, details_cutoff timestamp with time zone) RETURNS TABLE(id uuid, whole boolean)
    LANGUAGE sql STABLE
    AS $$
  select v.id, v.created_at < reports_cutoff
    from buyer_sync.verification_reports v
   where (v.created_at < reports_cutoff or (v.passed and v.created_at < details_cutoff))
     and v.id is distinct from (select l.id from buyer_sync.verification_reports l order by l.created_at desc, l.id limit 1)
     and not exists (select 1 from public.sync_alerts a
                      where a.resolved_at is null and a.resolves is null and a.details->>'report_id' = v.id::text)
$$;


--
-- Name: FUNCTION prunable_reports(reports_cutoff timestamp with time zone, details_cutoff timestamp with time zone); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.prunable_reports(reports_cutoff timestamp with time zone, details_cutoff timestamp with time zone) IS 'Verification reports whose findings and mismatches may be pruned (passed before details_cutoff, or any before reports_cutoff), and whether the report itself may go (whole: before reports_cutoff). Never the latest report, nor one an open alert names.';


--
-- Name: prunable_runs(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.prunable_runs(runs_cutoff timestamp with time zone, skipped_cutoff timestamp with time zone) RETURNS SETOF uuid
    LANGUAGE sql STABLE
    AS $$
  select r.id
    from public.sync_runs r
   where ((r.status in ('succeeded', 'failed') and r.started_at < runs_cutoff)
          or (r.status = 'skipped' and r.started_at < skipped_cutoff))
     and r.id is distinct from (select l.id from public.sync_runs l
                                 where l.mode = 'full' and l.status in ('succeeded', 'skipped')
                                 order by l.started_at desc limit 1)
     and (r.mode <> 'full' or r.status <> 'succeeded'
          or exists (select 1 from public.sync_runs l
                      where l.mode = 'full' and l.status = 'succeeded' and l.source = r.source and l.started_at > r.started_at))
     and not exists (select 1 from public.retry_queue q where q.last_run_id = r.id)
     and not exists (select 1 from public.retry_queue q where q.resolved_run_id = r.id)
     and not exists (select 1 from buyer_sync.verification_reports v where v.run_id = r.id)
     and not exists (select 1 from public.sync_health_metrics m where m.run_id = r.id)
     and not exists (select 1 from buyer_sync_private.sheet_snapshot s where s.run_id = r.id)
     and not exists (select 1 from buyer_sync_private.mass_change_approvals a where a.used_by_run = r.id)
     and not exists (select 1 from buyer_sync_private.report_state s where s.since_run_id = r.id)
     and not exists (select 1 from public.sync_alerts a
                      where a.resolved_at is null and a.resolves is null
                        and (a.details->>'run_id' = r.id::text
                             or a.details->'latest_failures' @> jsonb_build_array(jsonb_build_object('run_id', r.id))))
$$;


--
-- Name: FUNCTION prunable_runs(runs_cutoff timestamp with time zone, skipped_cutoff timestamp with time zone); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.prunable_runs(runs_cutoff timestamp with time zone, skipped_cutoff timestamp with time zone) IS 'Finished runs started before runs_cutoff, and skipped runs before skipped_cutoff, that may be pruned: not the latest successful full sync of their source, not the latest successful or skipped full sync, and named by no retry-queue entry, verification report, health check, sheet snapshot, mass-change approval or open alert.';


--
-- Name: raise_mass_change(text, jsonb); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.raise_mass_change(message text, details jsonb) RETURNS SETOF public.sync_alerts
    LANGUAGE sql
    AS $$
  insert into public.sync_alerts (type, severity, condition, message, details)
  select 'mass_change', t.severity, 'mass_change', message, details from buyer_sync.alert_types t where t.type = 'mass_change'
  on conflict (md5(condition)) where resolved_at is null and resolves is null
  do update set message = excluded.message, details = excluded.details
  returning *
$$;


--
-- Name: FUNCTION raise_mass_change(message text, details jsonb); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.raise_mass_change(message text, details jsonb) IS 'Raises the mass_change alert for a run the guard refused, or updates the open one''s message and figures (not delivered again).';


--
-- Name: raise_permanent_failures(public.retry_queue[]); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.raise_permanent_failures(failed public.retry_queue[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: FUNCTION raise_permanent_failures(failed public.retry_queue[]); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.raise_permanent_failures(failed public.retry_queue[]) IS 'Adds the retry entries that failed for good in one statement to their run''s permanent-failure alert (condition permanent_failure:run:<run id>), raising it with the first; a buyer another open permanent-failure alert names is left there.';


--
-- Name: raise_report_write_failed(text, text, jsonb); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.raise_report_write_failed(condition text, message text, details jsonb) RETURNS SETOF public.sync_alerts
    LANGUAGE sql
    AS $$
  insert into public.sync_alerts (type, severity, condition, message, details)
  select 'report_write_failed', t.severity, condition, message, details from buyer_sync.alert_types t where t.type = 'report_write_failed'
  on conflict (md5(condition)) where resolved_at is null and resolves is null do nothing
  returning *
$$;


--
-- Name: FUNCTION raise_report_write_failed(condition text, message text, details jsonb); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.raise_report_write_failed(condition text, message text, details jsonb) IS 'Raises report_write_failed for a condition (report_write_failed:<target>:<failure>) unless it is open already: once per condition.';


--
-- Name: rebuild_content_hash(jsonb); Type: PROCEDURE; Schema: buyer_sync_private; Owner: -
--

CREATE PROCEDURE buyer_sync_private.rebuild_content_hash(IN columns jsonb)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
declare
  bad text;
begin
  select string_agg(coalesce(c->>'column', '(no column)'), ', ') into bad
    from jsonb_array_elements(columns) as e(c)
   where c->>'column' is null or coalesce(c->>'type', '') not in ('text', 'date', 'bigint');
  if bad is not null or jsonb_array_length(columns) = 0 then
    raise exception 'the content hash needs at least one column, each with a type of text, date or bigint; not so: %', coalesce(bad, 'an empty list')
      using errcode = '22023';
  end if;
  -- A stored generated column cannot change its expression: drop and add it (one rewrite of buyers; the values of unchanged columns hash alike).
  alter table public.buyers drop column content_hash;
  execute format('alter table public.buyers add column content_hash text generated always as (%s) stored',
                 buyer_sync_private.content_hash_expression(columns));
  comment on column public.buyers.content_hash is
    E'md5 over the mapped columns, each as buyer_sync.hash_part encodes it (see buyer_sync_private.content_hash_columns); how a sync tells changed rows from unchanged ones.';
  delete from buyer_sync_private.content_hash_columns;
  insert into buyer_sync_private.content_hash_columns (position, column_name, column_type)
  select ord, c->>'column', c->>'type' from jsonb_array_elements(columns) with ordinality as e(c, ord);
end
$$;


--
-- Name: PROCEDURE rebuild_content_hash(IN columns jsonb); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON PROCEDURE buyer_sync_private.rebuild_content_hash(IN columns jsonb) IS 'Rebuilds buyers.content_hash (and content_hash_columns) over the given columns ([{column, type}], in the mapping''s order). Called by the migration `buyer-sync check-schema --fix` writes when the column mapping changes.';


--
-- Name: recover_dead_workers(); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.recover_dead_workers() RETURNS text[]
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  dead text[];
begin
  -- The rule is re-checked on the row being deleted: a heartbeat committed meanwhile keeps the worker.
  with gone as (
    delete from buyer_sync_private.workers w
     where buyer_sync_private.worker_gone(w.worker_id, w.last_seen_at)
    returning w.worker_id)
  select coalesce(array_agg(worker_id order by worker_id), '{}') into dead from gone;
  if cardinality(dead) > 0 then
    perform graphile_worker.force_unlock_workers(dead);
  end if;
  return dead;
end $$;


--
-- Name: FUNCTION recover_dead_workers(); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.recover_dead_workers() IS 'Forgets the dead workers (buyer_sync.dead_workers) and unlocks their jobs (graphile_worker.force_unlock_workers), in one transaction; returns their ids. Safe to run from any number of processes at once.';


--
-- Name: resolve_mass_change(uuid); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.resolve_mass_change(run uuid) RETURNS SETOF public.sync_alerts
    LANGUAGE plpgsql
    AS $$
declare
  a public.sync_alerts;
begin
  for a in
    update public.sync_alerts s set resolved_at = clock_timestamp()
     where s.condition = 'mass_change' and s.resolved_at is null and s.resolves is null
    returning s.*
  loop
    return query select * from buyer_sync_private.resolve_notice(a, jsonb_build_object('run_id', run));
  end loop;
end $$;


--
-- Name: FUNCTION resolve_mass_change(run uuid); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.resolve_mass_change(run uuid) IS 'Resolves the open mass_change alert, with a notice, once a run commits.';


--
-- Name: resolve_notice(public.sync_alerts, jsonb); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.resolve_notice(a public.sync_alerts, now_details jsonb) RETURNS SETOF public.sync_alerts
    LANGUAGE sql
    AS $$
  insert into public.sync_alerts (type, severity, condition, message, details, resolves)
  values (a.type, 'info', a.condition,
          'resolved: ' || a.message,
          jsonb_build_object('resolved', true, 'alert_id', a.id, 'raised_at', a.created_at,
                             'lasted_seconds', greatest(0, round(extract(epoch from (a.resolved_at - a.created_at))))::bigint,
                             'now', coalesce(now_details, '{}'::jsonb)),
          a.id)
  returning *
$$;


--
-- Name: resolve_report_write_failed(text); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.resolve_report_write_failed(target text) RETURNS SETOF public.sync_alerts
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: FUNCTION resolve_report_write_failed(target text); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.resolve_report_write_failed(target text) IS 'A report write succeeded: resolves the open report_write_failed alerts of its target (with a resolved notice each).';


--
-- Name: retention_cutoff(text); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.retention_cutoff(which text) RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select coalesce((select now() - r.keep from buyer_sync.retention r where r.kind = which), '-infinity'::timestamptz)
$$;


--
-- Name: FUNCTION retention_cutoff(which text); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.retention_cutoff(which text) IS 'now() minus the kind''s keep in buyer_sync.retention: rows older than this may be pruned. -infinity (nothing is pruned) when the kind has no row.';


--
-- Name: thresholds(); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.thresholds() RETURNS TABLE(missing_buyers_max integer, error_rate_max numeric, slow_sync_after interval, stale_after interval)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  select t.missing_buyers_max, t.error_rate_max, t.slow_sync_after, t.stale_after
    from buyer_sync.alert_thresholds t
$$;


--
-- Name: FUNCTION thresholds(); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.thresholds() IS 'The alert thresholds in force: the one row of buyer_sync.alert_thresholds (it cannot be deleted; its column defaults are the shipped values).';


--
-- Name: use_mass_change_approval(uuid); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.use_mass_change_approval(run uuid) RETURNS bigint
    LANGUAGE sql
    AS $$
  update buyer_sync_private.mass_change_approvals a
     set used_by_run = run, used_at = clock_timestamp()
   where a.id = (select o.id from buyer_sync_private.mass_change_approvals o
                  where o.used_at is null and o.expires_at > clock_timestamp()
                  order by o.approved_at
                  limit 1
                  for update skip locked)
  returning a.id
$$;


--
-- Name: FUNCTION use_mass_change_approval(run uuid); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.use_mass_change_approval(run uuid) IS 'Uses the oldest open approval of a mass change for the run; null when there is none.';


--
-- Name: verification_alert(); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.verification_alert() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
declare
  a public.sync_alerts;
begin
  if new.trigger <> 'after_sync' then
    return null;
  end if;
  if not new.accurate then
    insert into public.sync_alerts (type, severity, condition, message, details)
    values ('verification_failed', 'critical', 'verification_failed',
            format('%s of %s sampled buyer(s) differ from the sheet rows the sync had just read (%s column(s)); select * from buyer_sync.verification_mismatches where report_id = ''%s''',
                   new.mismatched_buyers, new.sample_size, new.mismatch_count, new.id),
            jsonb_build_object('report_id', new.id, 'run_id', new.run_id, 'mismatch_count', new.mismatch_count,
                               'mismatched_buyers', new.mismatched_buyers, 'sample_size', new.sample_size))
    on conflict (md5(condition)) where resolved_at is null and resolves is null do nothing;
  else
    for a in
      update public.sync_alerts s set resolved_at = clock_timestamp()
       where s.condition = 'verification_failed' and s.resolved_at is null and s.resolves is null
      returning s.*
    loop
      perform buyer_sync_private.resolve_notice(a, jsonb_build_object('report_id', new.id, 'sample_size', new.sample_size));
    end loop;
  end if;
  return null;
end $$;


--
-- Name: FUNCTION verification_alert(); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.verification_alert() IS 'Raises verification_failed when a verification after a scheduled sync finds differences, and resolves it when one finds none.';


--
-- Name: worker_gone(text, timestamp with time zone); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.worker_gone(worker_id text, last_seen_at timestamp with time zone) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select last_seen_at < now() - (select l.dead_after from buyer_sync_private.worker_liveness l)
     and not exists (
           select 1 from pg_catalog.pg_locks k
            where k.locktype = 'advisory' and k.database = (select oid from pg_catalog.pg_database where datname = current_database())
              and k.classid = 7340002 and k.objid = hashtext(worker_id)::oid and k.objsubid = 2 and k.granted)
$$;


--
-- Name: FUNCTION worker_gone(worker_id text, last_seen_at timestamp with time zone); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.worker_gone(worker_id text, last_seen_at timestamp with time zone) IS 'Whether a registered worker is dead: its advisory lock (7340002, hashtext(worker_id)) is not held and its heartbeat is older than worker_liveness.dead_after.';


--
-- Name: _private_jobs; Type: TABLE; Schema: graphile_worker; Owner: -
--

CREATE TABLE graphile_worker._private_jobs (
    id bigint NOT NULL,
    job_queue_id integer,
    task_id integer NOT NULL,
    payload json DEFAULT '{}'::json NOT NULL,
    priority smallint DEFAULT 0 NOT NULL,
    run_at timestamp with time zone DEFAULT now() NOT NULL,
    attempts smallint DEFAULT 0 NOT NULL,
    max_attempts smallint DEFAULT 25 NOT NULL,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    key text,
    locked_at timestamp with time zone,
    locked_by text,
    revision integer DEFAULT 0 NOT NULL,
    flags jsonb,
    is_available boolean GENERATED ALWAYS AS (((locked_at IS NULL) AND (attempts < max_attempts))) STORED NOT NULL,
    CONSTRAINT jobs_key_check CHECK (((length(key) > 0) AND (length(key) <= 512))),
    CONSTRAINT jobs_max_attempts_check CHECK ((max_attempts >= 1))
);


--
-- Name: add_job(text, json, text, timestamp with time zone, integer, text, integer, text[], text); Type: FUNCTION; Schema: graphile_worker; Owner: -
--

CREATE FUNCTION graphile_worker.add_job(identifier text, payload json DEFAULT NULL::json, queue_name text DEFAULT NULL::text, run_at timestamp with time zone DEFAULT NULL::timestamp with time zone, max_attempts integer DEFAULT NULL::integer, job_key text DEFAULT NULL::text, priority integer DEFAULT NULL::integer, flags text[] DEFAULT NULL::text[], job_key_mode text DEFAULT 'replace'::text) RETURNS graphile_worker._private_jobs
    LANGUAGE plpgsql
    AS $$
declare
  v_job "graphile_worker"._private_jobs;
begin
  if (job_key is null or job_key_mode is null or job_key_mode in ('replace', 'preserve_run_at')) then
    select * into v_job
    from "graphile_worker".add_jobs(
      ARRAY[(
        identifier,
        payload,
        queue_name,
        run_at,
        max_attempts::smallint,
        job_key,
        priority::smallint,
        flags
      )::"graphile_worker".job_spec],
      (job_key_mode = 'preserve_run_at')
    )
    limit 1;
    return v_job;
  elsif job_key_mode = 'unsafe_dedupe' then
    -- Ensure all the tasks exist (insert only missing identifiers so identity is not consumed)
    insert into "graphile_worker"._private_tasks as tasks (identifier)
    select add_job.identifier
    where not exists (
      select 1
      from "graphile_worker"._private_tasks as existing
      where existing.identifier = add_job.identifier
    )
    on conflict do nothing;
    -- Ensure all the queues exist
    if add_job.queue_name is not null then
      insert into "graphile_worker"._private_job_queues as job_queues (queue_name)
      select add_job.queue_name
      where not exists (
        select 1
        from "graphile_worker"._private_job_queues as existing
        where existing.queue_name = add_job.queue_name
      )
      on conflict do nothing;
    end if;
    -- Insert job, but if one already exists then do nothing, even if the
    -- existing job has already started (and thus represents an out-of-date
    -- world state). This is dangerous because it means that whatever state
    -- change triggered this add_job may not be acted upon (since it happened
    -- after the existing job started executing, but no further job is being
    -- scheduled), but it is useful in very rare circumstances for
    -- de-duplication. If in doubt, DO NOT USE THIS.
    insert into "graphile_worker"._private_jobs as jobs (
      job_queue_id,
      task_id,
      payload,
      run_at,
      max_attempts,
      key,
      priority,
      flags
    )
      select
        job_queues.id,
        tasks.id,
        coalesce(add_job.payload, '{}'::json),
        coalesce(add_job.run_at, now()),
        coalesce(add_job.max_attempts::smallint, 25::smallint),
        add_job.job_key,
        coalesce(add_job.priority::smallint, 0::smallint),
        (
          select jsonb_object_agg(flag, true)
          from unnest(add_job.flags) as item(flag)
        )
      from "graphile_worker"._private_tasks as tasks
      left join "graphile_worker"._private_job_queues as job_queues
      on job_queues.queue_name = add_job.queue_name
      where tasks.identifier = add_job.identifier
    on conflict (key)
      -- Bump the updated_at so that there's something to return
      do update set
        revision = jobs.revision + 1,
        updated_at = now()
      returning *
      into v_job;
    if v_job.revision = 0 then
      perform pg_notify('jobs:insert', '{"r":' || random()::text || ',"count":1}');
    end if;
    return v_job;
  else
    raise exception 'Invalid job_key_mode value, expected ''replace'', ''preserve_run_at'' or ''unsafe_dedupe''.' using errcode = 'GWBKM';
  end if;
end;
$$;


--
-- Name: add_jobs(graphile_worker.job_spec[], boolean); Type: FUNCTION; Schema: graphile_worker; Owner: -
--

CREATE FUNCTION graphile_worker.add_jobs(specs graphile_worker.job_spec[], job_key_preserve_run_at boolean DEFAULT false) RETURNS SETOF graphile_worker._private_jobs
    LANGUAGE plpgsql
    AS $$
begin
  -- Ensure all the tasks exist (insert only missing identifiers so identity is not consumed)
  insert into "graphile_worker"._private_tasks as tasks (identifier)
  select distinct spec.identifier
  from unnest(specs) spec
  where not exists (
    select 1
    from "graphile_worker"._private_tasks as existing
    where existing.identifier = spec.identifier
  )
  on conflict do nothing;
  -- Ensure all the queues exist
  insert into "graphile_worker"._private_job_queues as job_queues (queue_name)
  select distinct spec.queue_name
  from unnest(specs) spec
  where spec.queue_name is not null
  and not exists (
    select 1
    from "graphile_worker"._private_job_queues as existing
    where existing.queue_name = spec.queue_name
  )
  on conflict do nothing;
  -- Ensure any locked jobs have their key cleared - in the case of locked
  -- existing job create a new job instead as it must have already started
  -- executing (i.e. it's world state is out of date, and the fact add_job
  -- has been called again implies there's new information that needs to be
  -- acted upon).
  update "graphile_worker"._private_jobs as jobs
  set
    key = null,
    attempts = jobs.max_attempts,
    updated_at = now()
  from unnest(specs) spec
  where spec.job_key is not null
  and jobs.key = spec.job_key
  and is_available is not true;

  -- WARNING: this count is not 100% accurate; 'on conflict' clause will cause it to be an overestimate
  perform pg_notify('jobs:insert', '{"r":' || random()::text || ',"count":' || array_length(specs, 1)::text || '}');

  -- TODO: is there a risk that a conflict could occur depending on the
  -- isolation level?
  return query insert into "graphile_worker"._private_jobs as jobs (
    job_queue_id,
    task_id,
    payload,
    run_at,
    max_attempts,
    key,
    priority,
    flags
  )
    select
      job_queues.id,
      tasks.id,
      coalesce(spec.payload, '{}'::json),
      coalesce(spec.run_at, now()),
      coalesce(spec.max_attempts, 25),
      spec.job_key,
      coalesce(spec.priority, 0),
      (
        select jsonb_object_agg(flag, true)
        from unnest(spec.flags) as item(flag)
      )
    from unnest(specs) spec
    inner join "graphile_worker"._private_tasks as tasks
    on tasks.identifier = spec.identifier
    left join "graphile_worker"._private_job_queues as job_queues
    on job_queues.queue_name = spec.queue_name
  on conflict (key) do update set
    job_queue_id = excluded.job_queue_id,
    task_id = excluded.task_id,
    payload =
      case
      when json_typeof(jobs.payload) = 'array' and json_typeof(excluded.payload) = 'array' then
        (jobs.payload::jsonb || excluded.payload::jsonb)::json
      else
        excluded.payload
      end,
    max_attempts = excluded.max_attempts,
    run_at = (case
      when job_key_preserve_run_at is true and jobs.attempts = 0 then jobs.run_at
      else excluded.run_at
    end),
    priority = excluded.priority,
    revision = jobs.revision + 1,
    flags = excluded.flags,
    -- always reset error/retry state
    attempts = 0,
    last_error = null,
    updated_at = now()
  where jobs.locked_at is null
  returning *;
end;
$$;


--
-- Name: complete_jobs(bigint[]); Type: FUNCTION; Schema: graphile_worker; Owner: -
--

CREATE FUNCTION graphile_worker.complete_jobs(job_ids bigint[]) RETURNS SETOF graphile_worker._private_jobs
    LANGUAGE sql
    AS $$
  delete from "graphile_worker"._private_jobs as jobs
    where id = any(job_ids)
    and (
      locked_at is null
    or
      locked_at < now() - interval '4 hours'
    )
    returning *;
$$;


--
-- Name: force_unlock_workers(text[]); Type: FUNCTION; Schema: graphile_worker; Owner: -
--

CREATE FUNCTION graphile_worker.force_unlock_workers(worker_ids text[]) RETURNS void
    LANGUAGE sql
    AS $$
update "graphile_worker"._private_jobs as jobs
set locked_at = null, locked_by = null
where locked_by = any(worker_ids);
update "graphile_worker"._private_job_queues as job_queues
set locked_at = null, locked_by = null
where locked_by = any(worker_ids);
$$;


--
-- Name: permanently_fail_jobs(bigint[], text); Type: FUNCTION; Schema: graphile_worker; Owner: -
--

CREATE FUNCTION graphile_worker.permanently_fail_jobs(job_ids bigint[], error_message text DEFAULT NULL::text) RETURNS SETOF graphile_worker._private_jobs
    LANGUAGE sql
    AS $$
  update "graphile_worker"._private_jobs as jobs
    set
      last_error = coalesce(error_message, 'Manually marked as failed'),
      attempts = max_attempts,
      updated_at = now()
    where id = any(job_ids)
    and (
      locked_at is null
    or
      locked_at < NOW() - interval '4 hours'
    )
    returning *;
$$;


--
-- Name: remove_job(text); Type: FUNCTION; Schema: graphile_worker; Owner: -
--

CREATE FUNCTION graphile_worker.remove_job(job_key text) RETURNS graphile_worker._private_jobs
    LANGUAGE plpgsql STRICT
    AS $$
declare
  v_job "graphile_worker"._private_jobs;
begin
  -- Delete job if not locked
  delete from "graphile_worker"._private_jobs as jobs
    where key = job_key
    and (
      locked_at is null
    or
      locked_at < NOW() - interval '4 hours'
    )
  returning * into v_job;
  if not (v_job is null) then
    perform pg_notify('jobs:insert', '{"r":' || random()::text || ',"count":-1}');
    return v_job;
  end if;
  -- Otherwise prevent job from retrying, and clear the key
  update "graphile_worker"._private_jobs as jobs
  set
    key = null,
    attempts = jobs.max_attempts,
    updated_at = now()
  where key = job_key
  returning * into v_job;
  return v_job;
end;
$$;


--
-- Name: reschedule_jobs(bigint[], timestamp with time zone, integer, integer, integer); Type: FUNCTION; Schema: graphile_worker; Owner: -
--

CREATE FUNCTION graphile_worker.reschedule_jobs(job_ids bigint[], run_at timestamp with time zone DEFAULT NULL::timestamp with time zone, priority integer DEFAULT NULL::integer, attempts integer DEFAULT NULL::integer, max_attempts integer DEFAULT NULL::integer) RETURNS SETOF graphile_worker._private_jobs
    LANGUAGE sql
    AS $$
  update "graphile_worker"._private_jobs as jobs
    set
      run_at = coalesce(reschedule_jobs.run_at, jobs.run_at),
      priority = coalesce(reschedule_jobs.priority::smallint, jobs.priority),
      attempts = coalesce(reschedule_jobs.attempts::smallint, jobs.attempts),
      max_attempts = coalesce(reschedule_jobs.max_attempts::smallint, jobs.max_attempts),
      updated_at = now()
    where id = any(job_ids)
    and (
      locked_at is null
    or
      locked_at < NOW() - interval '4 hours'
    )
    returning *;
$$;


--
-- Name: buyer_provenance; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.buyer_provenance AS
 SELECT b.buyer_number,
    ( SELECT r.id
           FROM public.sync_runs r
          WHERE (r.started_at <= b.created_at)
          ORDER BY r.started_at DESC
         LIMIT 1) AS inserted_by_run,
    ( SELECT r.id
           FROM public.sync_runs r
          WHERE (r.started_at <= b.synced_at)
          ORDER BY r.started_at DESC
         LIMIT 1) AS last_written_by_run,
    b.created_at,
    b.synced_at
   FROM public.buyers b;


--
-- Name: VIEW buyer_provenance; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.buyer_provenance IS 'For each buyer, the sync run that inserted it and the one that last wrote it.';


--
-- Name: daily_error_rate; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.daily_error_rate AS
 WITH runs AS (
         SELECT date_trunc('day'::text, r_1.started_at) AS day,
            r_1.id,
            r_1.status,
            r_1.failure,
            (r_1.total_rows - r_1.blank_rows) AS rows,
            r_1.failed,
            row_number() OVER (PARTITION BY (date_trunc('day'::text, r_1.started_at)) ORDER BY r_1.started_at DESC, r_1.id) AS k
           FROM public.sync_runs r_1
          WHERE ((r_1.mode = 'full'::text) AND (r_1.status = ANY (ARRAY['succeeded'::text, 'failed'::text])))
        )
 SELECT r.day,
    (( SELECT count(*) AS count
           FROM runs a
          WHERE (a.day = r.day)))::integer AS full_runs,
    (( SELECT count(*) AS count
           FROM runs a
          WHERE ((a.day = r.day) AND (a.status = 'failed'::text))))::integer AS failed_runs,
    r.id AS last_run_id,
    r.status AS last_status,
    r.failure AS last_failure,
    r.rows AS non_blank_rows,
        CASE
            WHEN (r.status = 'failed'::text) THEN r.rows
            ELSE r.failed
        END AS failed_rows,
    (
        CASE
            WHEN (r.status = 'failed'::text) THEN (100)::numeric
            ELSE COALESCE(round(((100.0 * (r.failed)::numeric) / (NULLIF(r.rows, 0))::numeric), 2), (0)::numeric)
        END)::numeric(5,2) AS error_rate
   FROM runs r
  WHERE (r.k = 1);


--
-- Name: VIEW daily_error_rate; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.daily_error_rate IS 'Per day (the database''s TimeZone): the full syncs that finished, how many failed, and the error rate of the day''s last one: the percent of its non-blank rows that failed; a failed run wrote nothing and counts 100 %. The latest day''s rate is buyer_sync.verdict.latest_error_rate.';


--
-- Name: sync_error_log; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sync_error_log (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    buyer_number text,
    row_number integer,
    error_message text NOT NULL,
    error_type text NOT NULL,
    stack_trace text,
    retryable boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    run_id uuid,
    column_name text,
    CONSTRAINT sync_error_log_row_number_check CHECK ((row_number >= 2))
);


--
-- Name: TABLE sync_error_log; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.sync_error_log IS 'One row per sheet row that failed to sync, per attempt. Never holds a cell value other than the buyer number.';


--
-- Name: COLUMN sync_error_log.buyer_number; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_error_log.buyer_number IS 'The failing row''s buyer number, or null when the row had none.';


--
-- Name: COLUMN sync_error_log.row_number; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_error_log.row_number IS 'The sheet''s own row number (the header is row 1).';


--
-- Name: COLUMN sync_error_log.error_message; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_error_log.error_message IS 'What failed: the column, the rule and, for lengths, the length. Never a cell value.';


--
-- Name: COLUMN sync_error_log.error_type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_error_log.error_type IS 'field_length, data_type, constraint_violation, transient or unknown.';


--
-- Name: COLUMN sync_error_log.retryable; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_error_log.retryable IS 'Whether the buyer was queued for retry because of this failure: a retryable type (buyer_sync.error_types) and a usable buyer number. Run-level entries (a run that stopped) are never queued.';


--
-- Name: COLUMN sync_error_log.run_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_error_log.run_id IS 'The sync run the failure happened in.';


--
-- Name: COLUMN sync_error_log.column_name; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_error_log.column_name IS 'The column whose value broke a rule, when one did.';


--
-- Name: daily_errors_by_type; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.daily_errors_by_type AS
 SELECT date_trunc('day'::text, e.created_at) AS day,
    e.error_type,
    (count(*))::integer AS errors,
    (count(DISTINCT e.buyer_number))::integer AS buyers,
    (count(*) FILTER (WHERE e.retryable))::integer AS queued_for_retry
   FROM public.sync_error_log e
  GROUP BY (date_trunc('day'::text, e.created_at)), e.error_type;


--
-- Name: VIEW daily_errors_by_type; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.daily_errors_by_type IS 'Error-log entries per day (session TimeZone) and type, with the distinct buyers they concern.';


--
-- Name: daily_failing_buyers; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.daily_failing_buyers AS
 WITH e AS (
         SELECT date_trunc('day'::text, l.created_at) AS day,
            l.error_type,
            COALESCE(('b:'::text || l.buyer_number), ('r:'::text || (l.row_number)::text)) AS who
           FROM public.sync_error_log l
          WHERE ((l.buyer_number IS NOT NULL) OR (l.row_number IS NOT NULL))
        )
 SELECT g.day,
    g.error_type,
    g.buyers,
    g.buyers_all_types
   FROM ( SELECT a.day,
            a.error_type,
            a.buyers,
            a.all_types,
            max(a.buyers) FILTER (WHERE (a.all_types = 1)) OVER (PARTITION BY a.day) AS buyers_all_types
           FROM ( SELECT e.day,
                    e.error_type,
                    (count(DISTINCT e.who))::integer AS buyers,
                    GROUPING(e.error_type) AS all_types
                   FROM e
                  GROUP BY GROUPING SETS ((e.day, e.error_type), (e.day))) a) g
  WHERE (g.all_types = 0);


--
-- Name: VIEW daily_failing_buyers; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.daily_failing_buyers IS 'Distinct failing buyers per day (the database''s TimeZone) and error type, however many times each was retried or synced that day; a row without a buyer number counts once by its sheet row; a run''s own failure (no buyer, no row) is not counted. buyers_all_types: distinct failing buyers of the day, any type.';


--
-- Name: daily_runs; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.daily_runs AS
 WITH runs AS (
         SELECT date_trunc('day'::text, r_1.started_at) AS day,
            r_1.status,
            r_1.failure,
            (r_1.total_rows - r_1.blank_rows) AS rows,
            r_1.failed,
            r_1.duration_ms
           FROM public.sync_runs r_1
        ), failures AS (
         SELECT f_1.day,
            jsonb_object_agg(f_1.failure, f_1.runs) AS failures
           FROM ( SELECT runs.day,
                    runs.failure,
                    count(*) AS runs
                   FROM runs
                  WHERE (runs.failure IS NOT NULL)
                  GROUP BY runs.day, runs.failure) f_1
          GROUP BY f_1.day
        )
 SELECT r.day,
    (count(*))::integer AS runs,
    (count(*) FILTER (WHERE (r.status = 'succeeded'::text)))::integer AS succeeded,
    (count(*) FILTER (WHERE (r.status = 'failed'::text)))::integer AS failed_runs,
    COALESCE((max((f.failures)::text))::jsonb, '{}'::jsonb) AS failures,
    COALESCE(sum(r.rows) FILTER (WHERE (r.status = 'succeeded'::text)), (0)::bigint) AS non_blank_rows,
    COALESCE(sum(r.failed) FILTER (WHERE (r.status = 'succeeded'::text)), (0)::bigint) AS failed_rows,
    (COALESCE(round(((100.0 * (sum(r.failed) FILTER (WHERE (r.status = 'succeeded'::text)))::numeric) / (NULLIF(sum(r.rows) FILTER (WHERE (r.status = 'succeeded'::text)), 0))::numeric), 2), (0)::numeric))::numeric(5,2) AS error_rate,
    (round(avg(r.duration_ms) FILTER (WHERE (r.status = 'succeeded'::text))))::integer AS avg_duration_ms,
    max(r.duration_ms) FILTER (WHERE (r.status = 'succeeded'::text)) AS max_duration_ms
   FROM (runs r
     LEFT JOIN failures f ON ((f.day = r.day)))
  GROUP BY r.day;


--
-- Name: VIEW daily_runs; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.daily_runs IS 'Runs per day (in the session''s TimeZone: set timezone = ''Asia/Tokyo''): how many, how many failed and why (failures: reason -> runs), the rows of the succeeded ones and their error rate (percent of non-blank rows that failed), durations.';


--
-- Name: dead_workers; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.dead_workers AS
 SELECT w.worker_id,
    w.host,
    w.pid,
    w.started_at,
    w.last_seen_at
   FROM buyer_sync_private.workers w
  WHERE buyer_sync_private.worker_gone(w.worker_id, w.last_seen_at);


--
-- Name: VIEW dead_workers; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.dead_workers IS 'Registered workers whose process is gone: their advisory lock is not held and their heartbeat is older than worker_liveness.dead_after. Their jobs can be unlocked at once.';


--
-- Name: error_types; Type: TABLE; Schema: buyer_sync; Owner: -
--

CREATE TABLE buyer_sync.error_types (
    error_type text NOT NULL,
    retryable boolean NOT NULL,
    description text NOT NULL
);


--
-- Name: TABLE error_types; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON TABLE buyer_sync.error_types IS 'The categories of a failed sheet row, and whether a failure of that kind is queued for retry.';


--
-- Name: lookalike_buyers; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.lookalike_buyers AS
 WITH unplain AS (
         SELECT b.buyer_number,
            buyer_sync.fold_key(b.buyer_number) AS folded_key
           FROM public.buyers b
          WHERE (b.buyer_number !~ '^[!-~]([ -~]*[!-~])?$'::text)
        ), spellings AS (
         SELECT u.folded_key,
            u.buyer_number
           FROM unplain u
        UNION
         SELECT u.folded_key,
            p.buyer_number
           FROM (unplain u
             JOIN public.buyers p ON ((p.buyer_number = u.folded_key)))
        )
 SELECT s.folded_key,
    array_agg(s.buyer_number ORDER BY (s.buyer_number COLLATE "C")) AS buyer_numbers,
    (count(*))::integer AS spellings
   FROM spellings s
  GROUP BY s.folded_key
 HAVING ((count(*) > 1) OR (s.folded_key = ''::text));


--
-- Name: VIEW lookalike_buyers; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.lookalike_buyers IS 'Buyer numbers in buyers that are one number written differently: each row is a fold (buyer_sync.fold_key) and the buyer numbers that share it (two rows for one buyer). folded_key '''' lists buyer numbers made only of invisible characters or spaces. Empty when all is well; buyer-sync verify and health report it. Buyer numbers only.';


--
-- Name: COLUMN lookalike_buyers.folded_key; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.lookalike_buyers.folded_key IS 'The fold the buyer numbers share; '''' for numbers that fold to nothing.';


--
-- Name: COLUMN lookalike_buyers.buyer_numbers; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.lookalike_buyers.buyer_numbers IS 'The buyer numbers, as stored, in code point order.';


--
-- Name: COLUMN lookalike_buyers.spellings; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.lookalike_buyers.spellings IS 'How many buyer numbers share the fold.';


--
-- Name: synced_tables; Type: TABLE; Schema: buyer_sync_private; Owner: -
--

CREATE TABLE buyer_sync_private.synced_tables (
    table_schema text NOT NULL,
    table_name text NOT NULL
);


--
-- Name: TABLE synced_tables; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON TABLE buyer_sync_private.synced_tables IS 'Tables written by the sync, whose text-like columns must all be text.';


--
-- Name: non_text_columns; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.non_text_columns AS
 WITH RECURSIVE resolved AS (
         SELECT a_1.attrelid,
            a_1.attnum,
            a_1.atttypid AS type_oid,
            a_1.atttypmod AS type_mod,
            false AS is_array
           FROM (((buyer_sync_private.synced_tables st
             JOIN pg_namespace n_1 ON ((n_1.nspname = st.table_schema)))
             JOIN pg_class c_1 ON (((c_1.relnamespace = n_1.oid) AND (c_1.relname = st.table_name))))
             JOIN pg_attribute a_1 ON ((a_1.attrelid = c_1.oid)))
          WHERE ((c_1.relkind = ANY (ARRAY['r'::"char", 'p'::"char"])) AND (a_1.attnum > 0) AND (NOT a_1.attisdropped))
        UNION ALL
         SELECT r_1.attrelid,
            r_1.attnum,
                CASE
                    WHEN (t.typtype = 'd'::"char") THEN t.typbasetype
                    ELSE t.typelem
                END AS typelem,
                CASE
                    WHEN (t.typtype = 'd'::"char") THEN t.typtypmod
                    ELSE r_1.type_mod
                END AS type_mod,
            (r_1.is_array OR (t.typtype <> 'd'::"char"))
           FROM (resolved r_1
             JOIN pg_type t ON ((t.oid = r_1.type_oid)))
          WHERE ((t.typtype = 'd'::"char") OR ((t.typcategory = 'A'::"char") AND (t.typelem <> (0)::oid)))
        )
 SELECT (n.nspname)::text AS table_schema,
    (c.relname)::text AS table_name,
    (a.attname)::text AS column_name,
    (
        CASE r.type_oid
            WHEN 'character varying'::regtype THEN 'character varying'::text
            ELSE 'character'::text
        END ||
        CASE
            WHEN r.is_array THEN '[]'::text
            ELSE ''::text
        END) AS data_type,
        CASE
            WHEN (r.type_mod >= 4) THEN (r.type_mod - 4)
            ELSE NULL::integer
        END AS character_maximum_length,
    format_type(a.atttypid, a.atttypmod) AS declared_type,
    (a.attnum)::integer AS ordinal_position
   FROM (((resolved r
     JOIN pg_attribute a ON (((a.attrelid = r.attrelid) AND (a.attnum = r.attnum))))
     JOIN pg_class c ON ((c.oid = r.attrelid)))
     JOIN pg_namespace n ON ((n.oid = c.relnamespace)))
  WHERE (r.type_oid = ANY (ARRAY[('character varying'::regtype)::oid, ('character'::regtype)::oid]));


--
-- Name: VIEW non_text_columns; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.non_text_columns IS 'Text-like columns of the synced tables that are not text (varchar, char, domains and arrays of them). Must be empty before a sync may run.';


--
-- Name: COLUMN non_text_columns.data_type; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.non_text_columns.data_type IS 'character varying or character, with [] for arrays.';


--
-- Name: COLUMN non_text_columns.character_maximum_length; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.non_text_columns.character_maximum_length IS 'The declared length limit, or null for none.';


--
-- Name: COLUMN non_text_columns.declared_type; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.non_text_columns.declared_type IS 'The column''s type as declared (a domain keeps its name), what a rollback restores.';


--
-- Name: recent_runs; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.recent_runs AS
 SELECT s.run_id,
    s.started_at,
    s.finished_at,
    s.mode,
    s.status,
    s.failure,
    s.source,
    s.total_rows,
    s.blank_rows,
    s.non_blank_rows,
    s.inserted,
    s.updated,
    s.unchanged,
    s.failed,
    s.error_rate,
    s.errors_by_type,
    s.duration_ms,
    s.rows_per_second,
    s.retry_queue_size,
    s.error_type,
    s.error_message
   FROM buyer_sync.run_stats s
  ORDER BY s.started_at DESC, s.run_id
 LIMIT 50;


--
-- Name: VIEW recent_runs; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.recent_runs IS 'The 50 latest sync runs, newest first, with their error rates.';


--
-- Name: report_failing_rows; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.report_failing_rows AS
 WITH full_runs AS MATERIALIZED (
         SELECT r.id,
            r.started_at,
            row_number() OVER (ORDER BY r.started_at, r.id) AS place
           FROM public.sync_runs r
          WHERE ((r.mode = 'full'::text) AND (r.status = 'succeeded'::text))
        ), last_full AS (
         SELECT r.id,
            r.started_at
           FROM public.sync_runs r
          WHERE ((r.mode = 'full'::text) AND (r.status = 'succeeded'::text))
          ORDER BY r.started_at DESC
         LIMIT 1
        ), logged AS (
         SELECT e.id,
            e.row_number,
            e.buyer_number,
            e.column_name,
            e.error_type,
            e.error_message,
            e.retryable,
            e.created_at,
            f.id AS full_run_id,
            f.started_at AS full_started_at
           FROM (public.sync_error_log e
             JOIN last_full f ON ((f.id = e.run_id)))
          WHERE (e.row_number IS NOT NULL)
        )
 SELECT COALESCE(later.row_number, l.row_number) AS row_number,
    l.buyer_number,
    COALESCE(later.column_name, l.column_name) AS column_name,
    COALESCE(later.error_type, l.error_type) AS error_type,
    regexp_replace(COALESCE(later.error_message, l.error_message), '^row [0-9]+: '::text, ''::text) AS problem,
    COALESCE(streak.first_seen, l.created_at) AS since,
    COALESCE(
        CASE
            WHEN l.retryable THEN q.attempt_count
            ELSE NULL::integer
        END, 0) AS attempts,
        CASE
            WHEN (l.retryable AND (q.status = ANY (ARRAY['pending'::text, 'processing'::text]))) THEN q.next_retry_at
            ELSE NULL::timestamp with time zone
        END AS next_retry_at,
    l.full_run_id AS run_id
   FROM (((logged l
     LEFT JOIN LATERAL ( SELECT q_1.id,
            q_1.buyer_number,
            q_1.row_number,
            q_1.error_info,
            q_1.attempt_count,
            q_1.next_retry_at,
            q_1.created_at,
            q_1.updated_at,
            q_1.status,
            q_1.source,
            q_1.resolution,
            q_1.resolved_at,
            q_1.last_run_id,
            q_1.resolved_run_id,
            q_1.row_hash,
            q_1.last_attempt_at,
            q_1.released_at
           FROM public.retry_queue q_1
          WHERE ((l.buyer_number IS NOT NULL) AND (q_1.buyer_number = l.buyer_number))
          ORDER BY q_1.created_at DESC
         LIMIT 1) q ON (true))
     LEFT JOIN LATERAL ( SELECT e.row_number,
            e.column_name,
            e.error_type,
            e.error_message
           FROM (public.sync_error_log e
             JOIN public.sync_runs r ON ((r.id = e.run_id)))
          WHERE (l.retryable AND (e.run_id = q.last_run_id) AND (e.buyer_number = l.buyer_number) AND (e.row_number IS NOT NULL) AND (r.started_at > l.full_started_at))
          ORDER BY e.created_at DESC
         LIMIT 1) later ON (true))
     LEFT JOIN LATERAL ( WITH mine AS MATERIALIZED (
                 SELECT e2.run_id,
                    e2.created_at
                   FROM public.sync_error_log e2
                  WHERE ((l.buyer_number IS NOT NULL) AND (e2.buyer_number = l.buyer_number))
                UNION ALL
                 SELECT e2.run_id,
                    e2.created_at
                   FROM public.sync_error_log e2
                  WHERE ((l.buyer_number IS NULL) AND (e2.buyer_number IS NULL) AND (e2.row_number = l.row_number))
                ), placed AS (
                 SELECT m.created_at,
                    fr.place,
                    (fr.place - dense_rank() OVER (ORDER BY fr.place)) AS island
                   FROM (mine m
                     JOIN full_runs fr ON ((fr.id = m.run_id)))
                  WHERE (fr.started_at <= l.full_started_at)
                )
         SELECT min(p.created_at) AS first_seen
           FROM placed p
          WHERE (p.island = ( SELECT p2.island
                   FROM placed p2
                  ORDER BY p2.place DESC
                 LIMIT 1))) streak ON (true))
  WHERE (NOT COALESCE((l.retryable AND (q.status = 'succeeded'::text) AND (q.resolved_at > l.full_started_at) AND (q.resolved_run_id IS DISTINCT FROM l.full_run_id)), false));


--
-- Name: VIEW report_failing_rows; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.report_failing_rows IS 'The sheet rows failing now, as the sync report shows them: every row the latest succeeded full sync logged, minus rows a later retry or --only run synced (or found gone), with the message of a later failure when there is one. problem is the row rule''s message without its "row N: " prefix (column and rule, never a cell value but the buyer number). since: the first full sync of the unbroken series that failed this buyer (this row without a buyer number); attempts and next_retry_at from retry_queue (0 and null for rows that are not retried).';


--
-- Name: COLUMN report_failing_rows.run_id; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.report_failing_rows.run_id IS 'The full sync whose error log the row comes from.';


--
-- Name: report_duplicate_keys; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.report_duplicate_keys AS
 SELECT k.buyer_number,
    array_agg(DISTINCT k.row_number ORDER BY k.row_number) AS row_numbers
   FROM ( SELECT f.buyer_number,
            f.row_number
           FROM buyer_sync.report_failing_rows f
          WHERE (f.buyer_number IS NOT NULL)
        UNION
         SELECT s.buyer_number,
            s.row_number
           FROM buyer_sync_private.sheet_buyers s) k
  GROUP BY k.buyer_number
 HAVING (count(DISTINCT k.row_number) > 1);


--
-- Name: VIEW report_duplicate_keys; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.report_duplicate_keys IS 'Buyer numbers on more than one row of the sheet (its latest full read and the rows failing now), with those rows: one line each in the sync report.';


--
-- Name: report_state; Type: TABLE; Schema: buyer_sync_private; Owner: -
--

CREATE TABLE buyer_sync_private.report_state (
    target text NOT NULL,
    content_hash text NOT NULL,
    since_run_id uuid,
    written_at timestamp with time zone NOT NULL,
    lines integer NOT NULL,
    read_version text,
    own_version text,
    notes_hash text,
    CONSTRAINT report_state_lines_check CHECK ((lines >= 0))
);


--
-- Name: TABLE report_state; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON TABLE buyer_sync_private.report_state IS 'One row per report tab (target: gsheets:<spreadsheet id>!<tab name>, or a CSV export''s report): the hash of the content last written (the same content is never written again), the run that changed it, and the Drive version chain of buyer-sync''s own writes.';


--
-- Name: COLUMN report_state.content_hash; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON COLUMN buyer_sync_private.report_state.content_hash IS 'sha256 of the report''s content without its run stamp: a run that changes nothing writes nothing.';


--
-- Name: COLUMN report_state.since_run_id; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON COLUMN buyer_sync_private.report_state.since_run_id IS 'The run after which the content last changed: the report tab says "since" it.';


--
-- Name: COLUMN report_state.read_version; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON COLUMN buyer_sync_private.report_state.read_version IS 'The Drive version (digits) of the spreadsheet as the last full sync read it, when buyer-sync''s own writes followed it and nothing else changed the file meanwhile; null otherwise.';


--
-- Name: COLUMN report_state.own_version; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON COLUMN buyer_sync_private.report_state.own_version IS 'The Drive version buyer-sync''s own report write produced from read_version: a scheduled sync treats it as unchanged (buyer_sync.is_own_report_version). Null when a write may have raced a person''s edit.';


--
-- Name: COLUMN report_state.notes_hash; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON COLUMN buyer_sync_private.report_state.notes_hash IS 'sha256 of the cell notes buyer-sync last wanted on the buyers tab (SHEET_REPORT_NOTES; null when off): a change of it alone rewrites the notes.';


--
-- Name: report_writes; Type: TABLE; Schema: buyer_sync_private; Owner: -
--

CREATE TABLE buyer_sync_private.report_writes (
    id bigint NOT NULL,
    target text NOT NULL,
    attempted_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    outcome text NOT NULL,
    since_run_id uuid,
    lines integer,
    requests integer,
    http_status integer,
    failure text,
    error_message text,
    drive_version_before text,
    drive_version_after text,
    CONSTRAINT report_writes_failure_check CHECK ((failure = ANY (ARRAY['permission'::text, 'scope'::text, 'quota'::text, 'server'::text, 'network'::text, 'other'::text]))),
    CONSTRAINT report_writes_failure_fits_outcome CHECK (((outcome = 'failed'::text) = (failure IS NOT NULL))),
    CONSTRAINT report_writes_lines_check CHECK ((lines >= 0)),
    CONSTRAINT report_writes_outcome_check CHECK ((outcome = ANY (ARRAY['written'::text, 'failed'::text]))),
    CONSTRAINT report_writes_requests_check CHECK ((requests >= 0))
);


--
-- Name: TABLE report_writes; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON TABLE buyer_sync_private.report_writes IS 'Every write of a report tab and every failed one (a report that did not change writes nothing and leaves no row). failure: permission (the sheet is not shared with the service account as Editor), scope (no spreadsheets scope, or an API key), quota (429), server (5xx), network, other. error_message is Google''s, never a cell value.';


--
-- Name: report_status; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.report_status AS
 SELECT s.target,
    s.written_at,
    s.lines,
    s.since_run_id,
    ( SELECT min(w.attempted_at) AS min
           FROM buyer_sync_private.report_writes w
          WHERE ((w.target = s.target) AND (w.outcome = 'failed'::text) AND (w.attempted_at > s.written_at))) AS failing_since_write,
    ( SELECT w.failure
           FROM buyer_sync_private.report_writes w
          WHERE (w.target = s.target)
          ORDER BY w.attempted_at DESC
         LIMIT 1) AS last_failure
   FROM buyer_sync_private.report_state s;


--
-- Name: VIEW report_status; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.report_status IS 'Each report tab: when it was last written, with how many lines, and whether writes have failed since (report_writes).';


--
-- Name: retention; Type: TABLE; Schema: buyer_sync; Owner: -
--

CREATE TABLE buyer_sync.retention (
    kind text NOT NULL,
    keep interval NOT NULL,
    applies_to text NOT NULL,
    CONSTRAINT retention_keep_check CHECK ((keep > '00:00:00'::interval))
);


--
-- Name: TABLE retention; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON TABLE buyer_sync.retention IS 'How long each kind of history is kept before buyer_sync.prune_history() (the daily history__prune task) deletes it. Operator-editable: update buyer_sync.retention set keep = interval ''180 days'' where kind = ''runs''; the next prune applies it. Rows that something kept still refers to are kept whatever their age.';


--
-- Name: COLUMN retention.kind; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.retention.kind IS 'The kind of history (runs, skipped_runs, verifications, verification_details, health_metrics, closed_retries, resolved_alerts, failed_jobs, report_writes).';


--
-- Name: COLUMN retention.keep; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.retention.keep IS 'How long after its time (applies_to says which) a row is kept; must be positive.';


--
-- Name: COLUMN retention.applies_to; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON COLUMN buyer_sync.retention.applies_to IS 'Which rows the kind covers and which timestamp counts.';


--
-- Name: retry_schedule; Type: TABLE; Schema: buyer_sync; Owner: -
--

CREATE TABLE buyer_sync.retry_schedule (
    attempt integer NOT NULL,
    delay interval NOT NULL,
    CONSTRAINT retry_schedule_attempt_check CHECK ((attempt >= 1)),
    CONSTRAINT retry_schedule_delay_check CHECK ((delay > '00:00:00'::interval))
);


--
-- Name: TABLE retry_schedule; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON TABLE buyer_sync.retry_schedule IS 'After the attempt-th failed attempt at a buyer, the next one comes delay later; after the last attempt listed, the retry-queue entry fails for good (permanent_failure alert).';


--
-- Name: sheet_snapshot; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.sheet_snapshot AS
 SELECT sheet_snapshot.source,
    sheet_snapshot.read_at,
    sheet_snapshot.row_count,
    sheet_snapshot.run_id,
    (( SELECT count(*) AS count
           FROM buyer_sync_private.sheet_buyers))::integer AS spreadsheet_count
   FROM buyer_sync_private.sheet_snapshot;


--
-- Name: VIEW sheet_snapshot; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.sheet_snapshot IS 'The latest full read of the sheet that missing_buyers and extra_buyers compare against.';


--
-- Name: verification_findings; Type: TABLE; Schema: buyer_sync; Owner: -
--

CREATE TABLE buyer_sync.verification_findings (
    report_id uuid NOT NULL,
    finding text NOT NULL,
    buyer_number text NOT NULL,
    row_number integer,
    CONSTRAINT verification_findings_finding_check CHECK ((finding = ANY (ARRAY['missing'::text, 'extra'::text, 'unverifiable'::text])))
);


--
-- Name: TABLE verification_findings; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON TABLE buyer_sync.verification_findings IS 'The buyer numbers a verification found missing (on the sheet, not in buyers), extra (in buyers, not on the sheet) or unverifiable (row breaks a rule), at most 1,000 of each per report.';


--
-- Name: verification_mismatches; Type: TABLE; Schema: buyer_sync; Owner: -
--

CREATE TABLE buyer_sync.verification_mismatches (
    report_id uuid NOT NULL,
    buyer_number text NOT NULL,
    field text NOT NULL,
    spreadsheet_value text,
    database_value text
);


--
-- Name: TABLE verification_mismatches; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON TABLE buyer_sync.verification_mismatches IS 'Each column of a sampled buyer whose database value differs from the sheet''s (normalized by the sync''s row rules). Holds buyers'' personal data: for operators with database access, never exposed by the API or sent in an alert.';


--
-- Name: alert_thresholds; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.alert_thresholds AS
 SELECT t.error_rate_max,
    t.missing_buyers_max
   FROM buyer_sync.alert_thresholds t;


--
-- Name: VIEW alert_thresholds; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.alert_thresholds IS '@behavior -connection +list
The alert thresholds in force (buyer_sync.alert_thresholds, one row): the dashboard colours the error rate and the missing buyers with them.';


--
-- Name: COLUMN alert_thresholds.error_rate_max; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.alert_thresholds.error_rate_max IS '@notNull
high_error_rate is raised when the last full sync failed on more than this percent of its non-blank rows.';


--
-- Name: COLUMN alert_thresholds.missing_buyers_max; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.alert_thresholds.missing_buyers_max IS '@notNull
missing_buyers is raised when more sheet buyers than this are missing from the database.';


--
-- Name: alerts; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.alerts AS
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
    (buyer_sync_private.redact_ids(((a.details - 'source'::text))::text))::jsonb AS details,
    a.created_at,
    a.delivered_at,
    buyer_sync_private.redact_ids(a.delivery_error) AS delivery_error,
    a.acknowledged_at,
    t.what_to_do
   FROM (buyer_sync.open_alerts a
     JOIN buyer_sync.alert_types t ON ((t.type = a.type)))
  ORDER BY
        CASE a.severity
            WHEN 'critical'::text THEN 0
            WHEN 'error'::text THEN 1
            WHEN 'warning'::text THEN 2
            ELSE 3
        END, a.created_at DESC, a.id;


--
-- Name: VIEW alerts; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.alerts IS '@primaryKey id
@behavior -connection +list
Open alerts (their condition still holds), with what to do. Buyer numbers, counts and rules only. Worst first: orderBy [SEVERITY_RANK_ASC, CREATED_AT_DESC].';


--
-- Name: COLUMN alerts.id; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.alerts.id IS '@notNull';


--
-- Name: COLUMN alerts.type; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.alerts.type IS '@notNull';


--
-- Name: COLUMN alerts.severity; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.alerts.severity IS '@notNull
info, warning, error or critical.';


--
-- Name: COLUMN alerts.severity_rank; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.alerts.severity_rank IS '@notNull
0 critical, 1 error, 2 warning, 3 info: orderBy [SEVERITY_RANK_ASC, CREATED_AT_DESC] puts the worst first.';


--
-- Name: COLUMN alerts.message; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.alerts.message IS '@notNull';


--
-- Name: COLUMN alerts.details; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.alerts.details IS '@notNull
The alert''s details without the sheet''s address, redacted (no paths, URLs or spreadsheet ids). A permanent-failure alert''s buyerNumbers names every buyer it concerns.';


--
-- Name: COLUMN alerts.created_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.alerts.created_at IS '@notNull';


--
-- Name: COLUMN alerts.acknowledged_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.alerts.acknowledged_at IS 'When an operator acknowledged it; null: nobody has yet.';


--
-- Name: COLUMN alerts.what_to_do; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.alerts.what_to_do IS '@notNull';


--
-- Name: daily_error_rate; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.daily_error_rate AS
 SELECT (d.day)::date AS day,
    d.full_runs,
    d.failed_runs,
    d.last_status,
    d.last_failure,
    d.non_blank_rows,
    d.failed_rows,
    d.error_rate
   FROM buyer_sync.daily_error_rate d
  WHERE (d.day > (now() - '30 days'::interval))
  ORDER BY d.day;


--
-- Name: VIEW daily_error_rate; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.daily_error_rate IS '@primaryKey day
@behavior -connection +list
Per day over the last 30 days (the database''s TimeZone), oldest first: full syncs finished and failed, and the error rate of the day''s last full sync (a failed run counts 100 %: it wrote nothing).';


--
-- Name: COLUMN daily_error_rate.day; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_error_rate.day IS '@notNull
The day (a date).';


--
-- Name: COLUMN daily_error_rate.full_runs; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_error_rate.full_runs IS '@notNull
Full syncs that finished (succeeded or failed) that day.';


--
-- Name: COLUMN daily_error_rate.failed_runs; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_error_rate.failed_runs IS '@notNull
Of them, failed (wrote nothing).';


--
-- Name: COLUMN daily_error_rate.last_status; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_error_rate.last_status IS '@notNull
succeeded or failed: the day''s last full sync.';


--
-- Name: COLUMN daily_error_rate.last_failure; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_error_rate.last_failure IS 'Why the day''s last full sync failed; null: it succeeded.';


--
-- Name: COLUMN daily_error_rate.non_blank_rows; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_error_rate.non_blank_rows IS '@notNull
Non-blank rows the day''s last full sync read.';


--
-- Name: COLUMN daily_error_rate.failed_rows; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_error_rate.failed_rows IS '@notNull
Of them, not written: its failed rows, or all of them when it failed.';


--
-- Name: COLUMN daily_error_rate.error_rate; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_error_rate.error_rate IS '@notNull
failed_rows in percent of non_blank_rows; 100 when the run failed.';


--
-- Name: daily_errors; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.daily_errors AS
 SELECT (d.day)::date AS day,
    d.error_type,
    d.errors,
    d.buyers
   FROM buyer_sync.daily_errors_by_type d
  WHERE (d.day > (now() - '30 days'::interval))
  ORDER BY d.day, d.error_type;


--
-- Name: VIEW daily_errors; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.daily_errors IS '@primaryKey day,error_type
@behavior -connection +list
Error-log entries per day (the database''s TimeZone) and error type over the last 30 days, with the distinct buyers they concern.';


--
-- Name: COLUMN daily_errors.day; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_errors.day IS '@notNull
The day (a date).';


--
-- Name: COLUMN daily_errors.error_type; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_errors.error_type IS '@notNull
field_length, data_type, constraint_violation, transient or unknown.';


--
-- Name: COLUMN daily_errors.errors; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_errors.errors IS '@notNull';


--
-- Name: COLUMN daily_errors.buyers; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_errors.buyers IS '@notNull';


--
-- Name: daily_failing_buyers; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.daily_failing_buyers AS
 SELECT (d.day)::date AS day,
    d.error_type,
    d.buyers,
    d.buyers_all_types
   FROM buyer_sync.daily_failing_buyers d
  WHERE (d.day > (now() - '30 days'::interval))
  ORDER BY d.day, d.error_type;


--
-- Name: VIEW daily_failing_buyers; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.daily_failing_buyers IS '@primaryKey day,error_type
@behavior -connection +list
Distinct failing buyers per day and error type over the last 30 days, however often each was retried or synced; a row without a buyer number counts once by its row.';


--
-- Name: COLUMN daily_failing_buyers.day; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_failing_buyers.day IS '@notNull
The day (a date).';


--
-- Name: COLUMN daily_failing_buyers.error_type; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_failing_buyers.error_type IS '@notNull
field_length, data_type, constraint_violation, transient or unknown.';


--
-- Name: COLUMN daily_failing_buyers.buyers; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_failing_buyers.buyers IS '@notNull
Distinct buyers that failed with this type that day.';


--
-- Name: COLUMN daily_failing_buyers.buyers_all_types; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_failing_buyers.buyers_all_types IS '@notNull
Distinct buyers that failed that day, any type.';


--
-- Name: daily_runs; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.daily_runs AS
 SELECT (d.day)::date AS day,
    d.runs,
    d.succeeded,
    d.failed_runs,
    d.failures,
    d.non_blank_rows,
    d.failed_rows,
    d.error_rate,
    d.avg_duration_ms,
    d.max_duration_ms
   FROM buyer_sync.daily_runs d
  WHERE (d.day > (now() - '30 days'::interval))
  ORDER BY d.day;


--
-- Name: VIEW daily_runs; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.daily_runs IS '@primaryKey day
@behavior -connection +list
Runs per day over the last 30 days (days in the database''s TimeZone), oldest first: how many, how many failed and why, rows and error rate (percent of non-blank rows that failed) of the ones that succeeded.';


--
-- Name: COLUMN daily_runs.day; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_runs.day IS '@notNull
The day (a date: the same day wherever the page is read).';


--
-- Name: COLUMN daily_runs.runs; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_runs.runs IS '@notNull';


--
-- Name: COLUMN daily_runs.succeeded; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_runs.succeeded IS '@notNull';


--
-- Name: COLUMN daily_runs.failed_runs; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_runs.failed_runs IS '@notNull
Runs that failed (wrote nothing).';


--
-- Name: COLUMN daily_runs.failures; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_runs.failures IS '@notNull
Why runs failed: reason (blocked, sheet, database, cancelled, interrupted, error) -> runs.';


--
-- Name: COLUMN daily_runs.non_blank_rows; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_runs.non_blank_rows IS '@notNull';


--
-- Name: COLUMN daily_runs.failed_rows; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_runs.failed_rows IS '@notNull';


--
-- Name: COLUMN daily_runs.error_rate; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.daily_runs.error_rate IS '@notNull
Percent of the non-blank rows of the day''s successful runs that failed.';


--
-- Name: extra_buyers; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.extra_buyers AS
 SELECT x.buyer_number
   FROM buyer_sync.extra_buyers x
  ORDER BY x.buyer_number
 LIMIT 1000;


--
-- Name: VIEW extra_buyers; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.extra_buyers IS '@primaryKey buyer_number
@behavior -connection +list
The first 1,000 buyer numbers in the database that are not on the sheet (latest full read); summary.extraCount counts them all. A sync never deletes them.';


--
-- Name: COLUMN extra_buyers.buyer_number; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.extra_buyers.buyer_number IS '@notNull';


--
-- Name: missing_buyers; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.missing_buyers AS
 SELECT m.buyer_number,
    m.row_number,
    ( SELECT e.error_type
           FROM public.sync_error_log e
          WHERE (e.buyer_number = m.buyer_number)
          ORDER BY e.created_at DESC
         LIMIT 1) AS last_error_type
   FROM buyer_sync.missing_buyers m
  ORDER BY m.row_number
 LIMIT 1000;


--
-- Name: VIEW missing_buyers; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.missing_buyers IS '@primaryKey buyer_number
@behavior -connection +list
The first 1,000 buyers (by sheet row) on the sheet (latest full read) that are not in the database, with their sheet row and the type of their latest error (null: never logged); summary.missingCount counts them all, buyer-sync missing lists them all. By sheet row: orderBy ROW_NUMBER_ASC.';


--
-- Name: COLUMN missing_buyers.buyer_number; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.missing_buyers.buyer_number IS '@notNull';


--
-- Name: COLUMN missing_buyers.row_number; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.missing_buyers.row_number IS '@notNull
The buyer''s row on the sheet (the header is row 1).';


--
-- Name: recent_errors; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.recent_errors AS
 SELECT e.id,
    e.created_at,
    e.run_id,
    e.buyer_number,
    e.row_number,
    e.column_name,
    e.error_type,
    buyer_sync_private.redact_ids(e.error_message) AS error_message,
    e.retryable
   FROM public.sync_error_log e
  ORDER BY e.created_at DESC, e.id
 LIMIT 200;


--
-- Name: VIEW recent_errors; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.recent_errors IS '@primaryKey id
@behavior -connection +list
The 200 latest error-log entries: buyer number, sheet row, column, type and rule. Never a cell value. Newest first: orderBy CREATED_AT_DESC.';


--
-- Name: COLUMN recent_errors.id; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_errors.id IS '@notNull';


--
-- Name: COLUMN recent_errors.created_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_errors.created_at IS '@notNull';


--
-- Name: COLUMN recent_errors.error_type; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_errors.error_type IS '@notNull';


--
-- Name: COLUMN recent_errors.error_message; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_errors.error_message IS '@notNull
The column, the rule and, for lengths, the length; redacted (no paths, URLs or spreadsheet ids). Never a cell value.';


--
-- Name: COLUMN recent_errors.retryable; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_errors.retryable IS '@notNull
Whether the failure was queued for retry.';


--
-- Name: recent_runs; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.recent_runs AS
 SELECT r.run_id,
    r.started_at,
    r.finished_at,
    r.mode,
    r.status,
    r.failure,
        CASE
            WHEN (r.source ~~ 'gsheets:%'::text) THEN 'google_sheet'::text
            ELSE 'csv'::text
        END AS source_kind,
    r.total_rows,
    r.blank_rows,
    r.inserted,
    r.updated,
    r.unchanged,
    r.failed,
    r.error_rate,
    r.errors_by_type,
    r.duration_ms,
    r.rows_per_second,
    buyer_sync_private.redact_ids(r.error_message) AS error_message,
    buyer_sync_private.redact_ids(x.skipped_because) AS skipped_because,
    x.skipped_kind
   FROM (buyer_sync.recent_runs r
     JOIN public.sync_runs x ON ((x.id = r.run_id)));


--
-- Name: VIEW recent_runs; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.recent_runs IS '@primaryKey run_id
@behavior -connection +list
The 50 latest sync runs: mode, outcome, what happened to every row, error rate, duration; why a failed run failed. Newest first: orderBy STARTED_AT_DESC.';


--
-- Name: COLUMN recent_runs.run_id; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.run_id IS '@notNull';


--
-- Name: COLUMN recent_runs.started_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.started_at IS '@notNull';


--
-- Name: COLUMN recent_runs.mode; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.mode IS '@notNull
full, only (given buyer numbers) or retry.';


--
-- Name: COLUMN recent_runs.status; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.status IS '@notNull
running, succeeded, failed (wrote nothing) or skipped (read nothing: skippedKind says why).';


--
-- Name: COLUMN recent_runs.source_kind; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.source_kind IS '@notNull
google_sheet or csv. Never the sheet''s address: a sheet shared by link is open to anyone with its id.';


--
-- Name: COLUMN recent_runs.total_rows; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.total_rows IS '@notNull';


--
-- Name: COLUMN recent_runs.blank_rows; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.blank_rows IS '@notNull';


--
-- Name: COLUMN recent_runs.inserted; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.inserted IS '@notNull';


--
-- Name: COLUMN recent_runs.updated; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.updated IS '@notNull';


--
-- Name: COLUMN recent_runs.unchanged; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.unchanged IS '@notNull';


--
-- Name: COLUMN recent_runs.failed; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.failed IS '@notNull
Rows that failed.';


--
-- Name: COLUMN recent_runs.errors_by_type; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.errors_by_type IS '@notNull';


--
-- Name: COLUMN recent_runs.error_message; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.error_message IS 'Why a failed run failed (spreadsheet ids show as <id>). Never a cell value.';


--
-- Name: COLUMN recent_runs.skipped_because; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.skipped_because IS 'Why a skipped run read nothing (the sheet''s version was the one the last full read saw).';


--
-- Name: COLUMN recent_runs.skipped_kind; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.recent_runs.skipped_kind IS 'Why a skipped run read nothing: unchanged (the sheet''s version was the one the last full read saw) or busy (another run held the sync lock).';


--
-- Name: report_settings; Type: TABLE; Schema: buyer_sync_private; Owner: -
--

CREATE TABLE buyer_sync_private.report_settings (
    singleton boolean DEFAULT true NOT NULL,
    tab text,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT report_settings_singleton_check CHECK (singleton)
);


--
-- Name: TABLE report_settings; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON TABLE buyer_sync_private.report_settings IS 'Whether a report tab is configured (SHEET_REPORT_TAB), as the last buyer-sync serve to start recorded it: tab null or no row means off, and finished runs then enqueue no report__write job.';


--
-- Name: report_status; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.report_status AS
 SELECT x.tab,
    s.written_at,
    COALESCE(s.lines, 0) AS lines,
    st.failing_since_write AS failing_since,
    buyer_sync_private.redact_ids(st.last_failure) AS last_failure
   FROM ((buyer_sync_private.report_settings x
     LEFT JOIN buyer_sync_private.report_state s ON ((split_part(s.target, '!'::text, 2) = x.tab)))
     LEFT JOIN buyer_sync.report_status st ON ((st.target = s.target)))
  WHERE (x.tab IS NOT NULL);


--
-- Name: VIEW report_status; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.report_status IS '@primaryKey tab
@behavior -connection +list
The sync report tab, when one is configured (SHEET_REPORT_TAB): its name, when it was last written and with how many lines, and since when writes fail (with why, redacted). Never the spreadsheet''s address.';


--
-- Name: COLUMN report_status.tab; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.report_status.tab IS '@notNull
The report tab''s name in the buyers spreadsheet.';


--
-- Name: COLUMN report_status.lines; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.report_status.lines IS '@notNull
Lines of the last write (0 before the first).';


--
-- Name: retry_entries; Type: VIEW; Schema: buyer_sync_api; Owner: -
--

CREATE VIEW buyer_sync_api.retry_entries AS
 SELECT q.id,
    q.buyer_number,
    q.row_number,
    q.status,
    q.attempt_count,
    q.next_retry_at,
    q.created_at,
    q.updated_at,
    (q.error_info ->> 'error_type'::text) AS error_type,
    (q.error_info ->> 'column_name'::text) AS column_name,
    buyer_sync_private.redact_ids((q.error_info ->> 'error_message'::text)) AS error_message
   FROM public.retry_queue q
  WHERE (q.status = ANY (ARRAY['pending'::text, 'processing'::text]))
  ORDER BY q.next_retry_at, q.id
 LIMIT 1000;


--
-- Name: VIEW retry_entries; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON VIEW buyer_sync_api.retry_entries IS '@primaryKey id
@behavior -connection +list
The first 1,000 buyers due for a retry (1, 5, 15 minutes after each failure), with why the latest attempt failed; summary.retryQueueSize counts them all. Next due first: orderBy NEXT_RETRY_AT_ASC.';


--
-- Name: COLUMN retry_entries.id; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.retry_entries.id IS '@notNull';


--
-- Name: COLUMN retry_entries.buyer_number; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.retry_entries.buyer_number IS '@notNull';


--
-- Name: COLUMN retry_entries.status; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.retry_entries.status IS '@notNull
pending or processing.';


--
-- Name: COLUMN retry_entries.attempt_count; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.retry_entries.attempt_count IS '@notNull
Failed attempts so far.';


--
-- Name: COLUMN retry_entries.next_retry_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.retry_entries.next_retry_at IS '@notNull';


--
-- Name: COLUMN retry_entries.created_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.retry_entries.created_at IS '@notNull';


--
-- Name: COLUMN retry_entries.updated_at; Type: COMMENT; Schema: buyer_sync_api; Owner: -
--

COMMENT ON COLUMN buyer_sync_api.retry_entries.updated_at IS '@notNull';


--
-- Name: api_login; Type: TABLE; Schema: buyer_sync_private; Owner: -
--

CREATE TABLE buyer_sync_private.api_login (
    singleton boolean DEFAULT true NOT NULL,
    password text DEFAULT encode(sha256(convert_to(((gen_random_uuid())::text || (gen_random_uuid())::text), 'UTF8'::name)), 'hex'::text) NOT NULL,
    CONSTRAINT api_login_singleton_check CHECK (singleton)
);


--
-- Name: TABLE api_login; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON TABLE buyer_sync_private.api_login IS 'The password of buyer_sync_authenticator that buyer-sync serve uses when DASHBOARD_DATABASE_URL is not set.';


--
-- Name: content_hash_columns; Type: TABLE; Schema: buyer_sync_private; Owner: -
--

CREATE TABLE buyer_sync_private.content_hash_columns (
    "position" integer NOT NULL,
    column_name text NOT NULL,
    column_type text NOT NULL,
    CONSTRAINT content_hash_columns_column_type_check CHECK ((column_type = ANY (ARRAY['text'::text, 'date'::text, 'bigint'::text])))
);


--
-- Name: TABLE content_hash_columns; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON TABLE buyer_sync_private.content_hash_columns IS 'The columns buyers.content_hash covers, in order, with the type the hash encodes them as.';


--
-- Name: mass_change_approvals; Type: TABLE; Schema: buyer_sync_private; Owner: -
--

CREATE TABLE buyer_sync_private.mass_change_approvals (
    id bigint NOT NULL,
    approved_by text DEFAULT SESSION_USER NOT NULL,
    approved_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_by_run uuid,
    used_at timestamp with time zone,
    CONSTRAINT mass_change_approvals_check CHECK ((expires_at > approved_at)),
    CONSTRAINT mass_change_approvals_check1 CHECK ((((used_by_run IS NULL) AND (used_at IS NULL)) OR (used_at IS NOT NULL)))
);


--
-- Name: TABLE mass_change_approvals; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON TABLE buyer_sync_private.mass_change_approvals IS 'One-shot approvals of a mass change (buyer_sync.approve_mass_change): the next run the guard would refuse, before expires_at, uses one and goes through; it is used only if that run commits.';


--
-- Name: mass_change_approvals_id_seq; Type: SEQUENCE; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE buyer_sync_private.mass_change_approvals ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME buyer_sync_private.mass_change_approvals_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: report_writes_id_seq; Type: SEQUENCE; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE buyer_sync_private.report_writes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME buyer_sync_private.report_writes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: _private_job_queues; Type: TABLE; Schema: graphile_worker; Owner: -
--

CREATE TABLE graphile_worker._private_job_queues (
    id integer NOT NULL,
    queue_name text NOT NULL,
    locked_at timestamp with time zone,
    locked_by text,
    is_available boolean GENERATED ALWAYS AS ((locked_at IS NULL)) STORED NOT NULL,
    CONSTRAINT job_queues_queue_name_check CHECK ((length(queue_name) <= 128))
);


--
-- Name: _private_known_crontabs; Type: TABLE; Schema: graphile_worker; Owner: -
--

CREATE TABLE graphile_worker._private_known_crontabs (
    identifier text NOT NULL,
    known_since timestamp with time zone NOT NULL,
    last_execution timestamp with time zone
);


--
-- Name: _private_tasks; Type: TABLE; Schema: graphile_worker; Owner: -
--

CREATE TABLE graphile_worker._private_tasks (
    id integer NOT NULL,
    identifier text NOT NULL,
    CONSTRAINT tasks_identifier_check CHECK ((length(identifier) <= 128))
);


--
-- Name: job_queues_id_seq; Type: SEQUENCE; Schema: graphile_worker; Owner: -
--

ALTER TABLE graphile_worker._private_job_queues ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME graphile_worker.job_queues_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: jobs; Type: VIEW; Schema: graphile_worker; Owner: -
--

CREATE VIEW graphile_worker.jobs AS
 SELECT jobs.id,
    job_queues.queue_name,
    tasks.identifier AS task_identifier,
    jobs.priority,
    jobs.run_at,
    jobs.attempts,
    jobs.max_attempts,
    jobs.last_error,
    jobs.created_at,
    jobs.updated_at,
    jobs.key,
    jobs.locked_at,
    jobs.locked_by,
    jobs.revision,
    jobs.flags
   FROM ((graphile_worker._private_jobs jobs
     JOIN graphile_worker._private_tasks tasks ON ((tasks.id = jobs.task_id)))
     LEFT JOIN graphile_worker._private_job_queues job_queues ON ((job_queues.id = jobs.job_queue_id)));


--
-- Name: jobs_id_seq1; Type: SEQUENCE; Schema: graphile_worker; Owner: -
--

ALTER TABLE graphile_worker._private_jobs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME graphile_worker.jobs_id_seq1
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: migrations; Type: TABLE; Schema: graphile_worker; Owner: -
--

CREATE TABLE graphile_worker.migrations (
    id integer NOT NULL,
    ts timestamp with time zone DEFAULT now() NOT NULL,
    breaking boolean DEFAULT false NOT NULL
);


--
-- Name: tasks_id_seq; Type: SEQUENCE; Schema: graphile_worker; Owner: -
--

ALTER TABLE graphile_worker._private_tasks ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME graphile_worker.tasks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version character varying(128) NOT NULL
);


--
-- Name: sync_buyer_changes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sync_buyer_changes (
    run_id uuid NOT NULL,
    buyer_number text NOT NULL,
    action text NOT NULL,
    changed_columns text[] NOT NULL,
    changed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT sync_buyer_changes_action_check CHECK ((action = ANY (ARRAY['insert'::text, 'update'::text])))
);


--
-- Name: TABLE sync_buyer_changes; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.sync_buyer_changes IS 'One row per buyer a sync run updated, naming the changed columns (never their values).';


--
-- Name: alert_thresholds alert_thresholds_pkey; Type: CONSTRAINT; Schema: buyer_sync; Owner: -
--

ALTER TABLE ONLY buyer_sync.alert_thresholds
    ADD CONSTRAINT alert_thresholds_pkey PRIMARY KEY (singleton);


--
-- Name: alert_types alert_types_pkey; Type: CONSTRAINT; Schema: buyer_sync; Owner: -
--

ALTER TABLE ONLY buyer_sync.alert_types
    ADD CONSTRAINT alert_types_pkey PRIMARY KEY (type);


--
-- Name: error_types error_types_pkey; Type: CONSTRAINT; Schema: buyer_sync; Owner: -
--

ALTER TABLE ONLY buyer_sync.error_types
    ADD CONSTRAINT error_types_pkey PRIMARY KEY (error_type);


--
-- Name: retention retention_pkey; Type: CONSTRAINT; Schema: buyer_sync; Owner: -
--

ALTER TABLE ONLY buyer_sync.retention
    ADD CONSTRAINT retention_pkey PRIMARY KEY (kind);


--
-- Name: retry_schedule retry_schedule_pkey; Type: CONSTRAINT; Schema: buyer_sync; Owner: -
--

ALTER TABLE ONLY buyer_sync.retry_schedule
    ADD CONSTRAINT retry_schedule_pkey PRIMARY KEY (attempt);


--
-- Name: verification_reports verification_reports_pkey; Type: CONSTRAINT; Schema: buyer_sync; Owner: -
--

ALTER TABLE ONLY buyer_sync.verification_reports
    ADD CONSTRAINT verification_reports_pkey PRIMARY KEY (id);


--
-- Name: api_login api_login_pkey; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.api_login
    ADD CONSTRAINT api_login_pkey PRIMARY KEY (singleton);


--
-- Name: content_hash_columns content_hash_columns_column_name_key; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.content_hash_columns
    ADD CONSTRAINT content_hash_columns_column_name_key UNIQUE (column_name);


--
-- Name: content_hash_columns content_hash_columns_pkey; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.content_hash_columns
    ADD CONSTRAINT content_hash_columns_pkey PRIMARY KEY ("position");


--
-- Name: mass_change_approvals mass_change_approvals_pkey; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.mass_change_approvals
    ADD CONSTRAINT mass_change_approvals_pkey PRIMARY KEY (id);


--
-- Name: report_settings report_settings_pkey; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.report_settings
    ADD CONSTRAINT report_settings_pkey PRIMARY KEY (singleton);


--
-- Name: report_state report_state_pkey; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.report_state
    ADD CONSTRAINT report_state_pkey PRIMARY KEY (target);


--
-- Name: report_writes report_writes_pkey; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.report_writes
    ADD CONSTRAINT report_writes_pkey PRIMARY KEY (id);


--
-- Name: schedules schedules_pkey; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.schedules
    ADD CONSTRAINT schedules_pkey PRIMARY KEY (identifier);


--
-- Name: sheet_buyers sheet_buyers_pkey; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.sheet_buyers
    ADD CONSTRAINT sheet_buyers_pkey PRIMARY KEY (row_number);


--
-- Name: sheet_snapshot sheet_snapshot_pkey; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.sheet_snapshot
    ADD CONSTRAINT sheet_snapshot_pkey PRIMARY KEY (singleton);


--
-- Name: synced_tables synced_tables_pkey; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.synced_tables
    ADD CONSTRAINT synced_tables_pkey PRIMARY KEY (table_schema, table_name);


--
-- Name: worker_liveness worker_liveness_pkey; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.worker_liveness
    ADD CONSTRAINT worker_liveness_pkey PRIMARY KEY (singleton);


--
-- Name: workers workers_pkey; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.workers
    ADD CONSTRAINT workers_pkey PRIMARY KEY (worker_id);


--
-- Name: _private_job_queues job_queues_pkey1; Type: CONSTRAINT; Schema: graphile_worker; Owner: -
--

ALTER TABLE ONLY graphile_worker._private_job_queues
    ADD CONSTRAINT job_queues_pkey1 PRIMARY KEY (id);


--
-- Name: _private_job_queues job_queues_queue_name_key; Type: CONSTRAINT; Schema: graphile_worker; Owner: -
--

ALTER TABLE ONLY graphile_worker._private_job_queues
    ADD CONSTRAINT job_queues_queue_name_key UNIQUE (queue_name);


--
-- Name: _private_jobs jobs_key_key1; Type: CONSTRAINT; Schema: graphile_worker; Owner: -
--

ALTER TABLE ONLY graphile_worker._private_jobs
    ADD CONSTRAINT jobs_key_key1 UNIQUE (key);


--
-- Name: _private_jobs jobs_pkey1; Type: CONSTRAINT; Schema: graphile_worker; Owner: -
--

ALTER TABLE ONLY graphile_worker._private_jobs
    ADD CONSTRAINT jobs_pkey1 PRIMARY KEY (id);


--
-- Name: _private_known_crontabs known_crontabs_pkey; Type: CONSTRAINT; Schema: graphile_worker; Owner: -
--

ALTER TABLE ONLY graphile_worker._private_known_crontabs
    ADD CONSTRAINT known_crontabs_pkey PRIMARY KEY (identifier);


--
-- Name: migrations migrations_pkey; Type: CONSTRAINT; Schema: graphile_worker; Owner: -
--

ALTER TABLE ONLY graphile_worker.migrations
    ADD CONSTRAINT migrations_pkey PRIMARY KEY (id);


--
-- Name: _private_tasks tasks_identifier_key; Type: CONSTRAINT; Schema: graphile_worker; Owner: -
--

ALTER TABLE ONLY graphile_worker._private_tasks
    ADD CONSTRAINT tasks_identifier_key UNIQUE (identifier);


--
-- Name: _private_tasks tasks_pkey; Type: CONSTRAINT; Schema: graphile_worker; Owner: -
--

ALTER TABLE ONLY graphile_worker._private_tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (id);


--
-- Name: buyers buyers_buyer_number_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.buyers
    ADD CONSTRAINT buyers_buyer_number_key UNIQUE (buyer_number);


--
-- Name: buyers buyers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.buyers
    ADD CONSTRAINT buyers_pkey PRIMARY KEY (id);


--
-- Name: retry_queue retry_queue_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.retry_queue
    ADD CONSTRAINT retry_queue_pkey PRIMARY KEY (id);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: sync_alerts sync_alerts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sync_alerts
    ADD CONSTRAINT sync_alerts_pkey PRIMARY KEY (id);


--
-- Name: sync_buyer_changes sync_buyer_changes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sync_buyer_changes
    ADD CONSTRAINT sync_buyer_changes_pkey PRIMARY KEY (run_id, buyer_number);


--
-- Name: sync_error_log sync_error_log_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sync_error_log
    ADD CONSTRAINT sync_error_log_pkey PRIMARY KEY (id);


--
-- Name: sync_health_metrics sync_health_metrics_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sync_health_metrics
    ADD CONSTRAINT sync_health_metrics_pkey PRIMARY KEY (id);


--
-- Name: sync_runs sync_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sync_runs
    ADD CONSTRAINT sync_runs_pkey PRIMARY KEY (id);


--
-- Name: verification_findings_report_idx; Type: INDEX; Schema: buyer_sync; Owner: -
--

CREATE INDEX verification_findings_report_idx ON buyer_sync.verification_findings USING btree (report_id, finding);


--
-- Name: verification_mismatches_report_idx; Type: INDEX; Schema: buyer_sync; Owner: -
--

CREATE INDEX verification_mismatches_report_idx ON buyer_sync.verification_mismatches USING btree (report_id);


--
-- Name: verification_reports_created_at_idx; Type: INDEX; Schema: buyer_sync; Owner: -
--

CREATE INDEX verification_reports_created_at_idx ON buyer_sync.verification_reports USING btree (created_at);


--
-- Name: verification_reports_run_id_idx; Type: INDEX; Schema: buyer_sync; Owner: -
--

CREATE INDEX verification_reports_run_id_idx ON buyer_sync.verification_reports USING btree (run_id);


--
-- Name: INDEX verification_reports_run_id_idx; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON INDEX buyer_sync.verification_reports_run_id_idx IS 'For the foreign-key check when a run is pruned (buyer_sync.prune_history).';


--
-- Name: mass_change_approvals_open_idx; Type: INDEX; Schema: buyer_sync_private; Owner: -
--

CREATE INDEX mass_change_approvals_open_idx ON buyer_sync_private.mass_change_approvals USING btree (expires_at) WHERE (used_at IS NULL);


--
-- Name: report_writes_since_run_idx; Type: INDEX; Schema: buyer_sync_private; Owner: -
--

CREATE INDEX report_writes_since_run_idx ON buyer_sync_private.report_writes USING btree (since_run_id);


--
-- Name: report_writes_target_idx; Type: INDEX; Schema: buyer_sync_private; Owner: -
--

CREATE INDEX report_writes_target_idx ON buyer_sync_private.report_writes USING btree (target, attempted_at);


--
-- Name: sheet_buyers_buyer_number_idx; Type: INDEX; Schema: buyer_sync_private; Owner: -
--

CREATE INDEX sheet_buyers_buyer_number_idx ON buyer_sync_private.sheet_buyers USING hash (buyer_number);


--
-- Name: jobs_main_index; Type: INDEX; Schema: graphile_worker; Owner: -
--

CREATE INDEX jobs_main_index ON graphile_worker._private_jobs USING btree (priority, run_at) INCLUDE (id, task_id, job_queue_id) WHERE (is_available = true);


--
-- Name: jobs_no_queue_index; Type: INDEX; Schema: graphile_worker; Owner: -
--

CREATE INDEX jobs_no_queue_index ON graphile_worker._private_jobs USING btree (priority, run_at) INCLUDE (id, task_id) WHERE ((is_available = true) AND (job_queue_id IS NULL));


--
-- Name: buyers_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX buyers_created_at_idx ON public.buyers USING btree (created_at);


--
-- Name: buyers_synced_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX buyers_synced_at_idx ON public.buyers USING btree (synced_at);


--
-- Name: buyers_unplain_key_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX buyers_unplain_key_idx ON public.buyers USING btree (buyer_number) WHERE (buyer_number !~ '^[!-~]([ -~]*[!-~])?$'::text);


--
-- Name: INDEX buyers_unplain_key_idx; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON INDEX public.buyers_unplain_key_idx IS 'The buyer numbers that are not plain printable ASCII (or have surrounding spaces): the only ones whose fold (buyer_sync.fold_key) can differ from them. Read by the sync and buyer_sync.lookalike_buyers.';


--
-- Name: retry_queue_buyer_number_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX retry_queue_buyer_number_idx ON public.retry_queue USING hash (buyer_number);


--
-- Name: retry_queue_due_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX retry_queue_due_idx ON public.retry_queue USING btree (next_retry_at) WHERE (status = 'pending'::text);


--
-- Name: retry_queue_held_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX retry_queue_held_idx ON public.retry_queue USING hash (buyer_number) WHERE ((resolution = 'exhausted'::text) AND (released_at IS NULL));


--
-- Name: INDEX retry_queue_held_idx; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON INDEX public.retry_queue_held_idx IS 'Exhausted entries that hold their buyer (released_at null): looked up for each retryable failure.';


--
-- Name: retry_queue_last_run_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX retry_queue_last_run_id_idx ON public.retry_queue USING btree (last_run_id);


--
-- Name: INDEX retry_queue_last_run_id_idx; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON INDEX public.retry_queue_last_run_id_idx IS 'For the foreign-key check when a run is pruned (buyer_sync.prune_history).';


--
-- Name: retry_queue_open_buyer_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX retry_queue_open_buyer_key ON public.retry_queue USING btree (md5(buyer_number)) WHERE (status = ANY (ARRAY['pending'::text, 'processing'::text]));


--
-- Name: INDEX retry_queue_open_buyer_key; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON INDEX public.retry_queue_open_buyer_key IS 'At most one open (pending or processing) entry per buyer; on md5() so that a buyer number of any length fits.';


--
-- Name: retry_queue_resolved_run_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX retry_queue_resolved_run_id_idx ON public.retry_queue USING btree (resolved_run_id);


--
-- Name: INDEX retry_queue_resolved_run_id_idx; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON INDEX public.retry_queue_resolved_run_id_idx IS 'For the foreign-key check when a run is pruned (buyer_sync.prune_history).';


--
-- Name: retry_queue_status_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX retry_queue_status_idx ON public.retry_queue USING btree (status);


--
-- Name: sync_alerts_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_alerts_created_at_idx ON public.sync_alerts USING btree (created_at);


--
-- Name: sync_alerts_open_condition_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX sync_alerts_open_condition_key ON public.sync_alerts USING btree (md5(condition)) WHERE ((resolved_at IS NULL) AND (resolves IS NULL));


--
-- Name: sync_alerts_resolves_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_alerts_resolves_idx ON public.sync_alerts USING btree (resolves);


--
-- Name: sync_alerts_undelivered_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_alerts_undelivered_idx ON public.sync_alerts USING btree (created_at) WHERE (delivered_at IS NULL);


--
-- Name: sync_buyer_changes_buyer_number_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_buyer_changes_buyer_number_idx ON public.sync_buyer_changes USING btree (buyer_number, changed_at);


--
-- Name: sync_error_log_buyer_number_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_error_log_buyer_number_idx ON public.sync_error_log USING hash (buyer_number);


--
-- Name: sync_error_log_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_error_log_created_at_idx ON public.sync_error_log USING btree (created_at);


--
-- Name: sync_error_log_error_type_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_error_log_error_type_idx ON public.sync_error_log USING btree (error_type);


--
-- Name: sync_error_log_keyless_row_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_error_log_keyless_row_idx ON public.sync_error_log USING btree (row_number) WHERE (buyer_number IS NULL);


--
-- Name: INDEX sync_error_log_keyless_row_idx; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON INDEX public.sync_error_log_keyless_row_idx IS 'The error entries of rows without a buyer number, by sheet row: how buyer_sync.report_failing_rows finds since when such a row fails.';


--
-- Name: sync_error_log_run_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_error_log_run_id_idx ON public.sync_error_log USING btree (run_id);


--
-- Name: sync_health_metrics_check_time_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_health_metrics_check_time_idx ON public.sync_health_metrics USING btree (check_time);


--
-- Name: sync_health_metrics_run_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_health_metrics_run_id_idx ON public.sync_health_metrics USING btree (run_id);


--
-- Name: INDEX sync_health_metrics_run_id_idx; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON INDEX public.sync_health_metrics_run_id_idx IS 'For the foreign-key check when a run is pruned (buyer_sync.prune_history).';


--
-- Name: sync_runs_full_source_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_runs_full_source_idx ON public.sync_runs USING btree (source, started_at) WHERE ((mode = 'full'::text) AND (status = 'succeeded'::text));


--
-- Name: sync_runs_started_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_runs_started_at_idx ON public.sync_runs USING btree (started_at);


--
-- Name: alert_thresholds alert_thresholds_keep_row; Type: TRIGGER; Schema: buyer_sync; Owner: -
--

CREATE TRIGGER alert_thresholds_keep_row BEFORE DELETE ON buyer_sync.alert_thresholds FOR EACH ROW EXECUTE FUNCTION buyer_sync_private.keep_alert_thresholds_row();


--
-- Name: alert_thresholds alert_thresholds_keep_row_truncate; Type: TRIGGER; Schema: buyer_sync; Owner: -
--

CREATE TRIGGER alert_thresholds_keep_row_truncate BEFORE TRUNCATE ON buyer_sync.alert_thresholds FOR EACH STATEMENT EXECUTE FUNCTION buyer_sync_private.keep_alert_thresholds_row();


--
-- Name: verification_reports verification_reports_alert; Type: TRIGGER; Schema: buyer_sync; Owner: -
--

CREATE TRIGGER verification_reports_alert AFTER INSERT ON buyer_sync.verification_reports FOR EACH ROW EXECUTE FUNCTION buyer_sync_private.verification_alert();


--
-- Name: retry_queue retry_queue_failed_on_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER retry_queue_failed_on_insert AFTER INSERT ON public.retry_queue REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION buyer_sync_private.alert_permanent_failures();


--
-- Name: retry_queue retry_queue_failed_on_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER retry_queue_failed_on_update AFTER UPDATE ON public.retry_queue REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION buyer_sync_private.alert_permanent_failures();


--
-- Name: sync_alerts sync_alerts_deliver; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER sync_alerts_deliver AFTER INSERT ON public.sync_alerts FOR EACH ROW EXECUTE FUNCTION buyer_sync_private.enqueue_alert_delivery();


--
-- Name: sync_runs sync_runs_report_write; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER sync_runs_report_write AFTER INSERT OR UPDATE OF status ON public.sync_runs FOR EACH ROW WHEN (((new.status = ANY (ARRAY['succeeded'::text, 'failed'::text])) AND (new.mode = ANY (ARRAY['full'::text, 'retry'::text, 'only'::text])))) EXECUTE FUNCTION buyer_sync_private.enqueue_report_write();


--
-- Name: verification_findings verification_findings_report_id_fkey; Type: FK CONSTRAINT; Schema: buyer_sync; Owner: -
--

ALTER TABLE ONLY buyer_sync.verification_findings
    ADD CONSTRAINT verification_findings_report_id_fkey FOREIGN KEY (report_id) REFERENCES buyer_sync.verification_reports(id) ON DELETE CASCADE;


--
-- Name: verification_mismatches verification_mismatches_report_id_fkey; Type: FK CONSTRAINT; Schema: buyer_sync; Owner: -
--

ALTER TABLE ONLY buyer_sync.verification_mismatches
    ADD CONSTRAINT verification_mismatches_report_id_fkey FOREIGN KEY (report_id) REFERENCES buyer_sync.verification_reports(id) ON DELETE CASCADE;


--
-- Name: verification_reports verification_reports_run_id_fkey; Type: FK CONSTRAINT; Schema: buyer_sync; Owner: -
--

ALTER TABLE ONLY buyer_sync.verification_reports
    ADD CONSTRAINT verification_reports_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.sync_runs(id) ON DELETE SET NULL;


--
-- Name: mass_change_approvals mass_change_approvals_used_by_run_fkey; Type: FK CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.mass_change_approvals
    ADD CONSTRAINT mass_change_approvals_used_by_run_fkey FOREIGN KEY (used_by_run) REFERENCES public.sync_runs(id) ON DELETE SET NULL;


--
-- Name: report_state report_state_since_run_id_fkey; Type: FK CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.report_state
    ADD CONSTRAINT report_state_since_run_id_fkey FOREIGN KEY (since_run_id) REFERENCES public.sync_runs(id) ON DELETE SET NULL;


--
-- Name: report_writes report_writes_since_run_id_fkey; Type: FK CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.report_writes
    ADD CONSTRAINT report_writes_since_run_id_fkey FOREIGN KEY (since_run_id) REFERENCES public.sync_runs(id) ON DELETE SET NULL;


--
-- Name: sheet_snapshot sheet_snapshot_run_id_fkey; Type: FK CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.sheet_snapshot
    ADD CONSTRAINT sheet_snapshot_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.sync_runs(id) ON DELETE SET NULL;


--
-- Name: retry_queue retry_queue_last_run_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.retry_queue
    ADD CONSTRAINT retry_queue_last_run_id_fkey FOREIGN KEY (last_run_id) REFERENCES public.sync_runs(id) ON DELETE SET NULL;


--
-- Name: retry_queue retry_queue_resolved_run_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.retry_queue
    ADD CONSTRAINT retry_queue_resolved_run_id_fkey FOREIGN KEY (resolved_run_id) REFERENCES public.sync_runs(id) ON DELETE SET NULL;


--
-- Name: sync_alerts sync_alerts_resolves_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sync_alerts
    ADD CONSTRAINT sync_alerts_resolves_fkey FOREIGN KEY (resolves) REFERENCES public.sync_alerts(id) ON DELETE CASCADE;


--
-- Name: sync_alerts sync_alerts_type_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sync_alerts
    ADD CONSTRAINT sync_alerts_type_fkey FOREIGN KEY (type) REFERENCES buyer_sync.alert_types(type) ON UPDATE CASCADE;


--
-- Name: sync_buyer_changes sync_buyer_changes_run_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sync_buyer_changes
    ADD CONSTRAINT sync_buyer_changes_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.sync_runs(id) ON DELETE CASCADE;


--
-- Name: sync_error_log sync_error_log_error_type_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sync_error_log
    ADD CONSTRAINT sync_error_log_error_type_fkey FOREIGN KEY (error_type) REFERENCES buyer_sync.error_types(error_type) ON UPDATE CASCADE ON DELETE RESTRICT;


--
-- Name: sync_error_log sync_error_log_run_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sync_error_log
    ADD CONSTRAINT sync_error_log_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.sync_runs(id) ON DELETE SET NULL;


--
-- Name: sync_health_metrics sync_health_metrics_run_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sync_health_metrics
    ADD CONSTRAINT sync_health_metrics_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.sync_runs(id) ON DELETE SET NULL;


--
-- Name: sync_runs sync_runs_error_type_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sync_runs
    ADD CONSTRAINT sync_runs_error_type_fkey FOREIGN KEY (error_type) REFERENCES buyer_sync.error_types(error_type) ON UPDATE CASCADE ON DELETE RESTRICT;


--
-- Name: _private_job_queues; Type: ROW SECURITY; Schema: graphile_worker; Owner: -
--

ALTER TABLE graphile_worker._private_job_queues ENABLE ROW LEVEL SECURITY;

--
-- Name: _private_jobs; Type: ROW SECURITY; Schema: graphile_worker; Owner: -
--

ALTER TABLE graphile_worker._private_jobs ENABLE ROW LEVEL SECURITY;

--
-- Name: _private_known_crontabs; Type: ROW SECURITY; Schema: graphile_worker; Owner: -
--

ALTER TABLE graphile_worker._private_known_crontabs ENABLE ROW LEVEL SECURITY;

--
-- Name: _private_tasks; Type: ROW SECURITY; Schema: graphile_worker; Owner: -
--

ALTER TABLE graphile_worker._private_tasks ENABLE ROW LEVEL SECURITY;

--
-- PostgreSQL database dump complete
--

\unrestrict GqFvdLriS1l4cCyXVZQPVIa2bonS4MYVFGEOZMfgLCMTFnWDO0hAgQ6zNnR1aMh


--
-- Dbmate schema migrations
--

INSERT INTO public.schema_migrations (version) VALUES
    ('001'),
    ('050'),
    ('051'),
    ('052'),
    ('053'),
    ('054'),
    ('055'),
    ('056'),
    ('057'),
    ('058'),
    ('059'),
    ('060'),
    ('061'),
    ('062'),
    ('063'),
    ('064'),
    ('065'),
    ('066'),
    ('067'),
    ('068'),
    ('069'),
    ('070'),
    ('071'),
    ('072'),
    ('073'),
    ('074'),
    ('075'),
    ('076'),
    ('077'),
    ('078'),
    ('079');
