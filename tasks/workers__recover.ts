/**
 * workers__recover: unlocks the jobs of workers whose process died (every
 * minute by the crontab), so a killed worker's sync runs again now rather
 * than after graphile-worker's 4-hour lock timeout.
 */
import type { Task } from 'graphile-worker';
import { recoverWorkers } from '../src/worker/jobs.ts';

const task: Task = async () => {
  await recoverWorkers();
};

export default task;
