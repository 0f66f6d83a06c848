// Small tmpfs mounts for fault tests: a real file system that runs out of space (or is read-only), so
// writers meet ENOSPC / EROFS exactly as on a full disk. Mounting needs root on Linux; elsewhere the
// tests that use it are skipped with the reason.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  /** The mount point. */
  readonly dir: string;
  /** Unmounts and removes the mount point. */
  unmount(): void;
}

/** Why tmpfs cannot be mounted here, or undefined when it can be tried. */
function cannotMount(): string | undefined {
  if (process.platform !== 'linux') return `tmpfs needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root (run the tests as root, as CI does)';
  return undefined;
}

/**
 * Mounts a tmpfs of `size` bytes (`readOnly`: mounted read-only) on a new folder.
 * @returns the mount, or the reason it cannot be made (for `it(..., { skip })`).
 */
export function mountTmpfs(size: number, options: { readOnly?: boolean } = {}): Tmpfs | string {
  const reason = cannotMount();
  if (reason) return reason;
  const dir = mkdtempSync(join(tmpdir(), 'masam-tmpfs-'));
  const opts = [`size=${size}`, ...(options.readOnly ? ['ro'] : [])].join(',');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs: ${(r.error?.message ?? r.stderr).trim() || `mount exited ${r.status}`}`;
  }
  return {
    dir,
    unmount() {
      spawnSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Free bytes on the file system of `dir`. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/**
 * Fills the file system of `dir` with a file `name` until `left` bytes
 * (rounded up to whole blocks) stay free; an existing filler of that name is replaced.
 */
export function fillUntil(dir: string, left: number, name = 'filler'): void {
  rmSync(join(dir, name), { force: true });
  const { bsize } = statfsSync(dir);
  const fill = Math.max(0, freeBytes(dir) - Math.ceil(left / bsize) * bsize);
  writeFileSync(join(dir, name), new Uint8Array(fill));
}

/** The temporary files (writeFileAtomic's `.<name>.<pid>.<hex>.tmp`) anywhere under `dir`. */
export function temporariesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) =>
    /(^|\/)\.[^/]+\.\d+\.[0-9a-f]{8}\.tmp$/.test(p),
  );
}
