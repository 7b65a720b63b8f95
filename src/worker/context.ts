/**
 * What the worker's tasks work with: the database, the configuration, the
 * column mapping, where to log. `buyer-sync serve` sets it before the worker
 * starts; graphile-worker loads the task files (tasks/) into the same
 * process, so they find it here.
 */
import type pg from 'pg';
import type { Config } from '../config.ts';
import type { Mapping } from '../mapping/mapping.ts';
import type { EngineOptions } from '../sync/engine.ts';

export interface WorkerContext {
  pool: pg.Pool;
  config: Config;
  mapping: Mapping;
  engine: EngineOptions;
  /** One line for the operator (serve's stdout). */
  log: (line: string) => void;
}

/*
 * Kept on globalThis under a registered symbol, not in a module variable: a
 * task file may be loaded by a module system other than the one that loaded
 * `serve` (a test runner's), and must still find the context.
 */
const KEY = Symbol.for('buyer-sync.worker-context');
const holder = globalThis as { [KEY]?: WorkerContext | null };

export function setWorkerContext(context: WorkerContext | null): void {
  holder[KEY] = context;
}

export function workerContext(): WorkerContext {
  const current = holder[KEY];
  if (!current) throw new Error('buyer-sync tasks run inside `buyer-sync serve` (no worker context is set)');
  return current;
}
