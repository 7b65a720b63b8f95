/** A file's bytes in pieces, for the passes that read a CSV export whole before parsing it. */
import { open } from 'node:fs/promises';

/** Bytes read at a time. */
export const PIECE = 1 << 20;

/**
 * Reads the file from `from` in pieces of up to PIECE bytes, stopping when
 * the signal fires. Every piece is the same buffer, read into again: a piece
 * is valid until the next one is asked for (copy what must outlive it), and
 * a pass over a large export allocates nothing per megabyte.
 */
export async function* bytesOf(file: string, from = 0, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(PIECE);
    let position = from;
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, PIECE, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
