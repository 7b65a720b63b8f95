#!/usr/bin/env node
// The buyer-sync command. The TypeScript sources run as they are on Node >= 24
// (type stripping); `npx buyer-sync` and `npm run` put the project's pinned
// Node 24 (the `node` devDependency) first on PATH.
//
// `npm start` (and the runbooks' supervisor line) give Node --max-semi-space-size=16:
// a sync makes short-lived strings by the million (cells, rows, COPY text), and in V8's
// default young generation many live just long enough to be promoted, to be collected
// again by the full collector. A 1,000,000-row sync takes about 7 % less time and a
// quarter less memory with it (BENCHMARKS.md). Node takes it only at start, so not here:
// `env -S` on this #! line would fail where env has no -S (BusyBox, as in Alpine images).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `buyer-sync: needs Node.js 24 (found ${process.versions.node}). ` +
      'Run it as `npx buyer-sync ...` from the project directory, which uses the Node 24 that `npm install` put in node_modules.',
  );
  process.exit(3);
}
// Node keeps what it compiled (the TypeScript stripped, V8's code cache) on disk, keyed by each
// file's contents: a command starts in about half the time from its second run on. Where it goes:
// NODE_COMPILE_CACHE (default: node-compile-cache in the temporary directory); NODE_DISABLE_COMPILE_CACHE=1 turns it off.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../src/cli.ts');
