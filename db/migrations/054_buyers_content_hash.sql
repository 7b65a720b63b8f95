-- migrate:up

/*
 * Change detection without reading every column: a stored hash of the mapped
 * columns, kept by PostgreSQL itself (so a hand edit changes it too, and the
 * next sync puts the sheet's values back). The sync computes the same hash
 * from each sheet row and ships only rows whose hash differs: a no-change
 * re-sync sends nothing to buyers.
 *
 * Each value is encoded as 'n' (null) or 'v<bytes>:<text>' (dates as days
 * since 2000-01-01), so no two different rows encode alike. Every function
 * used is immutable, as a generated column requires. Adding the column
 * rewrites buyers once.
 *
 * The columns and their order are registered below; a column mapping that
 * covers other columns makes the sync compute the hash on the fly instead.
 */
alter table public.buyers
  add column content_hash text generated always as (
    md5(coalesce('v' || octet_length("buyer_number")::text || ':' || "buyer_number", 'n')
      || coalesce('v' || octet_length("name")::text || ':' || "name", 'n')
      || coalesce('v' || octet_length("phone")::text || ':' || "phone", 'n')
      || coalesce('v' || octet_length("email")::text || ':' || "email", 'n')
      || coalesce('v' || octet_length("address")::text || ':' || "address", 'n')
      || coalesce('v' || octet_length(("inquiry_date" - date '2000-01-01')::text)::text || ':' || ("inquiry_date" - date '2000-01-01')::text, 'n')
      || coalesce('v' || octet_length("inquiry_source")::text || ':' || "inquiry_source", 'n')
      || coalesce('v' || octet_length("desired_area")::text || ':' || "desired_area", 'n')
      || coalesce('v' || octet_length("property_type")::text || ':' || "property_type", 'n')
      || coalesce('v' || octet_length("budget"::text)::text || ':' || "budget"::text, 'n')
      || coalesce('v' || octet_length("status")::text || ':' || "status", 'n')
      || coalesce('v' || octet_length("assignee")::text || ':' || "assignee", 'n')
      || coalesce('v' || octet_length(("next_follow_up" - date '2000-01-01')::text)::text || ':' || ("next_follow_up" - date '2000-01-01')::text, 'n')
      || coalesce('v' || octet_length("notes")::text || ':' || "notes", 'n'))
  ) stored;
comment on column public.buyers.content_hash is
  E'md5 over the mapped columns (see buyer_sync_private.content_hash_columns); how a sync tells changed rows from unchanged ones.';

create table buyer_sync_private.content_hash_columns (
  position    integer primary key,
  column_name text not null unique,
  column_type text not null check (column_type in ('text', 'date', 'bigint'))
);
comment on table buyer_sync_private.content_hash_columns is
  E'The columns buyers.content_hash covers, in order, with the type the hash encodes them as.';

insert into buyer_sync_private.content_hash_columns (position, column_name, column_type) values
  (1, 'buyer_number', 'text'), (2, 'name', 'text'), (3, 'phone', 'text'), (4, 'email', 'text'),
  (5, 'address', 'text'), (6, 'inquiry_date', 'date'), (7, 'inquiry_source', 'text'),
  (8, 'desired_area', 'text'), (9, 'property_type', 'text'), (10, 'budget', 'bigint'),
  (11, 'status', 'text'), (12, 'assignee', 'text'), (13, 'next_follow_up', 'date'), (14, 'notes', 'text');

-- migrate:down

drop table buyer_sync_private.content_hash_columns;
alter table public.buyers drop column content_hash;
