#!/usr/bin/env node
// The buyer-sync command. The TypeScript sources run as they are on Node >= 24
// (type stripping); `npx buyer-sync` and `npm run` put the project's pinned
// Node 24 (the `node` devDependency) first on PATH.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `buyer-sync: needs Node.js 24 (found ${process.versions.node}). ` +
      'Run it as `npx buyer-sync ...` from the project directory, which uses the Node 24 that `npm install` put in node_modules.',
  );
  process.exit(3);
}
await import('../src/cli.ts');
