/**
 * The dashboard page's files, bundled in memory when the service starts:
 * src/dashboard/main.ts and everything it imports (uPlot and its CSS, our
 * own CSS) become one script and one style sheet, minified. index.html is
 * served as written. Each file is kept with its ETag, so a browser that
 * refreshes the page gets 304s.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { projectRoot } from '../config.ts';
import { runbooksPage } from './runbook-page.ts';

export const DASHBOARD_SOURCE = path.join(projectRoot, 'src', 'dashboard');

export interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

const etagOf = (body: Buffer) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
const asset = (body: Buffer, contentType: string): Asset => ({ body, contentType, etag: etagOf(body) });

/** Path on the server -> file. */
export type Assets = Map<string, Asset>;

export async function buildDashboardAssets(): Promise<Assets> {
  const result = await build({
    entryPoints: { app: path.join(DASHBOARD_SOURCE, 'main.ts') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    outdir: '/assets',
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const assets: Assets = new Map();
  for (const file of result.outputFiles) {
    const name = path.basename(file.path);
    const type = name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
    assets.set(`/assets/${name}`, asset(Buffer.from(file.contents), type));
  }
  assets.set('/', asset(await readFile(path.join(DASHBOARD_SOURCE, 'index.html')), 'text/html; charset=utf-8'));
  assets.set('/favicon.svg', asset(await readFile(path.join(DASHBOARD_SOURCE, 'favicon.svg')), 'image/svg+xml'));
  // The runbooks, where the verdict's "what to do" links (runbook-page.ts).
  const css = [...assets.keys()].find((k) => k.endsWith('.css')) ?? null;
  assets.set('/docs/runbooks.md', asset(await runbooksPage(css), 'text/html; charset=utf-8'));
  return assets;
}
