-- migrate:up

/*
 * The verdict is planned as the one row it is. Its CTEs over the singleton
 * tables (alert_thresholds, sheet_snapshot) carried no row limit, and a table
 * of one row that is rarely written is never analyzed (autovacuum waits for
 * 50 changes): the planner took each for the ~1,000 rows of ten empty pages,
 * multiplied them through the view's cross joins to an estimate of 710,200
 * rows and a cost of 482,000, above jit_above_cost, so every dashboard load
 * (buyer_sync_api.verdict()) and every analyst's select compiled the view
 * with LLVM first: 75-80 ms of JIT for a query that runs in 1 ms. `limit 1`
 * on each singleton (they cannot hold a second row) brings the estimate to
 * one row and the cost to about 200. Otherwise the view is exactly migration
 * 071's.
 */
create or replace view buyer_sync.verdict as
  -- The thresholds' one row (migration 069: it cannot be deleted, its column defaults are the only defaults);
  -- `limit 1` on a singleton tells the planner so (see the top of this file).
  with t as (select a.stale_after from buyer_sync.alert_thresholds a limit 1),
       latest as (select r.* from public.sync_runs r
                   where r.mode = 'full' and r.status in ('succeeded', 'failed')
                   order by r.started_at desc, r.id limit 1),
       attempt as (select r.* from public.sync_runs r where r.mode = 'full' order by r.started_at desc, r.id limit 1),
       ok as (select max(coalesce(r.finished_at, r.started_at)) as last_success_at,
                     max(r.started_at) as last_success_started_at
                from public.sync_runs r where r.mode = 'full' and r.status = 'succeeded'),
       seen as (select max(coalesce(r.finished_at, r.started_at)) as at from public.sync_runs r
                 where r.mode = 'full' and (r.status = 'succeeded' or (r.status = 'skipped' and coalesce(r.skipped_kind, 'unchanged') = 'unchanged'))),
       first_attempt as (select min(r.started_at) as at from public.sync_runs r where r.mode = 'full'),
       failing_since as (select min(r.started_at) as at from public.sync_runs r, ok
                          where r.mode = 'full' and r.status = 'failed' and r.started_at > coalesce(ok.last_success_started_at, '-infinity')),
       in_step_since as (select min(r.started_at) as at from public.sync_runs r
                          where r.mode = 'full' and r.status = 'succeeded'
                            and r.started_at > coalesce((select max(f.started_at) from public.sync_runs f
                                                          where f.mode = 'full' and f.status = 'failed'), '-infinity')),
       chk as (select m.check_time, m.healthy, m.issues from public.sync_health_metrics m order by m.check_time desc, m.id limit 1),
       unhealthy_since as (select min(m.check_time) as at from public.sync_health_metrics m
                            where m.check_time > coalesce((select max(g.check_time) from public.sync_health_metrics g where g.healthy), '-infinity')),
       al as (select count(*) filter (where a.severity in ('critical', 'error'))::integer as bad,
                     count(*) filter (where a.severity = 'warning')::integer as warn,
                     min(a.created_at) filter (where a.severity in ('critical', 'error')) as bad_since,
                     min(a.created_at) filter (where a.severity = 'warning') as warn_since
                from buyer_sync.open_alerts a),
       worst as (select a.type, a.message, ty.what_to_do from buyer_sync.open_alerts a join buyer_sync.alert_types ty on ty.type = a.type
                  where a.severity in ('critical', 'error', 'warning')
                  order by case a.severity when 'critical' then 0 when 'error' then 1 else 2 end, a.created_at, a.id limit 1),
       snap as (select s.read_at from buyer_sync_private.sheet_snapshot s limit 1),
       missing as materialized (select count(*)::integer as n from buyer_sync.missing_buyers),
       sched as (select s.cron from buyer_sync_private.schedules s where s.identifier = 'scheduled_sync'),
       facts as (
         select l.status as latest_status, l.failure as latest_failure, l.error_message as latest_message, l.started_at as latest_at,
                l.total_rows - l.blank_rows as latest_rows, l.failed as latest_failed,
                a.started_at as attempt_at, a.status as attempt_status, a.skipped_kind as attempt_skipped_kind,
                ok.last_success_at, seen.at as seen_at, fa.at as first_attempt_at, fs.at as failing_since, iss.at as in_step_since,
                c.check_time, c.healthy, c.issues, us.at as unhealthy_since,
                coalesce(al.bad, 0) as bad_alerts, coalesce(al.warn, 0) as warn_alerts, al.bad_since, al.warn_since,
                w.type as worst_type, w.message as worst_message, w.what_to_do as worst_what_to_do,
                sn.read_at as sheet_read_at, mi.n as missing_count, t.stale_after, sc.cron as sync_cron
           from t cross join ok cross join seen cross join first_attempt fa cross join failing_since fs cross join in_step_since iss
                cross join unhealthy_since us cross join al cross join missing mi
                left join latest l on true left join attempt a on true left join chk c on true left join worst w on true
                left join snap sn on true left join sched sc on true),
       judged as (
         select f.*,
                case when f.latest_status = 'failed' and f.latest_failure = 'mass_change' then 'mass_change'
                     when f.latest_status = 'failed' then 'sync_failed'
                     when f.last_success_at is null and f.sheet_read_at is null then 'never_read'
                     when f.last_success_at is null then 'never_synced'
                     when f.bad_alerts > 0 then 'alerts'
                     when f.healthy is false then 'unhealthy'
                     when now() - coalesce(f.seen_at, f.first_attempt_at) > f.stale_after then 'stale'
                     when f.missing_count > 0 then 'missing'
                     when f.warn_alerts > 0 then 'warnings'
                     else 'in_step' end as rule
           from facts f)
  select case when j.rule in ('mass_change', 'sync_failed', 'alerts', 'unhealthy', 'stale') then 'failing'
              when j.rule in ('missing', 'warnings') then 'warning'
              when j.rule in ('never_read', 'never_synced') then 'unknown'
              else 'ok' end as level,
         j.rule,
         case j.rule
           when 'mass_change' then 'Failing: the latest sync was refused by the mass-change guard'
           when 'sync_failed' then 'Failing: the latest sync failed'
           when 'never_read' then 'Waiting for the first sync'
           when 'never_synced' then 'Waiting for the first sync'
           when 'alerts' then format('Failing: %s open alert(s) need action', j.bad_alerts)
           when 'unhealthy' then 'Failing: the latest health check found problems'
           when 'stale' then 'Failing: no sync has succeeded for too long'
           when 'missing' then format('Warning: %s buyer(s) on the sheet are not in the database', j.missing_count)
           when 'warnings' then format('Warning: %s open warning(s)', j.warn_alerts)
           else 'In step: every buyer on the sheet is in the database'
         end as headline,
         buyer_sync_private.redact_ids(case j.rule
           when 'mass_change' then coalesce(j.latest_message, 'the run would have updated more existing buyers than SYNC_MAX_CHANGED_PERCENT allows; nothing was written')
           when 'sync_failed' then format('%s (%s)', coalesce(j.latest_message, 'the run failed'), j.latest_failure)
           when 'never_read' then 'the sheet has not been read yet'
           when 'never_synced' then 'the sheet was read, but no full sync has succeeded yet'
           when 'alerts' then j.worst_message || case when j.bad_alerts > 1 then format(' (and %s more open alert(s))', j.bad_alerts - 1) else '' end
           when 'unhealthy' then coalesce(array_to_string(j.issues[1:3], '; '), 'the health check was unhealthy')
           when 'stale' then case when j.seen_at is null then format('no full sync has succeeded since the first attempt (limit %s)', j.stale_after)
                                  else format('no full sync has succeeded for %s (limit %s)', date_trunc('minute', now() - j.seen_at), j.stale_after) end
           when 'missing' then format('%s buyer(s) on the sheet (read %s) are not in the database; their rows fail or have not been synced yet', j.missing_count, j.sheet_read_at)
           when 'warnings' then j.worst_message
           else format('the last full sync (%s) wrote every buyer on the sheet; no open alert, the latest health check healthy', j.last_success_at)
         end) as reason,
         case j.rule
           when 'mass_change' then j.failing_since
           when 'sync_failed' then j.failing_since
           when 'never_read' then j.first_attempt_at
           when 'never_synced' then coalesce(j.first_attempt_at, j.sheet_read_at)
           when 'alerts' then j.bad_since
           when 'unhealthy' then j.unhealthy_since
           when 'stale' then coalesce(j.seen_at, j.first_attempt_at)
           when 'missing' then j.sheet_read_at
           when 'warnings' then j.warn_since
           else j.in_step_since
         end as since,
         case j.rule
           when 'mass_change' then 'Look at what changed on the sheet (a wrong encoding, shifted or renamed columns, a sort gone wrong) and fix it; the next sync goes through. If the change is intended, an operator presses "Allow the mass change once" on its alert (or runs buyer-sync sync --allow-mass-change).'
           when 'sync_failed' then 'Read the reason: a renamed or missing header (put it back, or change the column mapping), an unreadable sheet (SHEET_SOURCE, sharing, credentials), a schema check blocking (buyer-sync check-schema --fix) or a lost database. Fix it, then press "Sync now" (or run buyer-sync sync) and watch the next run.'
           when 'never_read' then 'Nothing to do if buyer-sync serve is running: its worker reads the sheet on its schedule. To start now: buyer-sync sync (or "Sync now" with the operator token).'
           when 'never_synced' then 'Wait for the first full sync (the worker''s schedule), or run buyer-sync sync now.'
           when 'alerts' then j.worst_what_to_do
           when 'unhealthy' then 'Run buyer-sync health for the issues one by one; each names its command. The verdict turns green at the next health check that finds none.'
           when 'stale' then 'Is a worker running (buyer-sync serve)? Look at the latest runs below: the sheet unreadable, Google refusing, the schema check blocking. Fix the cause and press "Sync now".'
           when 'missing' then 'buyer-sync missing lists them; buyer-sync errors --buyer <number> says why each failed. Fix their rows on the sheet; the next sync writes them.'
           when 'warnings' then j.worst_what_to_do
           else 'Nothing.'
         end as what_to_do,
         'docs/runbooks.md#verdict-' || replace(j.rule, '_', '-') as runbook,
         j.attempt_at as last_attempt_at,
         j.attempt_status as last_attempt_status,
         j.attempt_skipped_kind as last_attempt_skipped_kind,
         j.latest_at as latest_run_at,
         j.latest_status as latest_run_status,
         case when j.latest_status = 'failed' then 100
              when j.latest_status = 'succeeded' then coalesce(round(100.0 * j.latest_failed / nullif(j.latest_rows, 0), 2), 0) end::numeric(5, 2)
           as latest_error_rate,
         j.last_success_at,
         j.sheet_read_at,
         j.check_time as last_check_at,
         j.healthy as last_check_healthy,
         j.sync_cron as schedule,
         case when j.sync_cron is not null
                   and exists (select 1 from buyer_sync_private.workers w
                                where w.last_seen_at > now() - (select l.dead_after from buyer_sync_private.worker_liveness l))
              then buyer_sync_private.next_cron_time(j.sync_cron, now()) end as next_sync_at,
         now() as judged_at
    from judged j;

-- migrate:down

create or replace view buyer_sync.verdict as
  -- The thresholds' one row (migration 069: it cannot be deleted, its column defaults are the only defaults).
  with t as (select a.stale_after from buyer_sync.alert_thresholds a),
       latest as (select r.* from public.sync_runs r
                   where r.mode = 'full' and r.status in ('succeeded', 'failed')
                   order by r.started_at desc, r.id limit 1),
       attempt as (select r.* from public.sync_runs r where r.mode = 'full' order by r.started_at desc, r.id limit 1),
       ok as (select max(coalesce(r.finished_at, r.started_at)) as last_success_at,
                     max(r.started_at) as last_success_started_at
                from public.sync_runs r where r.mode = 'full' and r.status = 'succeeded'),
       seen as (select max(coalesce(r.finished_at, r.started_at)) as at from public.sync_runs r
                 where r.mode = 'full' and (r.status = 'succeeded' or (r.status = 'skipped' and coalesce(r.skipped_kind, 'unchanged') = 'unchanged'))),
       first_attempt as (select min(r.started_at) as at from public.sync_runs r where r.mode = 'full'),
       failing_since as (select min(r.started_at) as at from public.sync_runs r, ok
                          where r.mode = 'full' and r.status = 'failed' and r.started_at > coalesce(ok.last_success_started_at, '-infinity')),
       in_step_since as (select min(r.started_at) as at from public.sync_runs r
                          where r.mode = 'full' and r.status = 'succeeded'
                            and r.started_at > coalesce((select max(f.started_at) from public.sync_runs f
                                                          where f.mode = 'full' and f.status = 'failed'), '-infinity')),
       chk as (select m.check_time, m.healthy, m.issues from public.sync_health_metrics m order by m.check_time desc, m.id limit 1),
       unhealthy_since as (select min(m.check_time) as at from public.sync_health_metrics m
                            where m.check_time > coalesce((select max(g.check_time) from public.sync_health_metrics g where g.healthy), '-infinity')),
       al as (select count(*) filter (where a.severity in ('critical', 'error'))::integer as bad,
                     count(*) filter (where a.severity = 'warning')::integer as warn,
                     min(a.created_at) filter (where a.severity in ('critical', 'error')) as bad_since,
                     min(a.created_at) filter (where a.severity = 'warning') as warn_since
                from buyer_sync.open_alerts a),
       worst as (select a.type, a.message, ty.what_to_do from buyer_sync.open_alerts a join buyer_sync.alert_types ty on ty.type = a.type
                  where a.severity in ('critical', 'error', 'warning')
                  order by case a.severity when 'critical' then 0 when 'error' then 1 else 2 end, a.created_at, a.id limit 1),
       snap as (select s.read_at from buyer_sync_private.sheet_snapshot s),
       missing as materialized (select count(*)::integer as n from buyer_sync.missing_buyers),
       sched as (select s.cron from buyer_sync_private.schedules s where s.identifier = 'scheduled_sync'),
       facts as (
         select l.status as latest_status, l.failure as latest_failure, l.error_message as latest_message, l.started_at as latest_at,
                l.total_rows - l.blank_rows as latest_rows, l.failed as latest_failed,
                a.started_at as attempt_at, a.status as attempt_status, a.skipped_kind as attempt_skipped_kind,
                ok.last_success_at, seen.at as seen_at, fa.at as first_attempt_at, fs.at as failing_since, iss.at as in_step_since,
                c.check_time, c.healthy, c.issues, us.at as unhealthy_since,
                coalesce(al.bad, 0) as bad_alerts, coalesce(al.warn, 0) as warn_alerts, al.bad_since, al.warn_since,
                w.type as worst_type, w.message as worst_message, w.what_to_do as worst_what_to_do,
                sn.read_at as sheet_read_at, mi.n as missing_count, t.stale_after, sc.cron as sync_cron
           from t cross join ok cross join seen cross join first_attempt fa cross join failing_since fs cross join in_step_since iss
                cross join unhealthy_since us cross join al cross join missing mi
                left join latest l on true left join attempt a on true left join chk c on true left join worst w on true
                left join snap sn on true left join sched sc on true),
       judged as (
         select f.*,
                case when f.latest_status = 'failed' and f.latest_failure = 'mass_change' then 'mass_change'
                     when f.latest_status = 'failed' then 'sync_failed'
                     when f.last_success_at is null and f.sheet_read_at is null then 'never_read'
                     when f.last_success_at is null then 'never_synced'
                     when f.bad_alerts > 0 then 'alerts'
                     when f.healthy is false then 'unhealthy'
                     when now() - coalesce(f.seen_at, f.first_attempt_at) > f.stale_after then 'stale'
                     when f.missing_count > 0 then 'missing'
                     when f.warn_alerts > 0 then 'warnings'
                     else 'in_step' end as rule
           from facts f)
  select case when j.rule in ('mass_change', 'sync_failed', 'alerts', 'unhealthy', 'stale') then 'failing'
              when j.rule in ('missing', 'warnings') then 'warning'
              when j.rule in ('never_read', 'never_synced') then 'unknown'
              else 'ok' end as level,
         j.rule,
         case j.rule
           when 'mass_change' then 'Failing: the latest sync was refused by the mass-change guard'
           when 'sync_failed' then 'Failing: the latest sync failed'
           when 'never_read' then 'Waiting for the first sync'
           when 'never_synced' then 'Waiting for the first sync'
           when 'alerts' then format('Failing: %s open alert(s) need action', j.bad_alerts)
           when 'unhealthy' then 'Failing: the latest health check found problems'
           when 'stale' then 'Failing: no sync has succeeded for too long'
           when 'missing' then format('Warning: %s buyer(s) on the sheet are not in the database', j.missing_count)
           when 'warnings' then format('Warning: %s open warning(s)', j.warn_alerts)
           else 'In step: every buyer on the sheet is in the database'
         end as headline,
         buyer_sync_private.redact_ids(case j.rule
           when 'mass_change' then coalesce(j.latest_message, 'the run would have updated more existing buyers than SYNC_MAX_CHANGED_PERCENT allows; nothing was written')
           when 'sync_failed' then format('%s (%s)', coalesce(j.latest_message, 'the run failed'), j.latest_failure)
           when 'never_read' then 'the sheet has not been read yet'
           when 'never_synced' then 'the sheet was read, but no full sync has succeeded yet'
           when 'alerts' then j.worst_message || case when j.bad_alerts > 1 then format(' (and %s more open alert(s))', j.bad_alerts - 1) else '' end
           when 'unhealthy' then coalesce(array_to_string(j.issues[1:3], '; '), 'the health check was unhealthy')
           when 'stale' then case when j.seen_at is null then format('no full sync has succeeded since the first attempt (limit %s)', j.stale_after)
                                  else format('no full sync has succeeded for %s (limit %s)', date_trunc('minute', now() - j.seen_at), j.stale_after) end
           when 'missing' then format('%s buyer(s) on the sheet (read %s) are not in the database; their rows fail or have not been synced yet', j.missing_count, j.sheet_read_at)
           when 'warnings' then j.worst_message
           else format('the last full sync (%s) wrote every buyer on the sheet; no open alert, the latest health check healthy', j.last_success_at)
         end) as reason,
         case j.rule
           when 'mass_change' then j.failing_since
           when 'sync_failed' then j.failing_since
           when 'never_read' then j.first_attempt_at
           when 'never_synced' then coalesce(j.first_attempt_at, j.sheet_read_at)
           when 'alerts' then j.bad_since
           when 'unhealthy' then j.unhealthy_since
           when 'stale' then coalesce(j.seen_at, j.first_attempt_at)
           when 'missing' then j.sheet_read_at
           when 'warnings' then j.warn_since
           else j.in_step_since
         end as since,
         case j.rule
           when 'mass_change' then 'Look at what changed on the sheet (a wrong encoding, shifted or renamed columns, a sort gone wrong) and fix it; the next sync goes through. If the change is intended, an operator presses "Allow the mass change once" on its alert (or runs buyer-sync sync --allow-mass-change).'
           when 'sync_failed' then 'Read the reason: a renamed or missing header (put it back, or change the column mapping), an unreadable sheet (SHEET_SOURCE, sharing, credentials), a schema check blocking (buyer-sync check-schema --fix) or a lost database. Fix it, then press "Sync now" (or run buyer-sync sync) and watch the next run.'
           when 'never_read' then 'Nothing to do if buyer-sync serve is running: its worker reads the sheet on its schedule. To start now: buyer-sync sync (or "Sync now" with the operator token).'
           when 'never_synced' then 'Wait for the first full sync (the worker''s schedule), or run buyer-sync sync now.'
           when 'alerts' then j.worst_what_to_do
           when 'unhealthy' then 'Run buyer-sync health for the issues one by one; each names its command. The verdict turns green at the next health check that finds none.'
           when 'stale' then 'Is a worker running (buyer-sync serve)? Look at the latest runs below: the sheet unreadable, Google refusing, the schema check blocking. Fix the cause and press "Sync now".'
           when 'missing' then 'buyer-sync missing lists them; buyer-sync errors --buyer <number> says why each failed. Fix their rows on the sheet; the next sync writes them.'
           when 'warnings' then j.worst_what_to_do
           else 'Nothing.'
         end as what_to_do,
         'docs/runbooks.md#verdict-' || replace(j.rule, '_', '-') as runbook,
         j.attempt_at as last_attempt_at,
         j.attempt_status as last_attempt_status,
         j.attempt_skipped_kind as last_attempt_skipped_kind,
         j.latest_at as latest_run_at,
         j.latest_status as latest_run_status,
         case when j.latest_status = 'failed' then 100
              when j.latest_status = 'succeeded' then coalesce(round(100.0 * j.latest_failed / nullif(j.latest_rows, 0), 2), 0) end::numeric(5, 2)
           as latest_error_rate,
         j.last_success_at,
         j.sheet_read_at,
         j.check_time as last_check_at,
         j.healthy as last_check_healthy,
         j.sync_cron as schedule,
         case when j.sync_cron is not null
                   and exists (select 1 from buyer_sync_private.workers w
                                where w.last_seen_at > now() - (select l.dead_after from buyer_sync_private.worker_liveness l))
              then buyer_sync_private.next_cron_time(j.sync_cron, now()) end as next_sync_at,
         now() as judged_at
    from judged j;
