/**
 * Where the project lives and which release it is: a leaf module (it imports
 * nothing of the project), so every layer may use it. config.ts re-exports it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the directory holding package.json). */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** This release's version, as package.json gives it. */
export const PACKAGE_VERSION = (
  JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }
).version;

/** The column mapping shipped with the project (db/sheet-mapping.json): the one definition of the sheet's columns. */
export const DEFAULT_MAPPING_FILE = path.join(projectRoot, 'db', 'sheet-mapping.json');

/**
 * A path as messages show it: relative to the repository root when inside it
 * (`.data/pgdata`), which says where without the server's layout; otherwise
 * as it is (the service log then redacts it: src/redact.ts).
 */
export function shownPath(p: string): string {
  const rel = path.relative(projectRoot, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/**
 * A file's path as a message names it: in double quotes, so that the
 * redaction of logs and of the API (src/redact.ts, buyer_sync_private.redact_ids)
 * hides the whole of it, spaces and all (`"<file>"`), where an unquoted
 * path would be cut at its first space and its tail (a file name that may
 * name a person) shown.
 */
export function quotedPath(p: string): string {
  return `"${p}"`;
}
