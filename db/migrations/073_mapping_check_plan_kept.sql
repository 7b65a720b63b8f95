-- migrate:up

/*
 * buyer_sync.mapping_problems runs before every sync. As a SQL function with
 * its own search_path it could not be inlined, so its query (the column
 * checks of mapping_column_problems, twice, and the content hash's) was
 * planned again at every call: 2-3 ms on a warm connection, most of what
 * the check costs, and several times that on a busy server. In PL/pgSQL the
 * query's plan is kept for the session (a generic plan: the mapping is a
 * parameter), and the column checks run once: about 0.5 ms. Same rows.
 */
create or replace function buyer_sync.mapping_problems(mapping jsonb)
returns table (column_name text, problem text)
language plpgsql stable
set search_path = pg_catalog
set plan_cache_mode = force_generic_plan
as $$
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

-- migrate:down

create or replace function buyer_sync.mapping_problems(mapping jsonb)
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
