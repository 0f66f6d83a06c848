// Browser benchmark: the viewer's own Web Worker (viewer/worker.ts → src/viewer/segment_job.ts) on
// onnxruntime-web's WASM backend in headless Chromium (test/viewer/browser.ts), with the threads the viewer
// uses. A ViT-B MA-SAM (random weights, seed 1) is exported split and box-prompted into the served app
// folder; the page fetches the graphs and two 512² volumes of 5 slices and posts the viewer's requests to
// a worker of its own. Measured in the worker (SegmentationDone.seconds: VolumeSegmenter.segment, model
// calls and averaging): one stack through the encoder and the decoder, warm (a first stack on another
// volume runs before, untimed), and the decoder-only rerun of a prompt edit per decoded slice image.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigInput, loadMaSam } from '../src/api/model.js';
import { startViewerServer } from '../src/cli/commands/view.js';
import { Rng } from '../src/core/rng.js';
import { makePhantom } from '../src/data/phantom.js';
import { serializeNifti } from '../src/io/nifti.js';
import type { SegmentationDone } from '../src/viewer/protocol.js';
import { launchChromium } from '../test/viewer/browser.js';
import { buildViewer } from '../viewer/build.js';
import type { BenchMetric, BenchResult } from './bench_result.js';

const SLICES = 5;

/**
 * Plain JavaScript the page runs (a string, so no build step rewrites it): a worker of the viewer's, its
 * 'init' as viewer/app.ts sends it, and `benchAsk(request, transfer)` resolving with the worker's answer
 * (progress skipped; the label map's bytes dropped before they come back to Node).
 */
const PAGE_SCRIPT = `
window.benchWorker = new Worker('./worker.js', { type: 'module' });
window.benchAsk = (request, transfer) => new Promise((resolve, reject) => {
  window.benchWorker.onmessage = (event) => {
    const r = event.data;
    if (r.type === 'progress') return;
    if (r.type === 'error') reject(new Error(r.during + ': ' + r.message));
    else if (r.type === 'done') resolve({ ...r.result, nii: undefined, niiGz: undefined });
    else resolve(r);
  };
  window.benchWorker.postMessage(request, transfer || []);
});
window.benchBytes = async (path) => new Uint8Array(await (await fetch(path)).arrayBuffer());
`;

export interface BrowserBenchOptions {
  readonly config: ConfigInput;
  /** Names the model in the metric names. */
  readonly label: string;
}

/** One worker answer to a 'segment' request, without the label map. */
type Done = Omit<SegmentationDone, 'nii' | 'niiGz'>;

/** The benchmark as `npm run bench -- browser` runs it: ViT-B with BTCV's 13 classes. */
export function runBrowserBench(): Promise<BenchResult> {
  return measureInBrowser({ config: { preset: 'vit_b', num_classes: 13 }, label: 'vit_b' });
}

/** The measurements with `options.config` (a small model tries the benchmark out in seconds). */
export async function measureInBrowser(options: BrowserBenchOptions): Promise<BenchResult> {
  const { config, label } = options;
  const tmp = mkdtempSync(join(tmpdir(), 'masam-bench-browser-'));
  try {
    const appDir = join(tmp, 'app');
    await buildViewer(appDir);
    const files = join(appDir, 'bench');
    mkdirSync(files, { recursive: true });
    const model = await loadMaSam({ config, seed: 1 });
    const size = model.config.img_size;
    // Box-prompted without point slots: the decoder a prompt edit reruns.
    await model.exportSplit(join(files, 'model'), {
      slices: SLICES,
      preprocessing: { modality: 'ct' },
      prompts: { points: 0 },
    });
    for (const [name, seed] of [
      ['warmup.nii.gz', 1],
      ['timed.nii.gz', 2],
    ] as const) {
      const phantom = makePhantom('ct', new Rng(seed), { size: [size, size, SLICES] });
      writeFileSync(join(files, name), serializeNifti(phantom.image, { gzip: true }));
    }

    const server = await startViewerServer({ appDir });
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      await page.goto(`${server.url}?backend=wasm`);
      await page.evaluate(PAGE_SCRIPT); // evaluate is not bound by the page's CSP, a script tag would be
      const ask = async <T>(script: string): Promise<T> => {
        const answer = await page.evaluate(script);
        if (problems.length > 0) throw new Error(`browser bench: page errors: ${problems.join('; ')}`);
        return answer as T;
      };
      const isolated = await ask<boolean>('globalThis.crossOriginIsolated');
      await ask(`benchAsk({ type: 'init', wasmPaths: new URL('./ort/', location.href).href,
        threads: crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1 })`);
      const loaded = await ask<{
        model: { seconds: number; threads: number; backend: string };
      }>(`(async () => {
        const graphs = [];
        for (const name of ['encoder.onnx', 'decoder.onnx']) graphs.push({ name, bytes: await benchBytes('bench/model/' + name) });
        return benchAsk({ type: 'load-model', name: 'bench', graphs, externalData: [], backend: 'wasm' },
          graphs.map((g) => g.bytes.buffer));
      })()`);
      if (loaded.model.backend !== 'wasm') throw new Error(`browser bench: ran on ${loaded.model.backend}`);
      const segment = async (volume: string, box: readonly number[]): Promise<Done> =>
        ask<Done>(`(async () => benchAsk({ type: 'segment', name: ${JSON.stringify(volume)},
          bytes: await benchBytes('bench/${volume}'), stride: ${SLICES},
          prompts: { box3d: ${JSON.stringify(box)} } }))()`);
      const last = size - 1;
      const whole = [0, 0, 0, last, last, SLICES - 1];
      const stackRun = async (volume: string): Promise<Done> => {
        const run = await segment(volume, whole);
        if (run.encodedStacks !== 1 || run.decodedImages !== SLICES) {
          throw new Error(
            `browser bench: ${volume} ran ${run.encodedStacks} stacks and ${run.decodedImages} images, not 1 and ${SLICES}`,
          );
        }
        return run;
      };
      // Untimed: the first model calls (WASM memory growth, kernel set-up) on another volume.
      const warmup = await stackRun('warmup.nii.gz');
      const stack = await stackRun('timed.nii.gz');
      // Prompt edits on the encoded volume: only the decoder runs.
      const edits = [
        [size / 8, size / 8, 0, (7 * size) / 8, (7 * size) / 8, SLICES - 1],
        [size / 4, size / 4, 1, (3 * size) / 4, (3 * size) / 4, SLICES - 2],
        [0, 0, 0, size / 2, size / 2, SLICES - 1],
      ];
      const perImage: number[] = [];
      let decoded = 0;
      for (const box of edits) {
        const run = await segment('timed.nii.gz', box);
        if (run.encodedStacks !== 0)
          throw new Error(`browser bench: a box edit encoded ${run.encodedStacks}`);
        perImage.push(run.seconds / run.decodedImages);
        decoded += run.decodedImages;
      }
      perImage.sort((a, b) => a - b);
      const editPerImage = perImage[Math.floor(perImage.length / 2)]!;
      const threads = loaded.model.threads;
      const where = `headless Chromium, onnxruntime-web WASM, ${threads} thread${threads > 1 ? 's' : ''} (the viewer's choice: min(4, cores) when cross-origin isolated; isolated: ${isolated})`;
      const metrics: BenchMetric[] = [
        {
          name: `browser_wasm_${label}_stack_s`,
          value: stack.seconds,
          unit: 's',
          note: `one ${SLICES}×3×${size}×${size} stack: encoder + ${SLICES} box-prompted decoder calls + averaging, in the worker; one timed run after an untimed one on another volume (${warmup.seconds.toFixed(2)} s)`,
        },
        {
          name: 'browser_wasm_prompt_edit_per_slice_s',
          value: editPerImage,
          unit: 's',
          note: `decoder-only rerun after a box edit (0 stacks encoded) ÷ slice images decoded; median of ${edits.length} edits (${decoded} images; per image ${perImage.map((s) => s.toFixed(3)).join(', ')} s), after the decoder had run ${2 * SLICES} times`,
        },
        {
          name: `browser_wasm_${label}_load_s`,
          value: loaded.model.seconds,
          unit: 's',
          note: 'the worker opening encoder.onnx + decoder.onnx (bytes already in the page)',
        },
      ];
      return {
        metrics,
        notes: [
          `Model: MA-SAM ${JSON.stringify(config)}, random weights (loadMaSam seed 1), MaSamModel.exportSplit with prompts {points: 0}, float32.`,
          `Where: ${where}; the viewer's worker (viewer/worker.ts) driven by the viewer's requests (src/viewer/protocol.ts) from a page of the viewer's server.`,
          `Volumes: CT phantoms ${size}×${size}×${SLICES} (seeds 1 and 2), stride ${SLICES}: one stack each; the box of the stack run covers every voxel.`,
          `Times are the worker's (SegmentationDone.seconds, around VolumeSegmenter.segment): NIfTI parsing and the label map's writing are not in them; the per-image decoder figure includes the per-volume averaging and argmax of the ${size}² × ${SLICES} volume.`,
        ],
      };
    } finally {
      await browser.close();
      await server.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
