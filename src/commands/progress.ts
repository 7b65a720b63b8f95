/**
 * Progress on long runs: one self-overwriting line on stderr, only when stderr
 * is a terminal (never in pipes, logs or --json consumers' way).
 */
export class Progress {
  private last = 0;
  private shown = false;
  private readonly enabled: boolean;
  constructor(enabled = process.stderr.isTTY === true) {
    this.enabled = enabled;
  }

  /** Shows the line (at most five times a second); a function is called only then, so a line no one sees costs nothing. */
  update(line: string | (() => string)): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 200) return;
    this.last = now;
    this.shown = true;
    process.stderr.write(`\r\x1b[2K${typeof line === 'string' ? line : line()}`);
  }

  done(): void {
    if (this.enabled && this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}

export { fmt } from '../format.ts';
