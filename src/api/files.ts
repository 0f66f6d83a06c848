// Atomic file writing for the Node-side layers (api/, cli/): outputs and checkpoints are written to a
// temporary file in the same folder, synced, then renamed, so a crash never leaves a partial file.
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A unique temporary path beside `path` (same file system, so the rename is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

/** Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename over `path`. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await writeChunksAtomic(path, [bytes]);
}

/** Writes several chunks as one file, atomically (for ONNX external data and large checkpoints). */
export async function writeChunksAtomic(path: string, chunks: readonly Uint8Array[]): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    const fh = await open(tmp, 'wx');
    try {
      for (const chunk of chunks) await fh.write(chunk);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await removeQuietly(tmp);
    throw err;
  }
}
