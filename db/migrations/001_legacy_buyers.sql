-- migrate:up

/*
 * The buyers table exactly as the legacy application created it: every text
 * column is VARCHAR(50). This is the bug buyer-sync exists to fix: 356 of
 * 4,137 buyers never reached the database because one of their values was
 * longer than 50 characters. Migration 050 converts these columns to text;
 * this migration is kept so that a database restored from the legacy system
 * and a fresh one go through the same history.
 */
create table public.buyers (
  id              uuid primary key default gen_random_uuid(),
  buyer_number    varchar(50) not null,
  name            varchar(50),
  phone           varchar(50),
  email           varchar(50),
  address         varchar(50),
  inquiry_date    date,
  inquiry_source  varchar(50),
  desired_area    varchar(50),
  property_type   varchar(50),
  budget          bigint,
  status          varchar(50),
  assignee        varchar(50),
  next_follow_up  date,
  notes           varchar(50),
  created_at      timestamptz not null default now(),
  synced_at       timestamptz,
  db_updated_at   timestamptz not null default now(),
  constraint buyers_buyer_number_key unique (buyer_number)
);

-- The unique constraint above is the index on buyer_number the design asks for.
create index buyers_created_at_idx on public.buyers (created_at);
create index buyers_synced_at_idx on public.buyers (synced_at);

-- migrate:down

drop table public.buyers;
