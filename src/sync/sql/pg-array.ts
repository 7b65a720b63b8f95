/**
 * PostgreSQL array literals, built in TypeScript rather than by node-postgres
 * so that a batch's parameters are ready (and their cost paid) while the
 * previous batch is still being written.
 */
const NEEDS_ESCAPE = /["\\]/;

/** An array literal: every element quoted, NULL unquoted. */
export function pgArray(values: readonly (string | number | boolean | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v === 'string') out += NEEDS_ESCAPE.test(v) ? `"${v.replace(/[\\"]/g, '\\$&')}"` : `"${v}"`;
    else out += String(v);
  }
  return `${out}}`;
}

/** A string literal for SQL text (only for identifiers' names we choose, never for sheet values). */
export function pgLiteral(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
