/**
 * The runbooks (docs/runbooks.md) as a page of the dashboard, so that the
 * verdict's "what to do" link (`/docs/runbooks.md#verdict-<rule>`) lands on
 * its section from any browser that reaches the dashboard. A deliberately
 * small reading of Markdown: headings (with the ids GitHub gives them, or an
 * explicit `<a id="…"></a>`), fenced code, lists and paragraphs, inline code
 * and links as text. Every character of the file is escaped: the page runs
 * no script and loads nothing but the dashboard's style sheet.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../config.ts';

const RUNBOOKS_FILE = path.join(projectRoot, 'docs', 'runbooks.md');

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens. */
function headingId(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

/** `code`, **bold** and [text](link) as HTML, everything else escaped. */
function inline(text: string): string {
  return escape(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\[([^\]]+)\]\(#([a-z0-9-]+)\)/g, '<a href="#$2">$1</a>')
    .replace(/\[([^\]]+)\]\(([^)]+)\)/g, '$1');
}

function renderRunbooks(markdown: string, stylesheet: string | null): string {
  const out: string[] = [];
  let paragraph: string[] = [];
  let list: string[] | null = null;
  let code: string[] | null = null;
  const flush = () => {
    if (paragraph.length > 0) out.push(`<p>${inline(paragraph.join(' '))}</p>`);
    paragraph = [];
    if (list) out.push(`<ul>${list.map((li) => `<li>${inline(li)}</li>`).join('')}</ul>`);
    list = null;
  };
  for (const line of markdown.split('\n')) {
    if (code !== null) {
      if (line.startsWith('```')) {
        out.push(`<pre><code>${escape(code.join('\n'))}</code></pre>`);
        code = null;
      } else code.push(line);
      continue;
    }
    if (line.startsWith('```')) {
      flush();
      code = [];
      continue;
    }
    const h = /^(#{1,4})\s+(.*)$/.exec(line);
    if (h) {
      flush();
      const explicit = /<a id="([a-z0-9-]+)"><\/a>/.exec(h[2]!);
      const text = h[2]!.replace(/<a id="[a-z0-9-]+"><\/a>/g, '').trim();
      const id = explicit ? explicit[1]! : headingId(text.replace(/`/g, ''));
      const level = h[1]!.length;
      out.push(`<h${level} id="${escape(id)}">${inline(text)}</h${level}>`);
      continue;
    }
    const item = /^\s*(?:[-*]|\d+\.)\s+(.*)$/.exec(line);
    if (item) {
      if (paragraph.length > 0) flush();
      (list ??= []).push(item[1]!);
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (list && /^\s+/.test(line)) {
      list[list.length - 1] += ` ${line.trim()}`;
      continue;
    }
    paragraph.push(line.trim());
  }
  flush();
  if (code !== null) out.push(`<pre><code>${escape((code as string[]).join('\n'))}</code></pre>`);
  const css = stylesheet ? `<link rel="stylesheet" href="${escape(stylesheet)}">` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>buyer-sync runbooks</title>${css}</head><body><main class="runbooks"><p><a href="/">← the dashboard</a></p>${out.join('\n')}</main></body></html>\n`;
}

export async function runbooksPage(stylesheet: string | null): Promise<Buffer> {
  return Buffer.from(renderRunbooks(await readFile(RUNBOOKS_FILE, 'utf8'), stylesheet));
}
