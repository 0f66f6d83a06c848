// Runs fuzz inputs in a child process (child.ts) under a time cap and a memory cap: a V8 heap limit
// (--max-old-space-size) and a resident-memory watchdog polling /proc (typed arrays live outside the V8
// heap, so the heap limit alone would not stop a bomb). A child that hangs, crashes or passes the cap is
// killed, the outcome recorded, and a fresh child started for the next input.
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildRequest } from './child.js';
import type { Outcome } from './outcome.js';

export interface SandboxLimits {
  /** Wall-clock limit per input, ms. */
  readonly timeMs: number;
  /** Resident-memory cap of the child, MiB (also its V8 heap limit). */
  readonly memoryMb: number;
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
/** Time a child may take to generate a target's seeds (untimed per input; bombs take a moment). */
const PREPARE_MS = 120_000;

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export class Sandbox {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  /** Targets whose seeds the current child has generated. */
  private prepared = new Set<string>();
  private stderr = '';

  constructor(private readonly limits: SandboxLimits) {}

  private start(): Promise<void> {
    this.stderr = '';
    const child = fork(CHILD, [], {
      execArgv: ['--import', 'tsx', '--expose-gc', `--max-old-space-size=${this.limits.memoryMb}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-2000);
    });
    this.child = child;
    return new Promise((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) =>
        reject(new Error(`fuzz child exited (${code}) before it was ready: ${this.stderr}`)),
      );
    });
  }

  /** Runs one input; never rejects for what the input does to the child. */
  async run(request: Exclude<ChildRequest, { kind: 'prepare' }>): Promise<Outcome> {
    this.ready ??= this.start();
    await this.ready;
    if (!this.prepared.has(request.target)) {
      const outcome = await this.send({ kind: 'prepare', target: request.target }, PREPARE_MS);
      if (outcome.kind !== 'valid')
        throw new Error(`fuzz: cannot make the ${request.target} seeds: ${outcome.detail}`);
      this.prepared.add(request.target);
      return this.run(request);
    }
    return this.send(request, this.limits.timeMs);
  }

  private send(request: ChildRequest, timeMs: number): Promise<Outcome> {
    const child = this.child!;
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const finish = (outcome: Outcome, kill: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(watchdog);
        child.removeListener('message', onMessage);
        child.removeListener('exit', onExit);
        if (kill) this.discard();
        resolve(outcome);
      };
      const onMessage = (outcome: Outcome) => finish(outcome, false);
      const onExit = (code: number | null, signal: string | null) =>
        finish(
          { kind: 'crash', detail: `child died (${signal ?? `exit ${code}`}): ${this.stderr.trim()}` },
          true,
        );
      const timer = setTimeout(
        () => finish({ kind: 'hang', detail: `no outcome within ${timeMs} ms` }, true),
        timeMs,
      );
      const watchdog = setInterval(() => {
        const rss = rssBytes(child.pid!);
        if (rss > this.limits.memoryMb * 1024 ** 2)
          finish(
            { kind: 'memory', detail: `resident memory ${(rss / 1024 ** 2).toFixed(0)} MiB > cap` },
            true,
          );
      }, 25);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(request);
    });
  }

  private discard(): void {
    this.child?.removeAllListeners();
    this.child?.kill('SIGKILL');
    this.child = null;
    this.ready = null;
    this.prepared = new Set();
  }

  /** Ends the child. */
  close(): void {
    this.child?.disconnect();
    this.discard();
  }
}
