-- migrate:up

/*
 * Whatever a sheet holds, the row that holds it fails alone, and the error
 * log, the retry queue and the sheet snapshot can record it.
 *
 * A btree index entry larger than about 2.7 kB raises 54000 (program limit
 * exceeded). Before this migration a 3,000-character buyer number failed its
 * row, then failed again when the error log and the retry queue indexed it, and
 * stopped every run. Now:
 *
 * - the buyer number has a documented maximum length, checked by the row
 *   rules (a longer one fails its row as field_length), so buyers and
 *   sync_buyer_changes never index a long one;
 * - the tables that must record *any* failed row (sync_error_log, retry_queue,
 *   and the snapshot of the sheet's buyer numbers) look buyer numbers up
 *   through hash indexes, which store a 4-byte hash whatever the length, and
 *   the retry queue's one-open-entry-per-buyer rule is enforced on md5().
 */

create function buyer_sync.buyer_number_max_length()
returns integer
language sql immutable parallel safe
as $$ select 200 $$;
comment on function buyer_sync.buyer_number_max_length() is
  E'The longest buyer number, in characters, a sheet row may carry. A longer one fails its row as field_length (the row is logged and queued, never written to buyers). 200 characters are at most 800 bytes, far below the ~2.7 kB a btree entry may take.';

drop index public.sync_error_log_buyer_number_idx;
create index sync_error_log_buyer_number_idx on public.sync_error_log using hash (buyer_number);

drop index public.retry_queue_buyer_number_idx;
create index retry_queue_buyer_number_idx on public.retry_queue using hash (buyer_number);

-- At most one open entry per buyer, whatever the length of its number.
drop index public.retry_queue_open_buyer_key;
create unique index retry_queue_open_buyer_key on public.retry_queue (md5(buyer_number))
  where status in ('pending', 'processing');
comment on index public.retry_queue_open_buyer_key is
  E'At most one open (pending or processing) entry per buyer; on md5() so that a buyer number of any length fits.';

/*
 * The snapshot of the sheet's buyer numbers: keyed by the sheet row (each
 * buyer number is stored once, at its first row, so rows are unique), looked
 * up by buyer number through a hash index.
 */
alter table buyer_sync_private.sheet_buyers drop constraint sheet_buyers_pkey;
alter table buyer_sync_private.sheet_buyers add constraint sheet_buyers_pkey primary key (row_number);
create index sheet_buyers_buyer_number_idx on buyer_sync_private.sheet_buyers using hash (buyer_number);

/* Which character encoding a run read its CSV export in. */
alter table public.sync_runs add column encoding text;
comment on column public.sync_runs.encoding is
  E'The character encoding of the CSV export the run read (utf-8, utf-16le, utf-16be, shift_jis, euc-jp); null for the Google Sheets API.';

/*
 * The column mapping checked against the table before the sheet is read: one
 * row per problem, naming the column and the fix. The mapping is data (a JSON
 * file), passed in as jsonb: {"table", "key", "columns": [{"header", "column",
 * "type"}]}. Empty when the mapping fits.
 *
 * - every mapped column exists, is not generated, and is not an identity
 *   column that refuses written values;
 * - its type fits the mapping's: text columns hold text (varchar and char are
 *   the schema check's business), date columns are date, bigint columns bigint
 *   (domains are looked through);
 * - the key column has a unique, immediate, non-partial index on exactly that
 *   column (what insert ... on conflict (key) needs);
 * - the bookkeeping columns a sync writes exist as timestamptz.
 */
create function buyer_sync.mapping_problems(mapping jsonb)
returns table (column_name text, problem text)
language sql stable
as $$
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
comment on function buyer_sync.mapping_problems(jsonb) is
  E'The column mapping checked against its table before a sync reads the sheet: one row per problem, naming the column and the fix; none when the mapping fits.';

-- migrate:down

drop function buyer_sync.mapping_problems(jsonb);
alter table public.sync_runs drop column encoding;
/*
 * Not always possible: the btree indexes restored below fail (54000) while the
 * snapshot, the error log or the retry queue holds a buyer number too long for
 * a btree entry, which is what this migration made room for. Delete those rows
 * first if the rollback is really meant (the snapshot is rebuilt by the next
 * full read of the sheet).
 */
drop index buyer_sync_private.sheet_buyers_buyer_number_idx;
alter table buyer_sync_private.sheet_buyers drop constraint sheet_buyers_pkey;
alter table buyer_sync_private.sheet_buyers add constraint sheet_buyers_pkey primary key (buyer_number);
drop index public.retry_queue_open_buyer_key;
create unique index retry_queue_open_buyer_key on public.retry_queue (buyer_number)
  where status in ('pending', 'processing');
drop index public.retry_queue_buyer_number_idx;
create index retry_queue_buyer_number_idx on public.retry_queue (buyer_number);
drop index public.sync_error_log_buyer_number_idx;
create index sync_error_log_buyer_number_idx on public.sync_error_log (buyer_number);
drop function buyer_sync.buyer_number_max_length();
