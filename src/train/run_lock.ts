// The lock of a run folder: one training process per folder, so two runs never interleave their writes
// (issue 10 item 7). The lock is a file holding the owner's PID and host, created exclusively; a lock
// whose process is gone (kill -9 leaves it behind) is taken over with a note.
import { hostname } from 'node:os';
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MasamError } from '../core/errors.js';

/** The lock's file name inside the run folder. */
export const LOCK_NAME = 'train.lock';

/** A held lock; release() removes the file (only if it is still ours). */
export interface RunLock {
  readonly path: string;
  /** Set when a stale lock was taken over: says whose and why. */
  readonly note?: string;
  release(): Promise<void>;
}

interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** Whether a process with this PID runs on this machine (the lock's and temporary files' staleness test). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

async function readHolder(path: string): Promise<Holder | null> {
  try {
    const h = JSON.parse(await readFile(path, 'utf8')) as Partial<Holder>;
    return Number.isInteger(h.pid) && typeof h.host === 'string'
      ? { pid: h.pid!, host: h.host, since: String(h.since ?? '?') }
      : null;
  } catch {
    return null; // unreadable: a writer killed between creating and filling it
  }
}

/**
 * Takes the lock of run folder `dir` (which must exist).
 * @throws MasamError naming the holder's PID when a live process (on this host) holds it, or when the
 * holder is on another host, whose processes this one cannot see.
 */
export async function acquireRunLock(dir: string): Promise<RunLock> {
  const path = join(dir, LOCK_NAME);
  const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  let note: string | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(`${JSON.stringify(me)}\n`);
      } finally {
        await fh.close();
      }
      const release = async () => {
        const holder = await readHolder(path);
        if (holder?.pid === me.pid && holder.host === me.host) await unlink(path).catch(() => undefined);
      };
      return note === undefined ? { path, release } : { path, note, release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readHolder(path);
    if (holder && holder.host !== me.host)
      throw new MasamError(
        `${dir} is locked by PID ${holder.pid} on host ${holder.host} (since ${holder.since}); ` +
          `if no masam train runs there any more, delete ${path}`,
      );
    if (holder && isProcessAlive(holder.pid))
      throw new MasamError(
        `${dir} is in use by another masam train (PID ${holder.pid}, since ${holder.since}); ` +
          `wait for it to finish, stop it, or train into another --out`,
      );
    note = holder
      ? `took over the lock of PID ${holder.pid}, which is no longer running (${path})`
      : `took over an unreadable lock file (${path})`;
    await unlink(path).catch(() => undefined);
  }
  throw new MasamError(`${dir}: another process took the lock ${path} at the same moment; try again`);
}
