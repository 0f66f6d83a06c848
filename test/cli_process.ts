// Runs the masam CLI (src/cli/main.ts through tsx) as a child process, for tests that need what only a
// real process shows: its exit code and stderr, or its death by a signal at a chosen moment.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** How a masam process ended and what it printed. */
export interface MasamExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running masam process and the promise of its end. */
export interface MasamProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<MasamExit>;
}

/** Starts `masam <args>` (paths in `args` should be absolute: it runs in the repository root). */
export function startMasam(args: readonly string[]): MasamProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<MasamExit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exited };
}

/** Runs `masam <args>` to its end. */
export function runMasam(args: readonly string[]): Promise<MasamExit> {
  return startMasam(args).exited;
}

/**
 * Kills `proc` with SIGKILL as soon as `when()` is true (checked every millisecond or so), or after
 * `afterMs` when given and sooner. Resolves with how it ended and whether the kill came first.
 */
export async function killWhen(
  proc: MasamProcess,
  when: () => boolean,
  afterMs = Number.POSITIVE_INFINITY,
): Promise<MasamExit & { readonly killed: boolean }> {
  let ended = false;
  const exited = proc.exited.finally(() => {
    ended = true;
  });
  const started = performance.now();
  let killed = false;
  while (!ended) {
    if (when() || performance.now() - started >= afterMs) {
      killed = proc.child.kill('SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  return { ...(await exited), killed: killed && proc.child.signalCode === 'SIGKILL' };
}
