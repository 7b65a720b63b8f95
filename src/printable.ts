/**
 * Text that came from a sheet (headers, tab names, buyer numbers) shown in a
 * warning or an error: made safe to print and capped.
 *
 * A header cell can hold a newline (which would forge a second log line), a
 * terminal escape sequence (which would rewrite the operator's screen), a
 * bidirectional override (which would make a message read backwards) or
 * megabytes of text. Each such character is shown as an escape (`\n`,
 * `\u{1b}`, `\u{202e}`), and text longer than the cap is cut, saying how long
 * it was. Only what is shown is ever scanned, so a 30 MB header costs nothing.
 */

/** C0 and C1 controls, DEL, format and bidi controls, line and paragraph separators, BOM, interlinear annotation. */
const UNSAFE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeCodePoint(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return NAMED[ch] ?? `\\u{${cp.toString(16)}}`;
}

/**
 * `text` as one safe line of at most `max` characters (plus the note of how
 * long it really was). Lone surrogates (undecodable bytes) are escaped too.
 */
export function printable(text: string, max = 60): string {
  let out = '';
  let shown = 0;
  let i = 0;
  for (; i < text.length && shown < max; shown++) {
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    const ch = text.slice(i, i + width);
    out += (cp >= 0xd800 && cp <= 0xdfff) || UNSAFE.test(ch) ? escapeCodePoint(cp) : ch;
    i += width;
  }
  if (i >= text.length) return out;
  return `${out}… (${characterCount(text).toLocaleString('en-US')} characters)`;
}

/** Characters (code points) in a string, without building an array of them. */
export function characterCount(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** A list of sheet texts for a message: each quoted and made printable, at most `limit` of them. */
export function printableList(items: readonly string[], limit = 10, max = 40): string {
  const shown = items.slice(0, limit).map((s) => `"${printable(s, max)}"`);
  return items.length > limit ? `${shown.join(', ')} and ${items.length - limit} more` : shown.join(', ');
}

/** A message that must stay on one line: any line break inside it becomes a space. */
export function oneLine(message: string): string {
  return message.replace(/\s*[\r\n\u2028\u2029]+\s*/g, ' ');
}
