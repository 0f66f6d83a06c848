// Checked, atomic file writing for the Node-side layers (api/, cli/). Outputs and checkpoints go to a
// temporary file beside the target, every byte is checked as written (a full disk makes write() return
// short counts, not errors), the file is synced, renamed over the target and the folder synced; any
// failure removes the temporary file, leaves the previous file as it was and throws a WriteError that
// names the path and the cause in words.
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MasamError } from '../core/errors.js';
import { isProcessAlive } from '../train/run_lock.js';

/** A file could not be written; `path` is the file the caller asked for, `code` the system error code. */
export class WriteError extends MasamError {
  override name = 'WriteError';
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Messages for the causes a user can act on; anything else keeps the system's own words. */
const CAUSES: Readonly<Record<string, (path: string) => string>> = {
  ENOSPC: (p) => `no space left on device while writing ${p}`,
  EDQUOT: (p) => `disk quota exceeded while writing ${p}`,
  EROFS: (p) => `read-only file system: cannot write ${p}`,
  EACCES: (p) => `permission denied: cannot write ${p}`,
  EPERM: (p) => `operation not permitted: cannot write ${p}`,
  ENOENT: (p) => `cannot write ${p}: its folder does not exist`,
  EISDIR: (p) => `cannot write ${p}: it is a folder`,
  EFBIG: (p) => `file too large for the file system while writing ${p}`,
  EIO: (p) => `input/output error while writing ${p}`,
};

/** `err` (from any step of writing `path`) as a WriteError naming `path`. */
export function writeError(path: string, err: unknown): WriteError {
  if (err instanceof WriteError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const cause = code === undefined ? undefined : CAUSES[code];
  const message = cause ? cause(path) : `cannot write ${path}: ${(err as Error).message}`;
  return new WriteError(path, code, message);
}

// `.<name>.<pid>.<8 hex>.tmp`: the one pattern of every temporary file, so removeStaleTemporaries can
// recognise ours and tell from the PID whether their writer is still alive.
const TEMP_NAME = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** A unique temporary path beside `path` (same file system, so the rename is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

/**
 * Deletes the temporary files in `dir` (not below it) that a killed writer left behind: those named by
 * tempPathFor whose PID is not a live process. A missing folder holds none.
 * @returns the paths removed.
 */
export async function removeStaleTemporaries(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (m === null || isProcessAlive(Number(m[2]))) continue;
    await removeQuietly(join(dir, name));
    removed.push(join(dir, name));
  }
  return removed;
}

/** Writes all of `bytes` at the handle's position, looping over short writes (a full disk gives those). */
async function writeAll(fh: FileHandle, bytes: Uint8Array, path: string): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
    // No error and no progress: the next try would loop forever.
    if (bytesWritten <= 0) {
      throw new WriteError(
        path,
        undefined,
        `cannot write ${path}: the file system accepted no more data after ${done} of ${bytes.length} bytes`,
      );
    }
    done += bytesWritten;
  }
}

// Folders cannot be opened (or synced) on Windows, nor synced on some file systems: the rename stands.
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EINVAL', 'ENOTSUP', 'EPERM', 'EBADF']);

/** Makes a rename in `dir` durable (without it a power cut can undo the rename). */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  let fh: FileHandle;
  try {
    fh = await open(dir, 'r');
  } catch (err) {
    if (DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) return;
    throw err;
  }
  try {
    await fh.sync();
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await fh.close();
  }
}

/** Writes `chunks` to a new temporary file beside `path` and syncs it; removes it on failure. */
async function writeTemporary(path: string, chunks: readonly Uint8Array[]): Promise<string> {
  const tmp = tempPathFor(path);
  try {
    const fh = await open(tmp, 'wx');
    let closed = false;
    try {
      for (const chunk of chunks) await writeAll(fh, chunk, path);
      await fh.sync();
      closed = true;
      await fh.close(); // close can report a delayed write error (network file systems)
    } finally {
      if (!closed) await fh.close().catch(() => undefined);
    }
    return tmp;
  } catch (err) {
    await removeQuietly(tmp);
    throw writeError(path, err);
  }
}

/** Writes `bytes` to `path` atomically and checked (see the file comment). @throws WriteError */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await writeFilesAtomic([[path, bytes]]);
}

/**
 * Writes several files as one step: every file goes to its temporary file first, and only when all are
 * written and synced are they renamed into place. A failure while writing leaves every previous file
 * as it was (a report or a label map with its probabilities is never half old, half new). A file's
 * content is one byte array or several chunks (ONNX external data, large checkpoints).
 * @throws WriteError naming the file that failed.
 */
export async function writeFilesAtomic(
  files: readonly (readonly [path: string, content: Uint8Array | readonly Uint8Array[]])[],
): Promise<void> {
  const temps: string[] = [];
  try {
    for (const [path, content] of files) {
      temps.push(await writeTemporary(path, content instanceof Uint8Array ? [content] : content));
    }
  } catch (err) {
    for (const tmp of temps) await removeQuietly(tmp);
    throw err;
  }
  for (const [i, [path]] of files.entries()) {
    try {
      await rename(temps[i]!, path);
    } catch (err) {
      for (const tmp of temps.slice(i)) await removeQuietly(tmp);
      throw writeError(path, err);
    }
  }
  const synced = new Set<string>();
  for (const [path] of files) {
    if (synced.has(dirname(path))) continue;
    synced.add(dirname(path));
    await syncDirectory(dirname(path)).catch((err: unknown) => {
      throw writeError(path, err);
    });
  }
}

/**
 * Moves a finished temporary file (from tempPathFor, written by another program such as ffmpeg) into
 * place: syncs it, renames it over `path` and syncs the folder; removes it on failure.
 * @throws WriteError
 */
export async function commitTemporary(tmp: string, path: string): Promise<void> {
  try {
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await removeQuietly(tmp);
    throw writeError(path, err);
  }
  await syncDirectory(dirname(path)).catch((err: unknown) => {
    throw writeError(path, err);
  });
}

/**
 * Appends `bytes` to `path` (created if missing), checking every byte as writeFileAtomic does. On failure
 * the file is cut back to its previous length, so no partial record stays (for line logs such as
 * metrics.jsonl).
 * @throws WriteError
 */
export async function appendFileChecked(path: string, bytes: Uint8Array | string): Promise<void> {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  let fh: FileHandle;
  try {
    fh = await open(path, 'a');
  } catch (err) {
    throw writeError(path, err);
  }
  try {
    const before = (await fh.stat()).size;
    try {
      await writeAll(fh, data, path);
    } catch (err) {
      await fh.truncate(before).catch(() => undefined);
      throw err;
    }
  } catch (err) {
    throw writeError(path, err);
  } finally {
    await fh.close().catch(() => undefined);
  }
}
