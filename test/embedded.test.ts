/**
 * With DATABASE_URL unset the project starts its own PostgreSQL (real server
 * binaries), migrates it, and stops it on exit. Runs in a scratch data
 * directory on a free port so it never touches the developer's .data/.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.ts';

// As root the server runs as `postgres`, which must be able to enter the directory.
function scratchDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-embedded-'));
  chmodSync(dir, 0o755);
  return dir;
}
const dataDir = scratchDir();
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

describe('embedded PostgreSQL (DATABASE_URL unset)', () => {
  it('initialises, migrates, checks the schema and stops cleanly', async () => {
    const port = await freePort();
    const env = { DATABASE_URL: undefined, BUYER_SYNC_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port) };

    const first = await runCli(['migrate'], env);
    expect(first.stderr).toContain('initialising embedded PostgreSQL');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Applied 050_buyers_text_columns.sql');
    expect(existsSync(path.join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(await listening(port)).toBe(false);

    const again = await runCli(['migrate'], env);
    expect(again.stderr).not.toContain('initialising');
    expect(again.stdout).toContain('up to date');
    expect(again.code).toBe(0);

    const check = await runCli(['check-schema', '--json'], env);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ valid: true });
    expect(await listening(port)).toBe(false);
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)('as root, a data directory under a private (0700) directory still works: the path is made traversable, and it says so', async () => {
    const privateDir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-private-')); // 0700
    try {
      const env = { DATABASE_URL: undefined, BUYER_SYNC_DATA_DIR: path.join(privateDir, 'data'), EMBEDDED_PG_PORT: String(await freePort()) };
      const r = await runCli(['migrate'], env);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`made ${privateDir} traversable (o+x)`);
      expect(statSync(privateDir).mode & 0o777).toBe(0o701);
    } finally {
      rmSync(privateDir, { recursive: true, force: true });
    }
  });

  it('a port taken by something else is one clear line and exit 3', async () => {
    const blocker = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const other = scratchDir();
      const r = await runCli(['check-schema'], {
        DATABASE_URL: undefined,
        BUYER_SYNC_DATA_DIR: other,
        EMBEDDED_PG_PORT: String(port),
      });
      rmSync(other, { recursive: true, force: true });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`embedded PostgreSQL .*port ${port}.* did not start`));
    } finally {
      blocker.close();
    }
  });
});
