-- migrate:up

/*
 * buyer_sync: the analysts' schema (views and set-based functions).
 * buyer_sync_private: internal state that is nobody's API.
 */
create schema buyer_sync;
comment on schema buyer_sync is E'buyer-sync''s views and functions for analysts and operators.';
create schema buyer_sync_private;
comment on schema buyer_sync_private is E'buyer-sync''s internal state. Not an API.';

/*
 * Access: functions here are security invoker, so calling one never reads
 * more than the caller's own table and view privileges allow. Roles and
 * their grants come with the API schema.
 */

/*
 * The tables the sync writes. The schema check covers exactly these; a new
 * table the sync starts writing is registered here by its migration.
 */
create table buyer_sync_private.synced_tables (
  table_schema text not null,
  table_name   text not null,
  primary key (table_schema, table_name)
);
comment on table buyer_sync_private.synced_tables is
  E'Tables written by the sync, whose text-like columns must all be text.';

insert into buyer_sync_private.synced_tables (table_schema, table_name) values
  ('public', 'buyers'),
  ('public', 'sync_error_log'),
  ('public', 'retry_queue'),
  ('public', 'sync_health_metrics'),
  ('public', 'sync_alerts');

/*
 * Every text-like column of a synced table that is not text: a lint written
 * as a catalog query. A column is flagged when its type, after looking through
 * domains (at any depth) and arrays, is character varying or character:
 *
 * - varchar(n) and char(n) reject or pad values, which is the incident.
 * - varchar without a limit is flagged too. It behaves like text today, but it
 *   is one careless "alter ... type varchar(50)" away from the bug, it reads
 *   as a limit to the next engineer, and the contract says every text-like
 *   column is text. Converting it is free (binary coercible).
 * - a domain over varchar(n) enforces the same limit; information_schema
 *   would show it, but an array of such a domain it would not.
 */
create view buyer_sync.non_text_columns as
with recursive resolved as (
  -- Start from each column's declared type and typmod ...
  select
    a.attrelid,
    a.attnum,
    a.atttypid as type_oid,
    a.atttypmod as type_mod,
    false as is_array
  from buyer_sync_private.synced_tables st
  join pg_catalog.pg_namespace n on n.nspname = st.table_schema
  join pg_catalog.pg_class c on c.relnamespace = n.oid and c.relname = st.table_name
  join pg_catalog.pg_attribute a on a.attrelid = c.oid
  where c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
  union all
  -- ... and step through domains and array element types until neither is left.
  select
    r.attrelid,
    r.attnum,
    case when t.typtype = 'd' then t.typbasetype else t.typelem end,
    case when t.typtype = 'd' then t.typtypmod else r.type_mod end,
    r.is_array or t.typtype <> 'd'
  from resolved r
  join pg_catalog.pg_type t on t.oid = r.type_oid
  where t.typtype = 'd' or (t.typcategory = 'A' and t.typelem <> 0)
)
select
  n.nspname::text as table_schema,
  c.relname::text as table_name,
  a.attname::text as column_name,
  (case r.type_oid when 'pg_catalog.varchar'::regtype then 'character varying' else 'character' end)
    || case when r.is_array then '[]' else '' end as data_type,
  case when r.type_mod >= 4 then r.type_mod - 4 end as character_maximum_length,
  pg_catalog.format_type(a.atttypid, a.atttypmod) as declared_type,
  a.attnum::integer as ordinal_position
from resolved r
join pg_catalog.pg_attribute a on a.attrelid = r.attrelid and a.attnum = r.attnum
join pg_catalog.pg_class c on c.oid = r.attrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where r.type_oid in ('pg_catalog.varchar'::regtype, 'pg_catalog.bpchar'::regtype);

comment on view buyer_sync.non_text_columns is
  E'Text-like columns of the synced tables that are not text (varchar, char, domains and arrays of them). Must be empty before a sync may run.';
comment on column buyer_sync.non_text_columns.data_type is
  E'character varying or character, with [] for arrays.';
comment on column buyer_sync.non_text_columns.character_maximum_length is
  E'The declared length limit, or null for none.';
comment on column buyer_sync.non_text_columns.declared_type is
  E'The column''s type as declared (a domain keeps its name), what a rollback restores.';

-- migrate:down

drop view buyer_sync.non_text_columns;
drop table buyer_sync_private.synced_tables;
drop schema buyer_sync_private;
drop schema buyer_sync;
