/**
 * The service's log lines without the sheet's address or a server path.
 *
 * `serve` runs for months under a supervisor whose journal others read: a
 * line such as "sync run … of /srv/exports/buyers.csv" or "spreadsheet
 * 1AbC… was not found" would put the server's layout and the sheet's address
 * there. Every line `serve` writes goes through `redactIds`, which applies the
 * rules of `buyer_sync_private.redact_ids` (migration 058), the one redaction
 * of every text the API shows: the same text is hidden the same way in the
 * log and on the dashboard. test/redaction.test.ts holds the two equal over
 * generated text, so neither can change alone.
 *
 * It runs in TypeScript, not as a query: the log must still work when the
 * database is the thing that went away.
 */

// The rules, in the order redact_ids applies them (each PostgreSQL `\1` written `$1`).
const RULES: readonly (readonly [RegExp, string])[] = [
  // a quoted absolute path, spaces and all
  [/(['"])(~?\/|[A-Za-z]:[\\/]|\\\\)[^'"]*\1/g, '$1<file>$1'],
  [/(postgres(ql)?|mysql|mongodb(\+srv)?|redis|amqps?):\/\/[^\s'"<>]*/gi, '<connection>'],
  [/[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s'"<>]*/g, '<url>'],
  [/gsheets:[A-Za-z0-9_-]+/gi, 'gsheets:<id>'],
  [/(password|passwd|pwd)=[^\s'"&;]+/gi, '$1=<secret>'],
  [/\\\\[^\s'"<>]+/g, '<file>'],
  [/(^|[^A-Za-z0-9_])[A-Za-z]:[\\/][^\s'"<>]*[^\s'"<>:.,;]/g, '$1<file>'],
  [/(^|[\s([{'"=,;:])~?\/[^\s'"<>()[\]{},;]*[^\s'"<>()[\]{},;:.]/g, '$1<file>'],
  [/(spreadsheets?|sheet|document)(\s+|\s*[:=]\s*)['"]?[A-Za-z0-9_-]{20,}/gi, '$1$2<id>'],
  [/[A-Za-z0-9_-]{40,}/g, '<id>'],
];

/** `text` with paths, connection strings, URLs, spreadsheet ids and passwords replaced, as the API shows them. */
export function redactIds(text: string): string {
  let out = text;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}

/**
 * A log line redacted, except for the exact strings in `keep` (the service's
 * own listening address, which is what an operator opens): each is set aside
 * before the rules run and put back after.
 */
export function redactLogLine(line: string, keep: readonly string[] = []): string {
  const kept = keep.filter((k) => k.length > 0);
  let out = line;
  kept.forEach((k, i) => (out = out.split(k).join(`\u0000${i}\u0000`)));
  out = redactIds(out);
  kept.forEach((k, i) => (out = out.split(`\u0000${i}\u0000`).join(k)));
  return out;
}
