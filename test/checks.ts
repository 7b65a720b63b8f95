/**
 * npm test's static checks (type-check, lint, formatting) side by side
 * instead of one after another: each is one process on one core, and the
 * three took 22 s in a row here, about 10 s together. Each check's output is
 * printed whole when it ends (never interleaved), under its name; the exit
 * code is non-zero when any failed, and says which.
 */
import { spawn } from 'node:child_process';

const CHECKS = ['typecheck', 'lint', 'format:check'];

function run(script: string): Promise<{ script: string; code: number; output: string; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('close', (code, signal) =>
      resolve({
        script,
        code: code ?? (signal ? 1 : 0),
        output: Buffer.concat(chunks).toString('utf8'),
        seconds: (performance.now() - started) / 1000,
      }),
    );
  });
}

const results = await Promise.all(CHECKS.map(run));
for (const r of results) {
  const verdict = r.code === 0 ? 'passed' : `failed (exit ${r.code})`;
  process.stdout.write(`== ${r.script}: ${verdict} in ${r.seconds.toFixed(1)} s\n`);
  if (r.code !== 0 || r.output.trim() !== '')
    process.stdout.write(r.output.endsWith('\n') ? r.output : `${r.output}\n`);
}
const failed = results.filter((r) => r.code !== 0).map((r) => r.script);
if (failed.length > 0) {
  process.stderr.write(`npm test: ${failed.join(', ')} failed; the test suite did not run\n`);
  process.exit(1);
}
