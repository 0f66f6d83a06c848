// Serve benchmark (issue 14): what a 3D Slicer user waits for from `masam serve`. Starts the server in this
// process on 127.0.0.1 with the bundled demo model and a temporary datastore, uploads the demo's phantom CT
// (seed 42, 128×128×48, as `masam demo` makes it), then times POST /infer/<model>?image=<id> over HTTP,
// NIfTI answer included: sequential requests (median and p90), and 20 at once on the same image (the server
// runs one model run at a time per model, so the rest wait in its queue); and the request OHIF's MONAI Label
// mode sends (output=image, a raw uint8 NRRD answer).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BUNDLED_MODEL } from '../src/cli/commands/demo.js';
import { openServedModels } from '../src/cli/commands/serve.js';
import { Rng } from '../src/core/rng.js';
import { makePhantom } from '../src/data/phantom.js';
import { serializeNifti } from '../src/io/nifti.js';
import { buildServer } from '../src/serve/server.js';
import type { BenchMetric, BenchResult } from './bench_result.js';

const DEMO_SEED = 42;
const IMAGE_ID = 'demo42';

export interface ServeBenchPlan {
  /** Sequential timed requests after one untimed warm-up. */
  readonly sequential: number;
  /** Requests sent at once. */
  readonly concurrent: number;
}

const PLAN: ServeBenchPlan = { sequential: 5, concurrent: 20 };

/** One /infer as the client sees it, and the model's own seconds from the answer's params. */
interface Timed {
  readonly seconds: number;
  readonly inferSeconds: number;
  readonly queuedSeconds: number;
}

/** The `params` part of a multipart /infer answer; the label map part must be there and non-empty. */
async function answerParams(res: Response): Promise<Record<string, unknown>> {
  if (res.status !== 200) throw new Error(`serve bench: /infer answered ${res.status}: ${await res.text()}`);
  const parts = await res.formData();
  const image = parts.get('image');
  if (!(image instanceof File) || image.size === 0)
    throw new Error('serve bench: /infer answer has no label map');
  return JSON.parse(String(parts.get('params'))) as Record<string, unknown>;
}

function quantile(sorted: readonly number[], q: number): number {
  // Nearest rank: with 5 samples p90 is the slowest one.
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

export async function measureServe(plan: ServeBenchPlan): Promise<BenchResult> {
  const { models, opened } = await openServedModels(dirname(BUNDLED_MODEL));
  const datastore = mkdtempSync(join(tmpdir(), 'masam-bench-serve-'));
  const app = await buildServer({ models, datastore, version: 'bench' });
  try {
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const name = models[0]!.name;
    const phantom = makePhantom('ct', new Rng(DEMO_SEED), { size: [128, 128, 48] });
    const upload = new FormData();
    upload.append('params', '{}');
    upload.append(
      'file',
      new Blob([new Uint8Array(serializeNifti(phantom.image, { gzip: true }))]),
      'image.nii.gz',
    );
    const up = await fetch(`${url}/datastore/?image=${IMAGE_ID}`, { method: 'PUT', body: upload });
    if (up.status !== 200) throw new Error(`serve bench: upload answered ${up.status}: ${await up.text()}`);

    const infer = async (): Promise<Timed> => {
      const body = new FormData();
      body.append('params', '{}');
      const t0 = performance.now();
      const params = await answerParams(
        await fetch(`${url}/infer/${name}?image=${IMAGE_ID}`, { method: 'POST', body }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const latencies = params['latencies'] as Record<string, number>;
      return { seconds, inferSeconds: latencies['infer']!, queuedSeconds: latencies['queued']! };
    };

    /** Seconds of one /infer as OHIF's MonaiLabelClient sends it, answer read. */
    const inferAsOhif = async (): Promise<number> => {
      const body = new FormData();
      body.append(
        'params',
        JSON.stringify({ result_extension: '.nrrd', result_dtype: 'uint8', result_compress: false }),
      );
      const t0 = performance.now();
      const res = await fetch(`${url}/infer/${name}?image=${IMAGE_ID}&output=image`, {
        method: 'POST',
        body,
      });
      const bytes = await res.arrayBuffer();
      if (res.status !== 200 || bytes.byteLength < 128 * 128 * 48)
        throw new Error(
          `serve bench: OHIF-style /infer answered ${res.status} with ${bytes.byteLength} bytes`,
        );
      return (performance.now() - t0) / 1000;
    };

    await infer();
    const sequential: Timed[] = [];
    for (let i = 0; i < plan.sequential; i++) sequential.push(await infer());
    const seqSeconds = sequential.map((t) => t.seconds).sort((a, b) => a - b);
    const ohifSeconds: number[] = [];
    for (let i = 0; i < plan.sequential; i++) ohifSeconds.push(await inferAsOhif());

    const started = performance.now();
    const together = await Promise.all(Array.from({ length: plan.concurrent }, infer));
    const wall = (performance.now() - started) / 1000;

    const n = plan.concurrent;
    const m = plan.sequential;
    const metrics: BenchMetric[] = [
      {
        name: 'serve_infer_latency_s',
        value: median(seqSeconds),
        unit: 's',
        note: `median of ${m} sequential POST /infer/${name}?image=<id> after 1 warm-up; HTTP round trip incl. the NIfTI answer`,
      },
      {
        name: 'serve_infer_p90_s',
        value: quantile(seqSeconds, 0.9),
        unit: 's',
        note: `p90 (nearest rank) of the same ${m} requests`,
      },
      {
        name: 'serve_model_run_s',
        value: median(sequential.map((t) => t.inferSeconds)),
        unit: 's',
        note: "median of the sequential answers' params.latencies.infer (the model run alone)",
      },
      {
        name: 'serve_infer_ohif_nrrd_latency_s',
        value: median(ohifSeconds),
        unit: 's',
        note: `median of ${m} sequential POST /infer/${name}?image=<id>&output=image with OHIF's params (raw uint8 NRRD answer)`,
      },
      {
        name: `serve_concurrent${n}_s`,
        value: wall,
        unit: 's',
        note: `${n} POST /infer on the same image sent at once, all 200; wall time until the last answer is read`,
      },
      {
        name: `serve_concurrent${n}_per_request_s`,
        value: wall / n,
        unit: 's',
        note: `serve_concurrent${n}_s / ${n}`,
      },
      {
        name: `serve_concurrent${n}_model_run_s`,
        value: median(together.map((t) => t.inferSeconds)),
        unit: 's',
        note: `median params.latencies.infer of the ${n} concurrent answers`,
      },
      {
        name: `serve_concurrent${n}_max_queued_s`,
        value: Math.max(...together.map((t) => t.queuedSeconds)),
        unit: 's',
        note: 'longest params.latencies.queued: the last request waited this long for the model',
      },
    ];
    return {
      metrics,
      notes: [
        `Model: the bundled demo model (models/demo) served as '${name}' (ONNX Runtime threads: all cores); image: makePhantom('ct', seed ${DEMO_SEED}, 128×128×48) uploaded to a temporary datastore as .nii.gz.`,
        'The server keeps one segmenter per (model, image), so requests after the first skip loading the image; a one-graph model still runs in full each time.',
      ],
    };
  } finally {
    await app.close();
    await Promise.all(opened.map((o) => o.release()));
    rmSync(datastore, { recursive: true, force: true });
  }
}

export async function runServeBench(): Promise<BenchResult> {
  return measureServe(PLAN);
}
