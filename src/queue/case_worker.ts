// A masam queue worker: takes case jobs from BullMQ and runs them through a processor (the CLI gives it
// `masam segment`'s per-case code). Each running job holds a lock that the worker renews; a worker that
// dies (kill -9, a lost machine) stops renewing it, and after `lockDurationMs` any other worker's stalled
// check puts the job back in the queue, to be run again elsewhere.
import { type Job, Worker } from 'bullmq';
import type { CaseJobData } from './case_queue.js';
import { redisConnection } from './redis_connection.js';

export interface CaseWorkerOptions {
  readonly redisUrl: string;
  readonly queueName: string;
  /** Jobs run at the same time by this worker. */
  readonly concurrency: number;
  /** How long a job's lock lasts without renewal: how soon a dead worker's job is taken up again. */
  readonly lockDurationMs: number;
  /** How often this worker looks for jobs whose lock expired. */
  readonly stalledIntervalMs: number;
  /** Times a job may be abandoned by a dead worker before it fails. */
  readonly maxStalledCount: number;
  /** Segments one case; reports progress as a fraction in [0, 1]. @returns the label map written. */
  readonly process: (data: CaseJobData, progress: (fraction: number) => void) => Promise<string>;
  /** Hears of each job's start, end and failure (the CLI prints them). */
  readonly log: (line: string) => void;
}

/** Starts taking jobs; `close()` on the returned worker waits for the running jobs to end. */
export function startCaseWorker(options: CaseWorkerOptions): Worker<CaseJobData, string> {
  const worker = new Worker<CaseJobData, string>(
    options.queueName,
    async (job: Job<CaseJobData, string>) => {
      const again = job.attemptsMade > 0 || job.stalledCounter > 0;
      options.log(
        `started ${job.data.name} (job ${job.id}` +
          (again ? `, try ${job.attemptsMade + 1}, abandoned ${job.stalledCounter} time(s) before` : '') +
          ')',
      );
      let reported = -1;
      return options.process(job.data, (fraction) => {
        const percent = Math.floor(fraction * 100);
        if (percent === reported) return;
        reported = percent;
        // Progress is informative: a lost update must not fail the case.
        job.updateProgress(percent).catch(() => undefined);
      });
    },
    {
      connection: redisConnection(options.redisUrl, true),
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: options.maxStalledCount,
    },
  );
  worker.on('completed', (job, written) => options.log(`done ${job.data.name} → ${written}`));
  worker.on('failed', (job, err) => {
    if (!job) return;
    const left = (job.opts.attempts ?? 1) - job.attemptsMade;
    options.log(
      `failed ${job.data.name}: ${err.message}` +
        (left > 0 ? ` (will retry, ${left} tries left)` : ' (no tries left)'),
    );
  });
  worker.on('error', (err) => options.log(`error: ${err.message}`));
  return worker;
}
