// The masam job queue on BullMQ: one job per case (its input files and where its outputs go, or a series of
// a DICOMweb server whose result goes back there), added once per case (the job id is derived from the
// output path or the SeriesInstanceUID, so submitting again adds nothing that is still queued), retried
// with exponential backoff, and counted for `masam queue status`.
import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import { MasamError } from '../core/errors.js';
import { redisConnection } from './redis_connection.js';

/** What a worker needs to segment one case (JSON in Redis; paths as every worker machine sees them). */
export interface CaseJobData {
  /** The case's first (or only) file. */
  readonly input: string;
  /** Every channel file of a multi-channel case, in channel order. */
  readonly channels?: readonly string[];
  /** The case name. */
  readonly name: string;
  /** The label map to write (its sidecar goes beside it); for a DICOMweb series, the server's URL. */
  readonly output: string;
  /** A series read through WADO-RS from `studies`, its result stored there as a DICOM-SEG (STOW-RS). */
  readonly dicomweb?: { readonly studies: string; readonly series: string };
}

/** How failed tries are retried. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** Delay before the first retry; each later one waits twice as long. */
  readonly backoffMs: number;
}

export const DEFAULT_QUEUE_NAME = 'masam';

/**
 * A stable job id for a case: its name and a digest of its output path (ids may not hold ':'); for a
 * DICOMweb series, its SeriesInstanceUID (digits and dots, unique by definition).
 */
export function caseJobId(data: CaseJobData): string {
  if (data.dicomweb) return `series-${data.dicomweb.series}`;
  const digest = createHash('sha256').update(data.output).digest('hex').slice(0, 16);
  return `${data.name.replace(/[^A-Za-z0-9._-]/g, '_')}-${digest}`;
}

/** Opens the queue `name` on the Redis at `redisUrl`, and checks that Redis answers. */
export async function openQueue(redisUrl: string, name: string): Promise<Queue<CaseJobData>> {
  const queue = new Queue<CaseJobData>(name, { connection: redisConnection(redisUrl, false) });
  queue.on('error', () => undefined); // reported by the awaited call below
  try {
    await queue.getJobCounts('waiting');
  } catch (err) {
    await queue.close().catch(() => undefined);
    throw new MasamError(`cannot reach Redis at ${redisUrl}: ${(err as Error).message}`);
  }
  return queue;
}

/**
 * Adds one job per case. A case whose job is still in the queue (waiting, running, done or failed) is
 * not added again. @returns how many jobs were new.
 */
export async function submitCases(
  queue: Queue<CaseJobData>,
  cases: readonly CaseJobData[],
  retry: RetryPolicy,
): Promise<number> {
  let added = 0;
  for (const data of cases) {
    const jobId = caseJobId(data);
    if (await queue.getJob(jobId)) continue;
    await queue.add(data.name, data, {
      jobId,
      attempts: retry.attempts,
      backoff: { type: 'exponential', delay: retry.backoffMs },
      // Kept, so that status can count them and a resubmission does not redo them.
      removeOnComplete: false,
      removeOnFail: false,
    });
    added++;
  }
  return added;
}

/** A failed job as status reports it. */
export interface FailedCase {
  readonly name: string;
  readonly input: string;
  readonly reason: string;
  readonly attempts: number;
}

/** The queue's counts and failed cases. */
export interface QueueSummary {
  readonly done: number;
  readonly failed: number;
  readonly waiting: number;
  readonly active: number;
  /** Waiting for a retry's backoff. */
  readonly delayed: number;
  readonly failures: readonly FailedCase[];
}

export async function queueSummary(queue: Queue<CaseJobData>): Promise<QueueSummary> {
  const counts = await queue.getJobCounts(
    'completed',
    'failed',
    'waiting',
    'active',
    'delayed',
    'prioritized',
  );
  const failed = await queue.getFailed();
  return {
    done: counts['completed'] ?? 0,
    failed: counts['failed'] ?? 0,
    waiting: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0),
    active: counts['active'] ?? 0,
    delayed: counts['delayed'] ?? 0,
    failures: failed.map((job) => ({
      name: job.data.name,
      input: job.data.input,
      reason: job.failedReason ?? 'unknown',
      attempts: job.attemptsMade,
    })),
  };
}
