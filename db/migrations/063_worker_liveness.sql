-- migrate:up

/*
 * Worker liveness that survives a connection blip. Migration 056 declared a
 * registered worker dead as soon as its advisory lock (7340002,
 * hashtext(worker_id)) was not held. But a live process loses that lock too
 * whenever its liveness connection drops (pg_terminate_backend, a failover,
 * a restarted proxy): its running job was force-unlocked and taken a second
 * time while it still ran, and its registration was deleted, so a later
 * real death went unnoticed.
 *
 * Now a live process also refreshes a heartbeat (workers.last_seen_at) every
 * few seconds (worker_liveness.heartbeat_every), and a worker is dead only
 * when its lock is not held AND its heartbeat is older than
 * worker_liveness.dead_after (60 s, well above the few seconds a reconnect
 * takes): a rule a live process cannot meet. The unlocking is one statement
 * (recover_dead_workers) that re-checks both on the row it deletes, so a
 * heartbeat that lands meanwhile wins.
 */
create table buyer_sync_private.worker_liveness (
  singleton       boolean primary key default true constraint worker_liveness_one_row check (singleton),
  heartbeat_every interval not null default interval '5 seconds',
  dead_after      interval not null default interval '60 seconds',
  constraint worker_liveness_bounds_sane check (heartbeat_every > interval '0' and dead_after >= 3 * heartbeat_every)
);
insert into buyer_sync_private.worker_liveness default values;
comment on table buyer_sync_private.worker_liveness is
  E'How worker liveness is judged (one row): serve processes heartbeat every heartbeat_every; a worker is dead once its advisory lock is gone and its heartbeat is older than dead_after.';
comment on column buyer_sync_private.worker_liveness.singleton is
  E'Always true: the table has one row.';
comment on column buyer_sync_private.worker_liveness.heartbeat_every is
  E'How often a live serve process refreshes workers.last_seen_at (read when its liveness connection opens).';
comment on column buyer_sync_private.worker_liveness.dead_after is
  E'How old a heartbeat must be, with the advisory lock not held, before the worker is dead and its jobs are unlocked; at least 3 heartbeats, and well above the time a reconnect takes.';

alter table buyer_sync_private.workers add column last_seen_at timestamptz not null default now();
comment on column buyer_sync_private.workers.last_seen_at is
  E'The worker''s last heartbeat: refreshed by its process every worker_liveness.heartbeat_every.';
comment on table buyer_sync_private.workers is
  E'graphile-worker workers started by buyer-sync serve; alive while their advisory lock (7340002, hashtext(worker_id)) is held or their heartbeat (last_seen_at) is recent.';

create function buyer_sync_private.worker_gone(worker_id text, last_seen_at timestamptz) returns boolean
language sql stable set search_path = pg_catalog, pg_temp
as $$
  select last_seen_at < now() - (select l.dead_after from buyer_sync_private.worker_liveness l)
     and not exists (
           select 1 from pg_catalog.pg_locks k
            where k.locktype = 'advisory' and k.database = (select oid from pg_catalog.pg_database where datname = current_database())
              and k.classid = 7340002 and k.objid = hashtext(worker_id)::oid and k.objsubid = 2 and k.granted)
$$;
comment on function buyer_sync_private.worker_gone(text, timestamptz) is
  E'Whether a registered worker is dead: its advisory lock (7340002, hashtext(worker_id)) is not held and its heartbeat is older than worker_liveness.dead_after.';

-- One column more at the end (last_seen_at): the rest as in 056, with the heartbeat rule.
create or replace view buyer_sync.dead_workers as
  select w.worker_id, w.host, w.pid, w.started_at, w.last_seen_at
    from buyer_sync_private.workers w
   where buyer_sync_private.worker_gone(w.worker_id, w.last_seen_at);
comment on view buyer_sync.dead_workers is
  E'Registered workers whose process is gone: their advisory lock is not held and their heartbeat is older than worker_liveness.dead_after. Their jobs can be unlocked at once.';

create function buyer_sync_private.recover_dead_workers() returns text[]
language plpgsql volatile set search_path = pg_catalog, pg_temp
as $$
declare
  dead text[];
begin
  -- The rule is re-checked on the row being deleted: a heartbeat committed meanwhile keeps the worker.
  with gone as (
    delete from buyer_sync_private.workers w
     where buyer_sync_private.worker_gone(w.worker_id, w.last_seen_at)
    returning w.worker_id)
  select coalesce(array_agg(worker_id order by worker_id), '{}') into dead from gone;
  if cardinality(dead) > 0 then
    perform graphile_worker.force_unlock_workers(dead);
  end if;
  return dead;
end $$;
comment on function buyer_sync_private.recover_dead_workers() is
  E'Forgets the dead workers (buyer_sync.dead_workers) and unlocks their jobs (graphile_worker.force_unlock_workers), in one transaction; returns their ids. Safe to run from any number of processes at once.';

-- migrate:down

drop function buyer_sync_private.recover_dead_workers();
drop view buyer_sync.dead_workers;
create view buyer_sync.dead_workers as
  select w.worker_id, w.host, w.pid, w.started_at
    from buyer_sync_private.workers w
   where not exists (
           select 1 from pg_catalog.pg_locks l
            where l.locktype = 'advisory' and l.database = (select oid from pg_catalog.pg_database where datname = current_database())
              and l.classid = 7340002 and l.objid = hashtext(w.worker_id)::oid and l.objsubid = 2 and l.granted);
comment on view buyer_sync.dead_workers is
  E'Registered workers whose process is gone (their advisory lock is not held): their jobs can be unlocked at once.';
drop function buyer_sync_private.worker_gone(text, timestamptz);
alter table buyer_sync_private.workers drop column last_seen_at;
comment on table buyer_sync_private.workers is
  E'graphile-worker workers started by buyer-sync serve; alive while their advisory lock (7340002, hashtext(worker_id)) is held.';
drop table buyer_sync_private.worker_liveness;
