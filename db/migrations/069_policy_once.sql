-- migrate:up

/*
 * Policy lives once, in SQL (issue 18).
 *
 * The alert thresholds' defaults are the column defaults of
 * buyer_sync.alert_thresholds, and nowhere else. 057 wrote them a second
 * time, as the fallback of buyer_sync_private.thresholds() for a deleted
 * row. Instead, the one row now always exists: it is (re)created here with
 * the column defaults, and a trigger refuses its deletion (and truncate), so
 * thresholds() reads it without a fallback. To go back to the defaults:
 *   update buyer_sync.alert_thresholds set missing_buyers_max = default, error_rate_max = default,
 *          slow_sync_after = default, stale_after = default;
 *
 * The dashboard colours its cards with the same thresholds, read through the
 * API (buyer_sync_api.alert_thresholds), not with literals of its own.
 */
insert into buyer_sync.alert_thresholds default values on conflict do nothing;

create function buyer_sync_private.keep_alert_thresholds_row() returns trigger
language plpgsql
as $$
begin
  raise exception 'buyer_sync.alert_thresholds keeps its one row'
    using errcode = 'restrict_violation',
          hint = 'Change the thresholds with update; "set <column> = default" restores a shipped default.';
end $$;
comment on function buyer_sync_private.keep_alert_thresholds_row() is
  E'Refuses to delete (or truncate) the one row of buyer_sync.alert_thresholds: the thresholds in force are that row, and its column defaults are the only place the shipped values live.';
create trigger alert_thresholds_keep_row before delete on buyer_sync.alert_thresholds
  for each row execute function buyer_sync_private.keep_alert_thresholds_row();
create trigger alert_thresholds_keep_row_truncate before truncate on buyer_sync.alert_thresholds
  for each statement execute function buyer_sync_private.keep_alert_thresholds_row();

create or replace function buyer_sync_private.thresholds()
returns table (missing_buyers_max integer, error_rate_max numeric, slow_sync_after interval, stale_after interval)
language sql stable parallel safe
as $$
  select t.missing_buyers_max, t.error_rate_max, t.slow_sync_after, t.stale_after
    from buyer_sync.alert_thresholds t
$$;
comment on function buyer_sync_private.thresholds() is
  E'The alert thresholds in force: the one row of buyer_sync.alert_thresholds (it cannot be deleted; its column defaults are the shipped values).';

comment on table buyer_sync.alert_thresholds is
  E'The alert thresholds (one row, which cannot be deleted; change them with update, "set <column> = default" restores a shipped value: the column defaults are the only definition of the defaults). missing_buyers alerts when missing > missing_buyers_max, high_error_rate when the last full sync''s error rate (percent) > error_rate_max, slow_sync when it took longer than slow_sync_after, stale_sync when no full sync succeeded within stale_after.';

create view buyer_sync_api.alert_thresholds as
  select t.error_rate_max, t.missing_buyers_max
    from buyer_sync.alert_thresholds t;
comment on view buyer_sync_api.alert_thresholds is
  E'@behavior -connection +list\nThe alert thresholds in force (buyer_sync.alert_thresholds, one row): the dashboard colours the error rate and the missing buyers with them.';
comment on column buyer_sync_api.alert_thresholds.error_rate_max is
  E'@notNull\nhigh_error_rate is raised when the last full sync failed on more than this percent of its non-blank rows.';
comment on column buyer_sync_api.alert_thresholds.missing_buyers_max is
  E'@notNull\nmissing_buyers is raised when more sheet buyers than this are missing from the database.';
grant select on buyer_sync_api.alert_thresholds to buyer_sync_dashboard;

-- migrate:down

drop view buyer_sync_api.alert_thresholds;
comment on table buyer_sync.alert_thresholds is
  E'The alert thresholds (one row; change them with update). missing_buyers alerts when missing > missing_buyers_max, high_error_rate when the last full sync''s error rate (percent) > error_rate_max, slow_sync when it took longer than slow_sync_after, stale_sync when no full sync succeeded within stale_after.';
-- The definition of 057 (made parallel safe by 060), with its fallback for a deleted row.
create or replace function buyer_sync_private.thresholds()
returns table (missing_buyers_max integer, error_rate_max numeric, slow_sync_after interval, stale_after interval)
language sql stable parallel safe
as $$
  select t.missing_buyers_max, t.error_rate_max, t.slow_sync_after, t.stale_after
    from (select 1 as rank, missing_buyers_max, error_rate_max, slow_sync_after, stale_after from buyer_sync.alert_thresholds
          union all
          select 2, 10, 5, interval '5 minutes', interval '1 hour') t
   order by t.rank
   limit 1
$$;
comment on function buyer_sync_private.thresholds() is null;
drop trigger alert_thresholds_keep_row_truncate on buyer_sync.alert_thresholds;
drop trigger alert_thresholds_keep_row on buyer_sync.alert_thresholds;
drop function buyer_sync_private.keep_alert_thresholds_row();
-- The row inserted by up stays: 057 inserted it too, and a deleted row is what the fallback above is for.
