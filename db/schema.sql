\restrict dbmate

-- Dumped from database version 15.18
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
end $$;


--
-- Name: FUNCTION evaluate_alerts(); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.evaluate_alerts() IS 'Raises an alert for each condition of buyer_sync.health_conditions() that holds and has no open alert, resolves the open alerts whose condition cleared (with an info notice each), and returns the alerts and notices it raised. Every sync run calls it; so does buyer_sync.check_health().';


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
    LANGUAGE sql STABLE
    AS $$
  with t as (select * from buyer_sync_private.thresholds()),
       -- Once: each reference to a column of the view would otherwise compute its set difference again.
       h as materialized (select missing_count, spreadsheet_count, database_count, sheet_read_at from buyer_sync.current_health),
       last_attempt as (select min(started_at) as first_at from public.sync_runs where mode = 'full'),
       -- The sheet was last known to be in the database: a full sync that succeeded, or a scheduled one that found it unchanged.
       last_seen as (select max(coalesce(finished_at, started_at)) as at from public.sync_runs
                      where mode = 'full' and status in ('succeeded', 'skipped'))
  select 'missing_buyers', 'missing_buyers', h.missing_count > t.missing_buyers_max,
         format('%s buyer(s) on the sheet are not in the database (threshold %s); buyer-sync missing lists them',
                h.missing_count, t.missing_buyers_max),
         jsonb_build_object('missing_count', h.missing_count, 'threshold', t.missing_buyers_max,
                            'spreadsheet_count', h.spreadsheet_count, 'database_count', h.database_count,
                            'sheet_read_at', h.sheet_read_at,
                            'first_missing', case when h.missing_count = 0 then '[]'::jsonb
                                                  else (select coalesce(jsonb_agg(m.buyer_number order by m.row_number), '[]'::jsonb)
                                                          from (select buyer_number, row_number from buyer_sync.missing_buyers
                                                                 order by row_number limit 20) m) end)
    from t, h
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
$$;


--
-- Name: FUNCTION health_conditions(); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.health_conditions() IS 'The conditions that raise alerts and whether each holds now (missing_buyers, high_error_rate, slow_sync, stale_sync), with the message and details an alert would carry. Permanent failures are raised as they happen (one per buyer).';


--
-- Name: mapping_problems(jsonb); Type: FUNCTION; Schema: buyer_sync; Owner: -
--

CREATE FUNCTION buyer_sync.mapping_problems(mapping jsonb) RETURNS TABLE(column_name text, problem text)
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
-- Name: FUNCTION mapping_problems(mapping jsonb); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.mapping_problems(mapping jsonb) IS 'The column mapping checked against its table before a sync reads the sheet: one row per problem, naming the column and the fix; none when the mapping fits.';


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
  update public.retry_queue q set next_retry_at = least(q.next_retry_at, statement_timestamp()), updated_at = statement_timestamp()
   where q.buyer_number = retry_buyer_now.buyer_number and q.status = 'pending';
  if found then
    return buyer_sync.request_retry_round();
  end if;
  -- Any other buyer (one that failed for good, or is missing): a sync of just its number from the sheet.
  return buyer_sync.request_buyer_sync(array[buyer_number]);
end $$;


--
-- Name: FUNCTION retry_buyer_now(buyer_number text); Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON FUNCTION buyer_sync.retry_buyer_now(buyer_number text) IS 'Retries one buyer now and returns the job id: a buyer in the retry queue is made due and a retry round requested; any other (failed for good, missing) is synced by its number from the configured sheet.';


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
    CONSTRAINT verification_reports_check CHECK ((passed = (complete AND accurate))),
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
    v.summary,
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
    CONSTRAINT sync_runs_batch_size_check CHECK ((batch_size > 0)),
    CONSTRAINT sync_runs_failure_check CHECK ((failure = ANY (ARRAY['blocked'::text, 'sheet'::text, 'database'::text, 'cancelled'::text, 'interrupted'::text, 'error'::text]))),
    CONSTRAINT sync_runs_failure_fits_status CHECK (((status = 'failed'::text) = (failure IS NOT NULL))),
    CONSTRAINT sync_runs_mode_check CHECK ((mode = ANY (ARRAY['full'::text, 'only'::text, 'retry'::text]))),
    CONSTRAINT sync_runs_rows_accounted CHECK (((status <> 'succeeded'::text) OR (((((inserted + updated) + unchanged) + failed) + blank_rows) = total_rows))),
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

COMMENT ON COLUMN public.sync_runs.failure IS 'Why a failed run failed: blocked (the schema check or the column mapping refused it before the sheet was read), sheet (the sheet could not be read, or was refused as it is: see error_message), database (the connection was lost, or the database failed), cancelled (stopped on purpose: Ctrl-C, SIGTERM, a worker shutting down), interrupted (its process died), error (anything else). Null unless status is failed.';


--
-- Name: COLUMN sync_runs.source_version; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_runs.source_version IS 'The sheet''s version as the run found it (Drive''s file version of a Google sheet); null when unknown (a CSV export, Drive not answering).';


--
-- Name: COLUMN sync_runs.skipped_because; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.sync_runs.skipped_because IS 'Why a scheduled sync did not read the sheet: which full read found the same version, and how long ago. Null unless status is skipped.';


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
    CONSTRAINT retry_queue_attempt_count_check CHECK ((attempt_count >= 0)),
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

COMMENT ON COLUMN public.retry_queue.attempt_count IS 'Failed attempts so far: the first (the run that failed, with its one immediate retry) and each retry that failed.';


--
-- Name: COLUMN retry_queue.next_retry_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.retry_queue.next_retry_at IS 'When the next attempt is due (buyer_sync.next_retry_at).';


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
    (( SELECT count(*) AS count
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
    s.last_verification_summary,
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
Open permanent-failure alerts (one per buyer).';


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
-- Name: alert_permanent_failure(); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.alert_permanent_failure() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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
end $$;


--
-- Name: FUNCTION alert_permanent_failure(); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.alert_permanent_failure() IS 'Raises the permanent_failure alert when a retry-queue entry fails for good.';


--
-- Name: enqueue_alert_delivery(); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.enqueue_alert_delivery() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  perform graphile_worker.add_job('alerts__deliver', json_build_object('alert_id', new.id),
    job_key := 'alerts__deliver:' || new.id, max_attempts := 25);
  return null;
end $$;


--
-- Name: FUNCTION enqueue_alert_delivery(); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.enqueue_alert_delivery() IS 'Enqueues the worker job that POSTs a new alert to ALERT_WEBHOOK_URL.';


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
-- Name: redact_ids(text); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.redact_ids(t text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ select regexp_replace(t, '[A-Za-z0-9_-]{40,}', '<id>', 'g') $$;


--
-- Name: FUNCTION redact_ids(t text); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.redact_ids(t text) IS 'Replaces every run of 40 or more [A-Za-z0-9_-] (a Google spreadsheet id) with <id>: for text the API shows.';


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
-- Name: thresholds(); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.thresholds() RETURNS TABLE(missing_buyers_max integer, error_rate_max numeric, slow_sync_after interval, stale_after interval)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  select t.missing_buyers_max, t.error_rate_max, t.slow_sync_after, t.stale_after
    from (select 1 as rank, missing_buyers_max, error_rate_max, slow_sync_after, stale_after from buyer_sync.alert_thresholds
          union all
          select 2, 10, 5, interval '5 minutes', interval '1 hour') t
   order by t.rank
   limit 1
$$;


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

COMMENT ON TABLE buyer_sync.alert_thresholds IS 'The alert thresholds (one row; change them with update). missing_buyers alerts when missing > missing_buyers_max, high_error_rate when the last full sync''s error rate (percent) > error_rate_max, slow_sync when it took longer than slow_sync_after, stale_sync when no full sync succeeded within stale_after.';


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
-- Name: workers; Type: TABLE; Schema: buyer_sync_private; Owner: -
--

CREATE TABLE buyer_sync_private.workers (
    worker_id text NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: TABLE workers; Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON TABLE buyer_sync_private.workers IS 'graphile-worker workers started by buyer-sync serve; alive while their advisory lock (7340002, hashtext(worker_id)) is held.';


--
-- Name: dead_workers; Type: VIEW; Schema: buyer_sync; Owner: -
--

CREATE VIEW buyer_sync.dead_workers AS
 SELECT w.worker_id,
    w.host,
    w.pid,
    w.started_at
   FROM buyer_sync_private.workers w
  WHERE (NOT (EXISTS ( SELECT 1
           FROM pg_locks l
          WHERE ((l.locktype = 'advisory'::text) AND (l.database = ( SELECT pg_database.oid
                   FROM pg_database
                  WHERE (pg_database.datname = current_database()))) AND (l.classid = (7340002)::oid) AND (l.objid = (hashtext(w.worker_id))::oid) AND (l.objsubid = 2) AND l.granted))));


--
-- Name: VIEW dead_workers; Type: COMMENT; Schema: buyer_sync; Owner: -
--

COMMENT ON VIEW buyer_sync.dead_workers IS 'Registered workers whose process is gone (their advisory lock is not held): their jobs can be unlocked at once.';


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
    a.delivery_error,
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
The alert''s details without the sheet''s address (spreadsheet ids show as <id>).';


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
    e.error_message,
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
The column, the rule and, for lengths, the length. Never a cell value.';


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
    buyer_sync_private.redact_ids(x.skipped_because) AS skipped_because
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
running, succeeded, failed (wrote nothing) or skipped (a scheduled sync that found the sheet unchanged: read nothing).';


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
    (q.error_info ->> 'error_message'::text) AS error_message
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
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version character varying NOT NULL
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
-- Name: workers workers_pkey; Type: CONSTRAINT; Schema: buyer_sync_private; Owner: -
--

ALTER TABLE ONLY buyer_sync_private.workers
    ADD CONSTRAINT workers_pkey PRIMARY KEY (worker_id);


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
-- Name: sheet_buyers_buyer_number_idx; Type: INDEX; Schema: buyer_sync_private; Owner: -
--

CREATE INDEX sheet_buyers_buyer_number_idx ON buyer_sync_private.sheet_buyers USING hash (buyer_number);


--
-- Name: buyers_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX buyers_created_at_idx ON public.buyers USING btree (created_at);


--
-- Name: buyers_synced_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX buyers_synced_at_idx ON public.buyers USING btree (synced_at);


--
-- Name: retry_queue_buyer_number_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX retry_queue_buyer_number_idx ON public.retry_queue USING hash (buyer_number);


--
-- Name: retry_queue_due_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX retry_queue_due_idx ON public.retry_queue USING btree (next_retry_at) WHERE (status = 'pending'::text);


--
-- Name: retry_queue_open_buyer_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX retry_queue_open_buyer_key ON public.retry_queue USING btree (md5(buyer_number)) WHERE (status = ANY (ARRAY['pending'::text, 'processing'::text]));


--
-- Name: INDEX retry_queue_open_buyer_key; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON INDEX public.retry_queue_open_buyer_key IS 'At most one open (pending or processing) entry per buyer; on md5() so that a buyer number of any length fits.';


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
-- Name: sync_error_log_run_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_error_log_run_id_idx ON public.sync_error_log USING btree (run_id);


--
-- Name: sync_health_metrics_check_time_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_health_metrics_check_time_idx ON public.sync_health_metrics USING btree (check_time);


--
-- Name: sync_runs_full_source_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_runs_full_source_idx ON public.sync_runs USING btree (source, started_at) WHERE ((mode = 'full'::text) AND (status = 'succeeded'::text));


--
-- Name: sync_runs_started_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_runs_started_at_idx ON public.sync_runs USING btree (started_at);


--
-- Name: verification_reports verification_reports_alert; Type: TRIGGER; Schema: buyer_sync; Owner: -
--

CREATE TRIGGER verification_reports_alert AFTER INSERT ON buyer_sync.verification_reports FOR EACH ROW EXECUTE FUNCTION buyer_sync_private.verification_alert();


--
-- Name: retry_queue retry_queue_failed_on_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER retry_queue_failed_on_insert AFTER INSERT ON public.retry_queue FOR EACH ROW WHEN ((new.status = 'failed'::text)) EXECUTE FUNCTION buyer_sync_private.alert_permanent_failure();


--
-- Name: retry_queue retry_queue_failed_on_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER retry_queue_failed_on_update AFTER UPDATE OF status ON public.retry_queue FOR EACH ROW WHEN (((new.status = 'failed'::text) AND (old.status IS DISTINCT FROM 'failed'::text))) EXECUTE FUNCTION buyer_sync_private.alert_permanent_failure();


--
-- Name: sync_alerts sync_alerts_deliver; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER sync_alerts_deliver AFTER INSERT ON public.sync_alerts FOR EACH ROW EXECUTE FUNCTION buyer_sync_private.enqueue_alert_delivery();


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
-- PostgreSQL database dump complete
--

\unrestrict dbmate


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
    ('060');
