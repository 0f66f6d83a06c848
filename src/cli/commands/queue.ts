// `masam queue submit|work|status`: batch segmentation on a BullMQ job queue over Redis (queue/). Submit
// puts one job per NIfTI case of a folder in the queue, or one per series a DICOMweb query finds; workers,
// on any number of machines that see the same paths, segment them with `masam segment`'s per-case code
// (segmentOne: same labels, same atomic outputs, same names), or read a series through WADO-RS and store
// its DICOM-SEG through STOW-RS (serve's DICOMweb datastore); status counts done, failed and waiting jobs
// and gives each failure's reason.
import { basename, join, resolve } from 'node:path';
import type { Queue } from 'bullmq';
import {
  type CaseJobData,
  DEFAULT_QUEUE_NAME,
  openQueue,
  queueSummary,
  submitCases,
} from '../../queue/case_queue.js';
import { startCaseWorker } from '../../queue/case_worker.js';
import { DEFAULT_REDIS_URL } from '../../queue/redis_connection.js';
import { VolumeSegmenter } from '../../infer/segment.js';
import type { Device } from '../../runtime/index.js';
import { TAG, jsonString } from '../../serve/dicomweb_client.js';
import { DicomWebDatastore } from '../../serve/dicomweb_datastore.js';
import { version } from '../version.js';
import { caseFileName } from '../case_files.js';
import { type Command, UsageError, parseCommandArgs, withExamples } from '../command.js';
import { openModel } from '../model_files.js';
import { planJobs, segmentOne } from './segment.js';

const USAGE = withExamples(
  [
    'Usage: masam queue submit <folder | case.nii.gz> --output <folder> [--attempts N] [--backoff-ms MS]',
    "       masam queue submit --studies <DICOMweb URL> [--query 'Modality=CT&StudyDate=20240101-']",
    '       masam queue work --model <model> [--concurrency N] [--lock-ms MS] [--threads N]',
    '       masam queue status [--json]',
    '',
    'Batch segmentation on a job queue (BullMQ over Redis): submit one job per case, start workers on any',
    'number of machines, read the summary. Every machine must see the input and output paths (a shared',
    'folder); the outputs are those of `masam segment --input <folder> --output <folder>`, written',
    'atomically. A job that fails is retried with exponential backoff; a job whose worker dies (killed,',
    'machine lost) is put back in the queue once its lock expires (--lock-ms) and run by another worker.',
    '',
    'Common options:',
    `  --redis URL         the Redis server (default ${DEFAULT_REDIS_URL})`,
    `  --queue NAME        the queue (default ${DEFAULT_QUEUE_NAME})`,
    'submit:',
    '  --output <folder>   where the label maps go: <folder>/CASE.nii.gz and CASE.labels.json, as segment',
    '  --attempts N        tries per case, the first included (default 3)',
    '  --backoff-ms MS     wait before the first retry, doubled for each later one (default 5000)',
    '                      A case already in the queue (waiting, running, done or failed) is not added again.',
    '  --studies URL       instead of a folder: one job per series of this DICOMweb server (QIDO-RS; SEG',
    '                      series skipped); workers read it (WADO-RS) and store a DICOM-SEG of it (STOW-RS)',
    '  --query FILTERS     QIDO-RS series filters, as a query string (Modality=CT&StudyDate=20240101-)',
    'work (runs until Ctrl-C / SIGTERM, then finishes its running jobs):',
    '  --model <model>     an exported model, as for masam segment (automatic models: no prompts)',
    '  --concurrency N     cases run at once by this worker (default 1)',
    '  --lock-ms MS        how long a running job stays with a worker that stopped answering (default',
    '                      30000): after it, another worker takes the job',
    '  --max-stalled N     times a job may lose its worker before it fails (default 2)',
    '  --device cpu|cuda   ONNX Runtime execution provider (default cpu)',
    '  --threads N         ONNX Runtime intra-op threads (default: all cores)',
    'status:',
    '  --json              the counts and failures as JSON',
  ].join('\n'),
  [
    'masam queue submit Dataset001_BTCV/imagesTs --output preds/ --redis redis://127.0.0.1:6379',
    'masam queue work --model runs/btcv/model --concurrency 1',
  ],
);

function parse(args: string[]) {
  return parseCommandArgs({
    args,
    options: {
      redis: { type: 'string', default: DEFAULT_REDIS_URL },
      queue: { type: 'string', default: DEFAULT_QUEUE_NAME },
      output: { type: 'string' },
      studies: { type: 'string' },
      query: { type: 'string' },
      attempts: { type: 'string', default: '3' },
      'backoff-ms': { type: 'string', default: '5000' },
      model: { type: 'string' },
      concurrency: { type: 'string', default: '1' },
      'lock-ms': { type: 'string', default: '30000' },
      'max-stalled': { type: 'string', default: '2' },
      device: { type: 'string', default: 'cpu' },
      threads: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
}

function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a positive integer, got '${raw}'`);
  return n;
}

type Values = ReturnType<typeof parse>['values'];

async function withQueue<T>(values: Values, use: (queue: Queue<CaseJobData>) => Promise<T>): Promise<T> {
  const queue = await openQueue(values.redis, values.queue);
  try {
    return await use(queue);
  } finally {
    await queue.close();
  }
}

/** One job per non-SEG series that the QIDO-RS query `query` finds on `studies`. */
async function seriesCases(studies: string, query: string | undefined): Promise<CaseJobData[]> {
  const filters = Object.fromEntries(new URLSearchParams(query ?? ''));
  const client = new DicomWebDatastore(studies, version).client;
  const found = await client.searchSeries(filters, [TAG.Modality]);
  const cases: CaseJobData[] = [];
  for (const s of found) {
    const series = jsonString(s, TAG.SeriesInstanceUID);
    // A SEG is a result (ours or another tool's), not an image to segment.
    if (!series || jsonString(s, TAG.Modality) === 'SEG') continue;
    cases.push({
      input: `${client.baseUrl} series ${series}`,
      name: series,
      output: client.baseUrl,
      dicomweb: { studies: client.baseUrl, series },
    });
  }
  return cases;
}

async function submit(input: string | undefined, values: Values): Promise<number> {
  const retry = {
    attempts: positiveInt('attempts', values.attempts),
    backoffMs: positiveInt('backoff-ms', values['backoff-ms']),
  };
  if (values.studies !== undefined) {
    if (input !== undefined || values.output !== undefined)
      throw new UsageError(
        'queue submit --studies: results go to the DICOMweb server; give no folder or --output',
      );
    const cases = await seriesCases(values.studies, values.query);
    return report(await withQueue(values, (queue) => submitCases(queue, cases, retry)), cases.length, values);
  }
  if (values.query !== undefined)
    throw new UsageError('queue submit: --query needs --studies <DICOMweb URL>');
  if (input === undefined) throw new UsageError('queue submit: give the folder of cases (or one case file)');
  if (values.output === undefined) throw new UsageError('queue submit: missing --output <folder>');
  // Absolute paths: a worker runs in another folder, maybe on another machine sharing the same mount.
  const jobs = await planJobs(resolve(input), resolve(values.output));
  const cases = jobs.map((job): CaseJobData => {
    if ('dicomSeg' in job.output || !/\.nii(\.gz)?$/i.test(job.input)) {
      throw new UsageError(
        `queue submit takes NIfTI cases (a folder of .nii/.nii.gz, or one file): ${input}`,
      );
    }
    // One file into a folder keeps its case name, as segment names it.
    const output =
      'nifti' in job.output ? job.output.nifti : join(job.output.folder, caseFileName(basename(job.input)));
    return { input: job.input, ...(job.channels && { channels: job.channels }), name: job.name, output };
  });
  return report(await withQueue(values, (queue) => submitCases(queue, cases, retry)), cases.length, values);
}

function report(added: number, total: number, values: Values): number {
  console.log(
    `submitted ${added} of ${total} case(s) to queue '${values.queue}' at ${values.redis}` +
      (added < total ? ` (${total - added} already queued)` : ''),
  );
  return 0;
}

async function work(values: Values): Promise<number> {
  if (values.model === undefined) throw new UsageError('queue work: missing --model');
  if (values.device !== 'cpu' && values.device !== 'cuda') {
    throw new UsageError(`--device must be cpu or cuda, got '${values.device}'`);
  }
  const device: Device = values.device;
  const concurrency = positiveInt('concurrency', values.concurrency);
  const lockMs = positiveInt('lock-ms', values['lock-ms']);
  const maxStalled = positiveInt('max-stalled', values['max-stalled']);
  const threads = values.threads === undefined ? undefined : positiveInt('threads', values.threads);
  const model = await openModel(values.model, { device, ...(threads ? { threads } : {}) });
  try {
    if (model.info.prompts) {
      throw new UsageError(`${values.model} is box-prompted: the queue runs automatic models (no prompts)`);
    }
    const settings = { stride: 1, probabilities: false, overlay: undefined, strict: false };
    const pacs = new Map<string, DicomWebDatastore>();
    const modelName = basename(resolve(values.model));
    const worker = startCaseWorker({
      redisUrl: values.redis,
      queueName: values.queue,
      concurrency,
      lockDurationMs: lockMs,
      stalledIntervalMs: Math.max(1, Math.floor(lockMs / 2)),
      maxStalledCount: maxStalled,
      log: (line) => console.log(line),
      async process(data, progress) {
        if (data.dicomweb) {
          const { studies, series } = data.dicomweb;
          const store = pacs.get(studies) ?? new DicomWebDatastore(studies, version);
          pacs.set(studies, store);
          // The settings segmentOne runs a case with; the labels go to the PACS instead of a file.
          const volume = await store.readImage(series);
          const result = await new VolumeSegmenter(volume, model.model, {
            source: data.input,
            strict: settings.strict,
          }).segment({
            stride: settings.stride,
            probabilities: settings.probabilities,
            onProgress: (done, total) => progress(done / total),
          });
          const seg = await store.storeSeg(series, result.labels, model.info.classNames, modelName);
          return `${studies} series ${seg.seriesInstanceUID} (DICOM-SEG)`;
        }
        const job = { input: data.input, name: data.name, output: { nifti: data.output } };
        await segmentOne(
          data.channels ? { ...job, channels: data.channels } : job,
          model,
          settings,
          (done, total) => progress(done / total),
        );
        return data.output;
      },
    });
    console.log(`worker ${process.pid}: taking jobs from queue '${values.queue}' at ${values.redis}`);
    await new Promise<void>((done) => {
      process.once('SIGINT', () => done());
      process.once('SIGTERM', () => done());
    });
    console.log(`worker ${process.pid}: stopping after the running job(s); Ctrl-C again to stop now`);
    // A second signal stops at once (Redis gone, a case too long): its job is retried by another worker.
    const force = () => void worker.close(true);
    process.once('SIGINT', force);
    process.once('SIGTERM', force);
    await worker.close();
  } finally {
    await model.release();
  }
  return 0;
}

async function status(values: Values): Promise<number> {
  const summary = await withQueue(values, queueSummary);
  if (values.json) {
    console.log(JSON.stringify(summary, null, 2));
    return 0;
  }
  console.log(
    `queue '${values.queue}': ${summary.done} done, ${summary.failed} failed, ${summary.waiting} waiting, ` +
      `${summary.active} running, ${summary.delayed} waiting to retry`,
  );
  for (const f of summary.failures) {
    console.log(`failed: ${f.name} (${f.input}) after ${f.attempts} tries: ${f.reason}`);
  }
  return 0;
}

/** The `queue` subcommand (listed in run_cli.ts). */
export const queue: Command = {
  name: 'queue',
  summary: 'batch segmentation on a Redis job queue: submit cases, run workers, read the summary',
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parse(args);
    const [action, ...rest] = positionals;
    if (action !== 'submit' && rest.length > 0) {
      throw new UsageError(`queue ${action}: unexpected argument '${rest[0]}'`);
    }
    if (action === 'submit') {
      if (rest.length > 1) throw new UsageError(`queue submit: one folder or file, got ${rest.length}`);
      return submit(rest[0], values);
    }
    if (action === 'work') return work(values);
    if (action === 'status') return status(values);
    throw new UsageError(
      action === undefined
        ? 'queue: give submit, work or status'
        : `queue: unknown action '${action}' (submit, work, status)`,
    );
  },
};
