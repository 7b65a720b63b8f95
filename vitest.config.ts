import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-fast-check.ts'],
    // Every test file gets its own database cloned from one migrated template,
    // so files run in parallel without seeing each other's rows.
    pool: 'forks',
    // Four files at a time on two cores: most of a file's time is spent waiting
    // (on PostgreSQL, on the command-line processes it starts, on a worker's
    // poll), and vitest's default (one fewer than the cores) ran them one by
    // one here: 498 s, against 324 s with four. VITEST_MAX_WORKERS overrides it.
    maxWorkers: Number(process.env.VITEST_MAX_WORKERS ?? 4),
    // A worker process runs file after file with the modules it has loaded
    // (the engine, the Google clients, PostGraphile) instead of loading them
    // again per file: 272 s against 295 s here. The files share no state: each
    // has its own database, servers and ports, and puts back what it sets in
    // process.env.
    isolate: false,
    // Safety nets, not targets (targets live in the benchmark): a property that
    // syncs a database a hundred times takes 10-15 s alone and several times
    // that while three other files share the two cores; a test that timed out
    // keeps running beside the next one and takes the sync lock from it.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
  },
});
