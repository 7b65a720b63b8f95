-- migrate:up

/*
 * Alert delivery in rounds. Each alert had a worker job of its own, retried
 * with graphile-worker's fixed exponential backoff: after an hour-long outage
 * of the receiver the queued alerts arrived minutes to hours after it was
 * back, each failing alert was one POST and one log line per try. Now an
 * inserted alert enqueues one delivery round (job key alerts__deliver:
 * requests made while a round waits coalesce into it, and keep its time),
 * which POSTs every undelivered alert oldest first and stops at the first
 * failure; the worker then schedules the next round after a backoff capped at
 * a minute (src/worker/jobs.ts).
 */
create or replace function buyer_sync_private.enqueue_alert_delivery() returns trigger
language plpgsql
as $$
begin
  perform graphile_worker.add_job('alerts__deliver', '{}'::json,
    job_key := 'alerts__deliver', job_key_mode := 'preserve_run_at', max_attempts := 25);
  return null;
end $$;
comment on function buyer_sync_private.enqueue_alert_delivery() is
  E'Enqueues the worker''s delivery round (alerts__deliver), which POSTs every undelivered alert to ALERT_WEBHOOK_URL; a round already waiting keeps its time.';

-- migrate:down

create or replace function buyer_sync_private.enqueue_alert_delivery() returns trigger
language plpgsql
as $$
begin
  perform graphile_worker.add_job('alerts__deliver', json_build_object('alert_id', new.id),
    job_key := 'alerts__deliver:' || new.id, max_attempts := 25);
  return null;
end $$;
comment on function buyer_sync_private.enqueue_alert_delivery() is
  E'Enqueues the worker job that POSTs a new alert to ALERT_WEBHOOK_URL.';
