-- migrate:up

/*
 * The column mapping (db/sheet-mapping.json) is the one definition of the
 * sheet's columns; buyers.content_hash follows it.
 *
 * Until now a column added to the mapping (with its migration) synced, but
 * the generated buyers.content_hash still hashed the old columns, so every
 * run quietly hashed every stored buyer on the fly instead of reading the
 * stored hash. Now:
 *
 * - buyer_sync_private.rebuild_content_hash(columns) rebuilds the generated
 *   column and its record (content_hash_columns) from a list of mapped
 *   columns, in one place; the migration `buyer-sync check-schema --fix`
 *   writes calls it.
 * - buyer_sync.mapping_problems reports a hash that does not cover the
 *   mapping's columns (in order, as the same types) as a problem naming the
 *   fix, so a sync refuses (exit 3, nothing read) instead of running slowly.
 */
create function buyer_sync_private.content_hash_expression(columns jsonb)
returns text
language sql immutable
set search_path = pg_catalog
as $$
  select format('md5(%s)', string_agg(format('buyer_sync.hash_part(%I::%s)', c->>'column', c->>'type'), ' || ' order by ord))
    from jsonb_array_elements(columns) with ordinality as e(c, ord)
   where c->>'type' in ('text', 'date', 'bigint')
$$;
comment on function buyer_sync_private.content_hash_expression(jsonb) is
  E'The expression of buyers.content_hash over the given columns ([{column, type}], in order): md5 of each value as buyer_sync.hash_part encodes it.';

create procedure buyer_sync_private.rebuild_content_hash(columns jsonb)
language plpgsql
set search_path = pg_catalog
as $$
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
comment on procedure buyer_sync_private.rebuild_content_hash(jsonb) is
  E'Rebuilds buyers.content_hash (and content_hash_columns) over the given columns ([{column, type}], in the mapping''s order). Called by the migration `buyer-sync check-schema --fix` writes when the column mapping changes.';

alter function buyer_sync.mapping_problems(jsonb) rename to mapping_column_problems;
comment on function buyer_sync.mapping_column_problems(jsonb) is
  E'The column mapping checked against its table''s columns and key index: one row per problem, naming the column and the fix. Part of buyer_sync.mapping_problems.';

create function buyer_sync.mapping_problems(mapping jsonb)
returns table (column_name text, problem text)
language sql stable
set search_path = pg_catalog
as $$
  with fits as (
    -- The hash is compared only once the columns themselves fit.
    select count(*) as n from buyer_sync.mapping_column_problems(mapping)
  ),
  mapped as (
    select c->>'column' as col, c->>'type' as typ, ord from jsonb_array_elements(mapping->'columns') with ordinality as e(c, ord)
  ),
  hashed as (
    select column_name as col, column_type as typ, position as ord from buyer_sync_private.content_hash_columns
  ),
  differs as (
    select (select string_agg(m.col, ', ' order by m.ord) from mapped m where not exists (select 1 from hashed h where h.col = m.col)) as added,
           (select string_agg(h.col, ', ' order by h.ord) from hashed h where not exists (select 1 from mapped m where m.col = h.col)) as dropped,
           (select string_agg(format('%s (%s, hashed as %s)', m.col, m.typ, h.typ), ', ' order by m.ord) from mapped m join hashed h using (col) where m.typ <> h.typ) as retyped,
           exists (select 1 from mapped m full join hashed h on h.ord = m.ord where m.col is distinct from h.col or m.typ is distinct from h.typ) as any_difference
  )
  select p.column_name, p.problem from buyer_sync.mapping_column_problems(mapping) p
  union all
  select 'content_hash',
         format('buyers.content_hash does not cover the mapped columns (%s), so every sync would hash every stored buyer on the fly: '
                'run `npx buyer-sync check-schema --fix` to write the migration that rebuilds it from the mapping, then `npx buyer-sync migrate`',
                concat_ws('; ',
                  'the mapping adds ' || d.added,
                  'the mapping no longer has ' || d.dropped,
                  'a changed type: ' || d.retyped,
                  case when d.added is null and d.dropped is null and d.retyped is null then 'the mapping lists them in another order' end))
    from differs d, fits f
   where mapping->>'table' = 'buyers' and f.n = 0 and d.any_difference
$$;
comment on function buyer_sync.mapping_problems(jsonb) is
  E'The column mapping checked against its table before a sync reads the sheet: one row per problem, naming the column and the fix (buyer_sync.mapping_column_problems, and for buyers a content hash that does not cover the mapped columns); none when the mapping fits.';

-- migrate:down

drop function buyer_sync.mapping_problems(jsonb);
alter function buyer_sync.mapping_column_problems(jsonb) rename to mapping_problems;
comment on function buyer_sync.mapping_problems(jsonb) is
  E'The column mapping checked against its table before a sync reads the sheet: one row per problem, naming the column and the fix; none when the mapping fits.';
drop procedure buyer_sync_private.rebuild_content_hash(jsonb);
drop function buyer_sync_private.content_hash_expression(jsonb);
