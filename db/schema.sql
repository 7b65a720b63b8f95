\restrict dbmate

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
-- Name: buyer_sync_private; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA buyer_sync_private;


--
-- Name: SCHEMA buyer_sync_private; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA buyer_sync_private IS 'buyer-sync''s internal state. Not an API.';


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
-- Name: alert_permanent_failure(); Type: FUNCTION; Schema: buyer_sync_private; Owner: -
--

CREATE FUNCTION buyer_sync_private.alert_permanent_failure() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  insert into public.sync_alerts (type, severity, message, details)
  values (
    'permanent_failure', 'critical',
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
      'run_id', new.last_run_id));
  return null;
end $$;


--
-- Name: FUNCTION alert_permanent_failure(); Type: COMMENT; Schema: buyer_sync_private; Owner: -
--

COMMENT ON FUNCTION buyer_sync_private.alert_permanent_failure() IS 'Raises the permanent_failure alert when a retry-queue entry fails for good.';


SET default_tablespace = '';

SET default_table_access_method = heap;

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
    CONSTRAINT sync_runs_batch_size_check CHECK ((batch_size > 0)),
    CONSTRAINT sync_runs_mode_check CHECK ((mode = ANY (ARRAY['full'::text, 'only'::text, 'retry'::text]))),
    CONSTRAINT sync_runs_rows_accounted CHECK (((status <> 'succeeded'::text) OR (((((inserted + updated) + unchanged) + failed) + blank_rows) = total_rows))),
    CONSTRAINT sync_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'succeeded'::text, 'failed'::text])))
);


--
-- Name: TABLE sync_runs; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.sync_runs IS 'One row per sync run: where it read from, what it did with every row, how long it took.';


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
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version character varying NOT NULL
);


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
    CONSTRAINT sync_alerts_severity_check CHECK ((severity = ANY (ARRAY['info'::text, 'warning'::text, 'error'::text, 'critical'::text]))),
    CONSTRAINT sync_alerts_type_check CHECK ((type = ANY (ARRAY['missing_buyers'::text, 'high_error_rate'::text, 'permanent_failure'::text, 'slow_sync'::text])))
);


--
-- Name: TABLE sync_alerts; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.sync_alerts IS 'Every alert raised. delivered_at is set once the alert webhook accepted it.';


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
    CONSTRAINT sync_health_metrics_error_rate_check CHECK (((error_rate >= (0)::numeric) AND (error_rate <= (100)::numeric)))
);


--
-- Name: TABLE sync_health_metrics; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.sync_health_metrics IS 'One row per health check. error_rate is the percent of the last run''s non-blank rows that failed.';


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
-- Name: sync_runs_started_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sync_runs_started_at_idx ON public.sync_runs USING btree (started_at);


--
-- Name: retry_queue retry_queue_failed_on_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER retry_queue_failed_on_insert AFTER INSERT ON public.retry_queue FOR EACH ROW WHEN ((new.status = 'failed'::text)) EXECUTE FUNCTION buyer_sync_private.alert_permanent_failure();


--
-- Name: retry_queue retry_queue_failed_on_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER retry_queue_failed_on_update AFTER UPDATE OF status ON public.retry_queue FOR EACH ROW WHEN (((new.status = 'failed'::text) AND (old.status IS DISTINCT FROM 'failed'::text))) EXECUTE FUNCTION buyer_sync_private.alert_permanent_failure();


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
    ('056');
