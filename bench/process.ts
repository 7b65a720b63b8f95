/** Timing whole processes, as a user would: from spawn to exit, with their peak memory. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Timed {
  ms: number;
  rssKb: number | null;
  stdout: string;
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/** Runs a whole process, timing it from spawn to exit (and its peak RSS where /usr/bin/time exists). Exit 0 or 1 is success. */
export function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const rssFile = path.join(os.tmpdir(), `bench-rss-${process.pid}-${Math.random()}`);
    const [file, fullArgs] = TIME ? [TIME, ['-f', '%M', '-o', rssFile, cmd, ...argv]] : [cmd, argv];
    const started = performance.now();
    const child = spawn(file, fullArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      let rssKb: number | null = null;
      if (TIME && existsSync(rssFile)) {
        rssKb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
        rmSync(rssFile, { force: true });
      }
      if (code !== 0 && code !== 1)
        return reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      resolve({ ms, rssKb, stdout });
    });
  });
}

/**
 * The command line for `buyer-sync ARGS` as the service runs it: this Node, the
 * Node flags `npm start` gives (package.json; the young generation's size), the
 * script, ARGS.
 */
export function cliCommand(cli: string, args: string[]): [string, string[]] {
  const start = (
    JSON.parse(readFileSync(path.join(path.dirname(cli), '..', 'package.json'), 'utf8')) as {
      scripts: { start: string };
    }
  ).scripts.start;
  const words = start.split(/\s+/);
  const flags = words
    .slice(
      1,
      words.findIndex((w) => w.endsWith('buyer-sync.js')),
    )
    .filter((w) => w.startsWith('--'));
  return [process.execPath, [...flags, cli, ...args]];
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Whether a program is on the PATH. */
export function installed(program: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(path.join(dir, program)));
}
