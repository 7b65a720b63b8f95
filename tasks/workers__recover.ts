/**
 * workers__recover: unlocks the jobs of workers whose process died (every
 * minute by the crontab), so a killed worker's sync runs again now rather
 * than after graphile-worker's 4-hour lock timeout. Dead means its liveness
 * lock is gone AND its heartbeat is older than worker_liveness.dead_after
 * (60 s): a process whose connections merely dropped for a moment is alive,
 * and its jobs are never unlocked under it (src/worker/liveness.ts).
 */
import type { Task } from 'graphile-worker';
import { recoverWorkers } from '../src/worker/jobs.ts';

const task: Task = async () => {
  await recoverWorkers();
};

export default task;
