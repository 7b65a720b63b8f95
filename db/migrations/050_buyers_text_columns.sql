-- migrate:up

/*
 * Migration 050: every VARCHAR(50) column of buyers becomes text.
 *
 * varchar -> text is binary coercible, so PostgreSQL changes the catalog only:
 * no table rewrite, no index rebuild, and the ACCESS EXCLUSIVE lock is held
 * for milliseconds even on a large table.
 */
alter table public.buyers
  alter column buyer_number   type text,
  alter column name           type text,
  alter column phone          type text,
  alter column email          type text,
  alter column address        type text,
  alter column inquiry_source type text,
  alter column desired_area   type text,
  alter column property_type  type text,
  alter column status         type text,
  alter column assignee       type text,
  alter column notes          type text;

comment on table public.buyers is
  E'One row per buyer of the buyers spreadsheet, keyed by buyer_number. Written only by buyer-sync.';
comment on column public.buyers.buyer_number is
  E'The buyer''s number as shown on the sheet (leading zeros kept). Unique.';
comment on column public.buyers.created_at is
  E'When buyer-sync first inserted this buyer. Never changed by later syncs.';
comment on column public.buyers.synced_at is
  E'When a sync last wrote this row''s values from the sheet.';
comment on column public.buyers.db_updated_at is
  E'When this row last changed in the database.';

-- migrate:down

/*
 * Restores VARCHAR(50). This FAILS with "value too long for type character
 * varying(50)" once any buyer has a value longer than 50 characters, which is
 * the whole point of migration 050: rolling back would lose those buyers.
 * Shorten or remove such values by hand first if a rollback is really meant.
 */
alter table public.buyers
  alter column buyer_number   type varchar(50),
  alter column name           type varchar(50),
  alter column phone          type varchar(50),
  alter column email          type varchar(50),
  alter column address        type varchar(50),
  alter column inquiry_source type varchar(50),
  alter column desired_area   type varchar(50),
  alter column property_type  type varchar(50),
  alter column status         type varchar(50),
  alter column assignee       type varchar(50),
  alter column notes          type varchar(50);
