// The browser viewer end to end: `masam view`'s server preloads a CT phantom and a small exported model,
// Debian's Chromium (playwright-core) segments it with onnxruntime-web's WASM backend in the page's Web
// Worker, and the downloaded label map must equal `masam segment`'s (onnxruntime-node) voxel for voxel.
// Then the same through the file pickers with the weights in a separate .onnx.data file, and a
// box-prompted model with a box dragged on a slice and typed in, and a model with point slots with a typed
// box and a clicked point, against `masam segment --prompts`. The display convention: a volume with a
// marker on the patient's left only shows it on the screen's right (radiological, the default) and on the
// left after the Neurological toggle; voxel read-out and slice number count from 0; the legend fits the
// panel at 1400 px. A split model (encoder.onnx + decoder.onnx) served from a run folder: after a box edit
// Segment runs only the decoder (0 stacks encoded) and still gives `masam segment --prompts`'s labels for
// the new box; Cancel stops a run and the next Segment encodes only the stacks the cancelled run did not.
// A float16 export asked for WebGPU on SwiftShader (no 'shader-f16') runs on WASM with the reason shown,
// its labels within a stated tolerance of the float32 CLI's.
// Also: the server's headers and refusals, `--model`'s forms, and the legend helpers. Artefacts:
// test-output/viewer.png, viewer_box.png, viewer_convention.png, viewer_legend.png and viewer_fp16.png.
import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { SPLIT_DECODER_FILE, SPLIT_ENCODER_FILE } from '../src/api/model.js';
import { segment } from '../src/cli/commands/segment.js';
import { modelPreload, startViewerServer } from '../src/cli/commands/view.js';
import { parseNifti } from '../src/io/nifti.js';
import { countLabels, formatVolume, labelColorMap } from '../src/viewer/legend.js';
import { buildViewer } from '../viewer/build.js';
import { type Browser, launchChromium } from './viewer/browser.js';
import { toExternalData } from './viewer/external_data.js';
import {
  CLASS_NAMES,
  LEFT_MARKER,
  type ViewerFixtures,
  makePromptedModel,
  makeSplitModel,
  makeViewerFixtures,
  writeLeftMarkerVolume,
  writePhantom,
} from './viewer/fixtures.js';

const ARTEFACTS = join(import.meta.dirname, '..', 'test-output');

/** What one segmentation in the page gave. */
interface PageRun {
  /** Voxels per label from the legend (data-count). */
  readonly legendCounts: number[];
  readonly legendNames: string[];
  /** The downloaded label map. */
  readonly labels: Uint8Array;
  readonly shape: readonly number[];
  readonly seconds: number;
  readonly timing: string;
  /** The status line after the run (a split model's says how many stacks were encoded). */
  readonly status: string;
}

/** A page that records errors and any request that does not go to `origin` with GET. */
async function watchedPage(browser: Browser, origin: string) {
  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  // Nothing may leave the machine: every request goes to the viewer's own server, and none sends data.
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !/^(blob|data):/.test(r.url())) problems.push(`request: ${r.url()}`);
    if (r.method() !== 'GET') problems.push(`request: ${r.method()} ${r.url()}`);
  });
  return { page, problems };
}

/** Waits for the model on `backend`, clicks Segment, waits for the result, reads the legend and downloads the labels. */
async function segmentInPage(
  page: Page,
  dir: string,
  screenshot?: string,
  backend: 'wasm' | 'webgpu' = 'wasm',
): Promise<PageRun> {
  await page.waitForSelector(`body[data-backend="${backend}"]`, { timeout: 120_000 });
  await page.waitForSelector('#segment:not([disabled])', { timeout: 60_000 });
  await page.click('#segment');
  await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 300_000 });
  const status = await page.textContent('#status');
  assert.equal(await page.getAttribute('body', 'data-state'), 'done', `viewer status: ${status}`);
  const rows = await page.$$eval('#legend tbody tr', (trs) =>
    (trs as HTMLTableRowElement[]).map((tr) => ({
      count: Number(tr.dataset['count']),
      name: tr.cells[1]?.textContent ?? '',
    })),
  );
  if (screenshot) {
    mkdirSync(ARTEFACTS, { recursive: true });
    await page.screenshot({ path: screenshot });
  }
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.match(download.suggestedFilename(), /^phantom_ct\w*_labels\.nii\.gz$/);
  const path = join(dir, `browser_${Date.now()}.nii.gz`);
  await download.saveAs(path);
  const volume = parseNifti(readFileSync(path), path);
  assert.equal(volume.dtype, 'uint8');
  return {
    legendCounts: rows.map((r) => r.count),
    legendNames: rows.map((r) => r.name),
    labels: volume.data as Uint8Array,
    shape: volume.shape,
    seconds: Number(await page.getAttribute('#timing', 'data-seconds')),
    timing: (await page.textContent('#timing')) ?? '',
    status: status ?? '',
  };
}

/** Left-clicks the canvas at (x, y) (page pixels): the crosshair's voxel (i, j, k as stored) and the image value there. */
async function clickVoxel(page: Page, x: number, y: number): Promise<{ voxel: number[]; value: number }> {
  await page.mouse.click(x, y);
  const voxel = await page.getAttribute('#location', 'data-voxel');
  const text = (await page.textContent('#location')) ?? '';
  assert.ok(voxel, `a voxel under the click: ${text}`);
  // The read-out spells out what it shows: "voxel i j k · x, y, z mm (RAS) · value v[ · label n name]".
  const value = / · value (-?[\d.e+-]+)/.exec(text);
  assert.ok(value, `an image value in the read-out: ${text}`);
  assert.equal(Number(await page.getAttribute('#location', 'data-value')), Number(value[1]));
  return { voxel: voxel.split(',').map(Number), value: Number(value[1]) };
}

/**
 * Where the canvas shows near-white pixels (the marker) relative to the grey body: the centroid of each in
 * page pixels. Yellow crosshair and coloured pixels are not grey and count for neither.
 */
async function markerAndBody(
  page: Page,
): Promise<{ marker: [number, number]; body: [number, number]; n: number }> {
  const box = await page.locator('#canvas').boundingBox();
  assert.ok(box);
  const png = PNG.sync.read(await page.locator('#canvas').screenshot());
  const sums = { marker: [0, 0, 0], body: [0, 0, 0] };
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const p = 4 * (y * png.width + x);
      const [r, g, b] = [png.data[p]!, png.data[p + 1]!, png.data[p + 2]!];
      if (Math.max(r, g, b) - Math.min(r, g, b) > 24) continue;
      const kind = r > 225 ? sums.marker : r > 40 ? sums.body : undefined;
      if (!kind) continue;
      kind[0]! += x;
      kind[1]! += y;
      kind[2]!++;
    }
  }
  const centre = (s: number[]): [number, number] => [
    box.x + (s[0]! / s[2]!) * (box.width / png.width),
    box.y + (s[1]! / s[2]!) * (box.height / png.height),
  ];
  assert.ok(
    sums.marker[2]! > 100 && sums.body[2]! > 1000,
    `marker and body drawn: ${sums.marker[2]}, ${sums.body[2]} px`,
  );
  return { marker: centre(sums.marker), body: centre(sums.body), n: sums.marker[2]! };
}

/** Right-drags on the canvas from `a` to `b` (page pixels). */
async function rightDrag(
  page: Page,
  a: readonly [number, number],
  b: readonly [number, number],
): Promise<void> {
  await page.mouse.move(a[0], a[1]);
  await page.mouse.down({ button: 'right' });
  await page.mouse.move(b[0], b[1], { steps: 8 });
  await page.mouse.up({ button: 'right' });
}

const BOX_INPUTS = ['#box-i1', '#box-j1', '#box-k1', '#box-i2', '#box-j2', '#box-k2'];

async function boxInputs(page: Page): Promise<number[]> {
  return Promise.all(BOX_INPUTS.map(async (id) => Number(await page.inputValue(id))));
}

/**
 * `masam segment [--prompts]` (onnxruntime-node) on `volume`: the labels the page must reproduce. `model`
 * is anything `--model` takes (an .onnx, a split model folder, a run folder).
 */
async function cliWithPrompts(
  model: string,
  volume: string,
  prompts: object | undefined,
  stem: string,
): Promise<Uint8Array> {
  return (await cliLabelsAndProbabilities(model, volume, prompts, stem)).labels;
}

/** `masam segment` (with --prompts when given) and its averaged class probabilities [nx, ny, nz, K]. */
async function cliLabelsAndProbabilities(
  model: string,
  volume: string,
  prompts: object | undefined,
  stem: string,
): Promise<{ labels: Uint8Array; probabilities: Float32Array }> {
  const promptsPath = `${stem}_prompts.json`;
  if (prompts) writeFileSync(promptsPath, JSON.stringify(prompts));
  const out = `${stem}_labels.nii.gz`;
  const code = await segment.run([
    '--model',
    model,
    '--input',
    volume,
    '--output',
    out,
    ...(prompts ? ['--prompts', promptsPath] : []),
    '--probabilities',
  ]);
  assert.equal(code, 0);
  const probs = out.replace(/\.nii\.gz$/, '.probabilities.nii.gz');
  return {
    labels: parseNifti(readFileSync(out), out).data as Uint8Array,
    probabilities: parseNifti(readFileSync(probs), probs).data as Float32Array,
  };
}

/**
 * A split model's decoder computes its softmax in ONNX Runtime, whose exp differs in the last bits between
 * onnxruntime-node (CPU) and onnxruntime-web (WASM); a voxel whose two best classes are that close may
 * then go either way. The voxels where `labels` differs from the CLI's although the CLI's two best mean
 * probabilities are at least `margin` apart (1e-4: a hundred times float32 noise on probabilities ≤ 1),
 * and all differing voxels.
 */
function differingBeyondTies(
  labels: Uint8Array,
  cli: { labels: Uint8Array; probabilities: Float32Array },
  margin = 1e-4,
): { beyondTies: number; all: number } {
  const n = labels.length;
  const classes = cli.probabilities.length / n;
  let beyondTies = 0;
  let all = 0;
  for (let v = 0; v < n; v++) {
    if (labels[v] === cli.labels[v]) continue;
    all++;
    let best = -1;
    let second = -1;
    for (let c = 0; c < classes; c++) {
      const p = cli.probabilities[c * n + v]!;
      if (p > best) [best, second] = [p, best];
      else if (p > second) second = p;
    }
    if (best - second >= margin) beyondTies++;
  }
  return { beyondTies, all };
}

/** The numbers of a split model's status line: "… N of M stacks encoded" or "decoder only: 0 stacks encoded". */
function encodedStacks(status: string): number {
  const m = /(?:decoder only: (0)|(\d+) of \d+) stacks encoded/.exec(status);
  assert.ok(m, `the status says how many stacks were encoded: ${status}`);
  return Number(m[1] ?? m[2]);
}

function differing(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/**
 * Voxels where `labels` differs from `reference` although none of the voxel's six neighbours has another
 * label in `reference`: a difference inside a region, not at a class boundary.
 */
function differingInside(labels: Uint8Array, reference: Uint8Array, shape: readonly number[]): number {
  const [nx, ny, nz] = shape as [number, number, number];
  let n = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const i = x + nx * (y + ny * z);
        if (labels[i] === reference[i]) continue;
        const neighbours = [
          x > 0 && i - 1,
          x < nx - 1 && i + 1,
          y > 0 && i - nx,
          y < ny - 1 && i + nx,
          z > 0 && i - nx * ny,
          z < nz - 1 && i + nx * ny,
        ].filter((j): j is number => j !== false);
        if (neighbours.every((j) => reference[j] === reference[i])) n++;
      }
    }
  }
  return n;
}

describe('browser viewer', { timeout: 600_000 }, () => {
  let dir: string;
  let appDir: string;
  let fixtures: ViewerFixtures;
  let cli: { labels: Uint8Array; shape: readonly number[]; counts: number[] };
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'masam-viewer-'));
    appDir = join(dir, 'app');
    await buildViewer(appDir);
    fixtures = await makeViewerFixtures(dir);
    // The CLI's answer: `masam segment` (onnxruntime-node) on the same files.
    const out = join(dir, 'cli_labels.nii.gz');
    const code = await segment.run([
      '--model',
      fixtures.modelPath,
      '--input',
      fixtures.volumePath,
      '--output',
      out,
    ]);
    assert.equal(code, 0);
    const v = parseNifti(readFileSync(out), out);
    const labels = v.data as Uint8Array;
    cli = { labels, shape: v.shape, counts: countLabels(labels, CLASS_NAMES.length) };
    // A random-init model could predict one class everywhere, which would make the comparison weak.
    assert.ok(cli.counts.filter((c) => c > 0).length >= 3, `the CLI predicts several classes: ${cli.counts}`);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `masam view` with the phantom volume and the small model preloaded. */
  const preloadedServer = async () =>
    startViewerServer({
      appDir,
      volume: { name: basename(fixtures.volumePath), path: fixtures.volumePath },
      model: await modelPreload(fixtures.modelPath),
    });

  it('segments a preloaded volume in Chromium (WASM) with the labels of `masam segment`', async () => {
    const server = await preloadedServer();
    try {
      const { page, problems } = await watchedPage(browser, server.url);
      await page.goto(`${server.url}?backend=wasm`);
      const run = await segmentInPage(page, dir, join(ARTEFACTS, 'viewer.png'));
      assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true, 'cross-origin isolated');
      assert.equal(await page.isVisible('#box-panel'), false, 'no box prompt for a model without prompts');
      const differ = differing(run.labels, cli.labels);
      console.log(
        `viewer (WASM, preloaded): ${run.timing}\n  per-label voxels browser ${JSON.stringify(run.legendCounts)} ` +
          `cli ${JSON.stringify(cli.counts)}; ${differ} of ${run.labels.length} voxels differ`,
      );
      assert.deepEqual(run.legendNames, CLASS_NAMES, 'legend lists the class names of the model metadata');
      assert.ok(run.seconds > 0, 'timing shown');
      assert.deepEqual(run.shape, cli.shape);
      assert.deepEqual(countLabels(run.labels, CLASS_NAMES.length), run.legendCounts, 'legend = download');
      assert.deepEqual(run.legendCounts, cli.counts, 'per-label voxel counts: browser = CLI');
      assert.equal(differ, 0, 'voxels where the browser and the CLI disagree');
      assert.deepEqual(problems, [], 'no page errors, no request off the viewer server');
    } finally {
      await server.close();
    }
  });

  it('opens picked files: a model with external weights (.onnx + .onnx.data) gives the same labels', async () => {
    const whole = readFileSync(fixtures.modelPath);
    const split = toExternalData(whole, 'small_ext.onnx.data');
    const modelPath = join(dir, 'small_ext.onnx');
    // Saved under another name: the viewer maps a single data file to the model's only location.
    const dataPath = join(dir, 'weights.data');
    writeFileSync(modelPath, split.model);
    writeFileSync(dataPath, split.data);
    assert.ok(split.model.length < whole.length / 10, `weights moved out (${split.model.length} bytes left)`);
    const server = await startViewerServer({ appDir });
    try {
      const { page, problems } = await watchedPage(browser, server.url);
      await page.goto(`${server.url}?backend=wasm`);
      await page.setInputFiles('#volume-input', fixtures.volumePath);
      await page.setInputFiles('#model-input', [modelPath, dataPath]);
      const run = await segmentInPage(page, dir);
      console.log(`viewer (WASM, external data): ${run.timing}`);
      assert.deepEqual(run.legendCounts, cli.counts, 'per-label voxel counts: browser = CLI');
      assert.equal(differing(run.labels, cli.labels), 0, 'voxels where the browser and the CLI disagree');
      assert.deepEqual(problems, [], 'no page errors, no request off the viewer server');
    } finally {
      await server.close();
    }
  });

  it('box-prompted model: a right-drag on a slice fills the box; a typed box gives the labels of `masam segment --prompts`', async () => {
    const modelPath = await makePromptedModel(dir);
    const box = [10, 8, 2, 33, 27, 5]; // i1 j1 k1 i2 j2 k2: slices 2..5 of 0..8
    const cliBox = await cliWithPrompts(modelPath, fixtures.volumePath, { box3d: box }, join(dir, 'box'));
    const cliCounts = countLabels(cliBox, CLASS_NAMES.length);
    const image = parseNifti(readFileSync(fixtures.volumePath), fixtures.volumePath);
    const [nx, ny, nz] = image.shape as [number, number, number];

    const server = await startViewerServer({ appDir });
    try {
      const { page, problems } = await watchedPage(browser, server.url);
      await page.goto(`${server.url}?backend=wasm`);
      assert.equal(await page.isVisible('#box-panel'), false, 'no box panel before a prompted model');
      await page.setInputFiles('#volume-input', fixtures.volumePath);
      await page.setInputFiles('#model-input', modelPath);
      await page.waitForSelector('body[data-backend="wasm"]', { timeout: 120_000 });
      await page.waitForSelector('#box-panel:not([hidden])');
      assert.equal(await page.isDisabled('#segment'), true, 'Segment waits for a box');
      assert.match((await page.textContent('#status')) ?? '', /box prompt: right-drag/);

      // Draw on the axial view: two left-clicks name the voxels under the corners (checked against the
      // image values, so the voxel indices are the stored ones, not niivue's RAS ones), then a right-drag
      // between them.
      await page.click('[data-slice-type="0"]');
      await page.waitForTimeout(300);
      const canvas = await page.locator('#canvas').boundingBox();
      assert.ok(canvas);
      const cx = canvas.x + canvas.width / 2;
      const cy = canvas.y + canvas.height / 2;
      const s = Math.min(canvas.width, canvas.height);
      const a = [cx - 0.25 * s, cy - 0.15 * s] as const;
      const b = [cx + 0.2 * s, cy + 0.25 * s] as const;
      const va = await clickVoxel(page, a[0], a[1]);
      const vb = await clickVoxel(page, b[0], b[1]);
      const valueAt = ([i, j, k]: number[]) => Number(image.data[i! + nx * (j! + ny * k!)]);
      assert.equal(va.value, valueAt(va.voxel), `image value at voxel ${va.voxel}`);
      assert.equal(vb.value, valueAt(vb.voxel), `image value at voxel ${vb.voxel}`);
      const k = vb.voxel[2]!;
      assert.equal(va.voxel[2], k, 'both clicks on one axial slice');
      await rightDrag(page, a, b);
      const dragged = [
        Math.min(va.voxel[0]!, vb.voxel[0]!),
        Math.min(va.voxel[1]!, vb.voxel[1]!),
        Math.max(0, k - 2),
        Math.max(va.voxel[0]!, vb.voxel[0]!),
        Math.max(va.voxel[1]!, vb.voxel[1]!),
        Math.min(nz - 1, k + 2),
      ];
      assert.deepEqual(
        await boxInputs(page),
        dragged,
        'the axial drag: i, j from the corners, k = slice ± 2',
      );
      assert.ok(dragged[3]! - dragged[0]! > 5 && dragged[4]! - dragged[1]! > 5, `a real box: ${dragged}`);
      assert.equal(await page.isDisabled('#segment'), false, 'a valid box enables Segment');

      // A right-drag on the coronal view sets i and the range of slices, keeping j.
      await page.click('[data-slice-type="1"]');
      await page.waitForTimeout(300);
      const c = [cx - 0.1 * s, cy - 0.3 * s] as const;
      const d = [cx + 0.15 * s, cy + 0.05 * s] as const;
      const vc = await clickVoxel(page, c[0], c[1]);
      const vd = await clickVoxel(page, d[0], d[1]);
      assert.equal(vc.value, valueAt(vc.voxel), `image value at voxel ${vc.voxel}`);
      await rightDrag(page, c, d);
      const lo = (n: number) => Math.min(vc.voxel[n]!, vd.voxel[n]!);
      const hi = (n: number) => Math.max(vc.voxel[n]!, vd.voxel[n]!);
      assert.deepEqual(
        await boxInputs(page),
        [lo(0), dragged[1], lo(2), hi(0), dragged[4], hi(2)],
        'the coronal drag: i and k from the corners, j kept',
      );

      // Typed boxes: one outside the volume is refused on the page, then the test's box.
      await page.click('[data-slice-type="3"]');
      for (const [n, id] of BOX_INPUTS.entries()) await page.fill(id, String(box[n]));
      await page.fill('#box-k2', String(nz));
      assert.equal(await page.isDisabled('#segment'), true, 'an invalid box disables Segment');
      assert.match(
        (await page.textContent('#box-readout')) ?? '',
        new RegExp(`k2 = ${nz} is outside 0…${nz - 1}`),
      );
      await page.fill('#box-k2', String(box[5]));
      assert.equal(
        (await page.textContent('#box-readout'))?.trim(),
        `box i ${box[0]}–${box[3]} · j ${box[1]}–${box[4]} · k ${box[2]}–${box[5]} (4 slices)`,
      );

      const run = await segmentInPage(page, dir, join(ARTEFACTS, 'viewer_box.png'));
      const differ = differing(run.labels, cliBox);
      console.log(
        `viewer (WASM, box prompt ${JSON.stringify(box)}): ${run.timing}\n  per-label voxels browser ` +
          `${JSON.stringify(run.legendCounts)} cli ${JSON.stringify(cliCounts)}; ${differ} of ${run.labels.length} voxels differ`,
      );
      assert.deepEqual(run.shape, [nx, ny, nz]);
      assert.deepEqual(run.legendCounts, cliCounts, 'per-label voxel counts: browser = CLI');
      assert.equal(differ, 0, 'voxels where the browser and the CLI disagree');
      const plane = nx * ny;
      for (let z = 0; z < nz; z++) {
        const slice = run.labels.subarray(z * plane, (z + 1) * plane);
        const foreground = slice.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
        if (z < box[2]! || z > box[5]!)
          assert.equal(foreground, 0, `slice ${z} outside the box is background`);
      }
      assert.ok(
        cliCounts.slice(1).some((n) => n > 0),
        `something segmented in the box: ${cliCounts}`,
      );
      assert.deepEqual(problems, [], 'no page errors, no request off the viewer server');
    } finally {
      await server.close();
    }
  });

  it('point slots: a typed box and a clicked foreground point give the labels of `masam segment --prompts`', async () => {
    const modelPath = await makePromptedModel(dir, 11, 2);
    const box = [10, 8, 2, 33, 27, 5];
    const image = parseNifti(readFileSync(fixtures.volumePath), fixtures.volumePath);
    const [nx, ny, nz] = image.shape as [number, number, number];

    const server = await startViewerServer({ appDir });
    try {
      const { page, problems } = await watchedPage(browser, server.url);
      await page.goto(`${server.url}?backend=wasm`);
      await page.setInputFiles('#volume-input', fixtures.volumePath);
      await page.setInputFiles('#model-input', modelPath);
      await page.waitForSelector('body[data-backend="wasm"]', { timeout: 120_000 });
      await page.waitForSelector('#point-tools:not([hidden])');
      assert.match((await page.textContent('#point-tools')) ?? '', /at most 2 per slice/);
      assert.equal(await page.isDisabled('#segment'), true, 'Segment waits for a box or a point');

      // A foreground point at the voxel under a left-click on the axial view, inside the box's slices.
      await page.click('[data-slice-type="0"]');
      await page.waitForTimeout(300);
      const canvas = await page.locator('#canvas').boundingBox();
      assert.ok(canvas);
      const s = Math.min(canvas.width, canvas.height);
      const { voxel } = await clickVoxel(
        page,
        canvas.x + canvas.width / 2 + 0.05 * s,
        canvas.y + canvas.height / 2 - 0.05 * s,
      );
      assert.ok(voxel[2]! >= box[2]! && voxel[2]! <= box[5]!, `point ${voxel} within the box's slices`);
      // Two slots per slice: a third point on the slice is refused; ✕ removes one.
      for (let n = 0; n < 3; n++) await page.click('#point-fg');
      assert.match((await page.textContent('#box-readout')) ?? '', /already has 2 points/);
      assert.equal(await page.locator('#point-list li').count(), 2);
      await page.click('#point-list li:nth-child(2) button');
      assert.deepEqual(
        await page.$$eval('#point-list li', (lis) => lis.map((li) => (li as HTMLElement).dataset['point'])),
        [`fg ${voxel.join(' ')}`],
      );
      assert.equal(await page.isDisabled('#segment'), false, 'a point alone enables Segment');
      await page.click('[data-slice-type="3"]');
      for (const [n, id] of BOX_INPUTS.entries()) await page.fill(id, String(box[n]));

      const prompts = { box3d: box, points: [{ voxel, label: 1 }] };
      const cliLabels = await cliWithPrompts(modelPath, fixtures.volumePath, prompts, join(dir, 'points'));
      const cliCounts = countLabels(cliLabels, CLASS_NAMES.length);

      const run = await segmentInPage(page, dir);
      const differ = differing(run.labels, cliLabels);
      console.log(
        `viewer (WASM, ${JSON.stringify(prompts)}): ${run.timing}\n  per-label voxels browser ` +
          `${JSON.stringify(run.legendCounts)} cli ${JSON.stringify(cliCounts)}; ${differ} voxels differ`,
      );
      assert.deepEqual(run.shape, [nx, ny, nz]);
      assert.deepEqual(run.legendCounts, cliCounts, 'per-label voxel counts: browser = CLI');
      assert.equal(differ, 0, 'voxels where the browser and the CLI disagree');
      assert.deepEqual(problems, [], 'no page errors, no request off the viewer server');
    } finally {
      await server.close();
    }
  });

  it('split model from a run folder: a box edit re-runs only the decoder (0 stacks encoded) with the labels of `masam segment --prompts`', async () => {
    // A run folder holding the split model in model/, as `masam train` leaves it; `--model <run>` finds it.
    const run = join(dir, 'run_split');
    await makeSplitModel(join(run, 'model'), 11, { points: 0 });
    const first = [10, 8, 2, 33, 27, 5];
    // The edit moves the box in-plane over the same slices: the stacks (and their embeddings) stay.
    const edited = [4, 3, 2, 24, 20, 5];
    const cliFirst = await cliLabelsAndProbabilities(
      run,
      fixtures.volumePath,
      { box3d: first },
      join(dir, 'split1'),
    );
    const cliEdited = await cliLabelsAndProbabilities(
      run,
      fixtures.volumePath,
      { box3d: edited },
      join(dir, 'split2'),
    );
    assert.ok(differing(cliFirst.labels, cliEdited.labels) > 0, 'the edit changes the CLI labels');

    const model = await modelPreload(run);
    assert.deepEqual(
      model.files.map((f) => f.name),
      [SPLIT_ENCODER_FILE, SPLIT_DECODER_FILE],
    );
    const server = await startViewerServer({
      appDir,
      volume: { name: basename(fixtures.volumePath), path: fixtures.volumePath },
      model,
    });
    try {
      const { page, problems } = await watchedPage(browser, server.url);
      await page.goto(`${server.url}?backend=wasm`);
      await page.waitForSelector('#box-panel:not([hidden])', { timeout: 120_000 });
      assert.match((await page.textContent('#model-info')) ?? '', /split: encoder \+ decoder/);
      const typeBox = async (box: number[]) => {
        for (const [n, id] of BOX_INPUTS.entries()) await page.fill(id, String(box[n]));
      };

      await typeBox(first);
      const one = await segmentInPage(page, dir);
      const encodedFirst = encodedStacks(one.status);
      assert.ok(encodedFirst > 0, `the first run encodes: ${one.status}`);
      const firstDiff = differingBeyondTies(one.labels, cliFirst);
      assert.equal(firstDiff.beyondTies, 0, 'first box: voxels where the browser and the CLI disagree');
      assert.ok(
        firstDiff.all <= one.labels.length * 1e-3,
        `first box: ${firstDiff.all} near-tie voxels differ`,
      );

      await typeBox(edited);
      const two = await segmentInPage(page, dir, join(ARTEFACTS, 'viewer_split.png'));
      console.log(
        `viewer (WASM, split model, box ${JSON.stringify(first)} → ${JSON.stringify(edited)}):\n` +
          `  first run: ${one.timing}; ${one.status}\n  after the edit: ${two.timing}; ${two.status}`,
      );
      assert.match(two.status, /decoder only: 0 stacks encoded/);
      assert.equal(encodedStacks(two.status), 0, 'the box edit ran the encoder');
      const editedDiff = differingBeyondTies(two.labels, cliEdited);
      console.log(`  edited box: ${editedDiff.all} voxels differ from the CLI, all at near-ties`);
      assert.equal(editedDiff.beyondTies, 0, 'edited box: voxels where the browser and the CLI disagree');
      assert.ok(
        editedDiff.all <= two.labels.length * 1e-3,
        `edited box: ${editedDiff.all} near-tie voxels differ`,
      );
      assert.deepEqual(problems, [], 'no page errors, no request off the viewer server');
    } finally {
      await server.close();
    }
  });

  it('Cancel stops a split model run; the page recovers and the next run encodes only the stacks not kept', async () => {
    // 48 slices, 48 stacks: long enough to cancel after the first few.
    const volumePath = writePhantom(join(dir, 'phantom_ct_long.nii.gz'), 11, 48);
    const splitDir = await makeSplitModel(join(dir, 'split_plain'));
    const cli = await cliLabelsAndProbabilities(splitDir, volumePath, undefined, join(dir, 'long'));
    const server = await startViewerServer({ appDir });
    try {
      const { page, problems } = await watchedPage(browser, server.url);
      await page.goto(`${server.url}?backend=wasm`);
      await page.setInputFiles('#volume-input', volumePath);
      // The file picker: a split model's two graphs, in any order.
      await page.setInputFiles('#model-input', [
        join(splitDir, SPLIT_DECODER_FILE),
        join(splitDir, SPLIT_ENCODER_FILE),
      ]);
      await page.waitForSelector('body[data-backend="wasm"]', { timeout: 120_000 });
      await page.waitForSelector('#segment:not([disabled])', { timeout: 60_000 });
      assert.equal(await page.isVisible('#cancel'), false, 'no Cancel before a run');
      await page.click('#segment');
      await page.waitForSelector('#cancel:not([disabled])');
      // Clicked from inside the page as soon as two stacks are done, so the test's round trips do not
      // let the run finish first on a busy machine.
      await page.evaluate(
        () =>
          new Promise<void>((resolve) => {
            // No named function here: tsx would wrap it in a helper the page does not have.
            const timer = setInterval(() => {
              if (Number(document.querySelector('progress')?.value) < 2) return;
              clearInterval(timer);
              document.querySelector<HTMLButtonElement>('#cancel')?.click();
              resolve();
            }, 5);
          }),
      );
      await page.waitForSelector(
        'body[data-state="idle"], body[data-state="done"], body[data-state="error"]',
        {
          timeout: 120_000,
        },
      );
      const status = (await page.textContent('#status')) ?? '';
      assert.equal(
        await page.getAttribute('body', 'data-state'),
        'idle',
        `cancelled, not finished: ${status}`,
      );
      const m = /cancelled after (\d+) of 48 stacks; the embeddings computed are kept/.exec(status);
      assert.ok(m, status);
      const done = Number(m[1]);
      assert.ok(done >= 2 && done < 48, `stopped part-way: ${done}`);
      assert.equal(await page.isVisible('#cancel'), false, 'Cancel hidden again');

      const run = await segmentInPage(page, dir);
      const encoded = encodedStacks(run.status);
      console.log(`viewer (WASM, split, cancelled after ${done} stacks): then ${run.timing}; ${run.status}`);
      // Stacks encoded before the cancel are kept (the one being decoded when it came may be too).
      assert.ok(
        encoded <= 48 - done && encoded >= 48 - done - 1,
        `${encoded} stacks encoded after the cancel`,
      );
      const diff = differingBeyondTies(run.labels, cli);
      console.log(`  ${diff.all} voxels differ from the CLI, all at near-ties`);
      assert.equal(diff.beyondTies, 0, 'voxels where the browser and the CLI disagree');
      assert.ok(diff.all <= run.labels.length * 1e-3, `${diff.all} near-tie voxels differ`);
      assert.deepEqual(problems, [], 'no page errors, no request off the viewer server');
    } finally {
      await server.close();
    }
  });

  it('segments on WebGPU (SwiftShader adapter, no GPU) with the labels of `masam segment`', async () => {
    const gpuBrowser = await launchChromium({ webgpu: true });
    const server = await preloadedServer();
    try {
      const { page, problems } = await watchedPage(gpuBrowser, server.url);
      await page.goto(`${server.url}?backend=webgpu`);
      const adapter = await page.evaluate(async () => {
        const gpu = (
          navigator as { gpu?: { requestAdapter(): Promise<{ info?: { architecture?: string } } | null> } }
        ).gpu;
        return (await gpu?.requestAdapter())?.info?.architecture ?? 'none';
      });
      assert.equal(adapter, 'swiftshader', 'a WebGPU adapter without a GPU');
      const run = await segmentInPage(page, dir, join(ARTEFACTS, 'viewer_webgpu.png'), 'webgpu');
      const modelInfo = (await page.textContent('#model-info')) ?? '';
      assert.doesNotMatch(modelInfo, /WebGPU not used/, 'no fallback to WASM');
      const differ = differing(run.labels, cli.labels);
      console.log(
        `viewer (WebGPU on SwiftShader): ${run.timing}; ${differ} of ${run.labels.length} voxels differ`,
      );
      assert.deepEqual(run.shape, cli.shape);
      // GPU kernels sum in other orders than ORT's CPU ones: allow label flips on near-ties (measured: none).
      assert.ok(differ <= run.labels.length * 1e-3, `${differ} voxels differ from the CLI`);
      // The WebGL warnings are niivue's rendering on SwiftShader, not errors of the page.
      assert.deepEqual(problems, [], 'no page errors, no request off the viewer server');
    } finally {
      await server.close();
      await gpuBrowser.close();
    }
  });

  it("a float16 model (export --precision fp16) asked for WebGPU: an adapter without 'shader-f16' (SwiftShader) is not used, the model runs on WASM with the reason shown, labels within 0.25 % of the float32 CLI's", async () => {
    const fp16Dir = await makeSplitModel(join(dir, 'split_fp16'), 11, undefined, 'fp16');
    // The float32 answer: `masam segment` on the float32 export of the same weights.
    const fp32Dir = await makeSplitModel(join(dir, 'split_fp32'));
    const cli32 = await cliWithPrompts(fp32Dir, fixtures.volumePath, undefined, join(dir, 'fp32'));
    const gpuBrowser = await launchChromium({ webgpu: true });
    const server = await startViewerServer({
      appDir,
      volume: { name: basename(fixtures.volumePath), path: fixtures.volumePath },
      model: await modelPreload(fp16Dir),
    });
    try {
      const { page, problems } = await watchedPage(gpuBrowser, server.url);
      await page.goto(`${server.url}?backend=webgpu`);
      const adapter = await page.evaluate(async () => {
        const gpu = (
          navigator as {
            gpu?: {
              requestAdapter(): Promise<{
                info?: { architecture?: string };
                features: { has(f: string): boolean };
              } | null>;
            };
          }
        ).gpu;
        const a = await gpu?.requestAdapter();
        return { architecture: a?.info?.architecture ?? 'none', f16: a?.features.has('shader-f16') ?? false };
      });
      assert.equal(adapter.architecture, 'swiftshader', 'a WebGPU adapter without a GPU');
      // SwiftShader offers no 'shader-f16' (Chromium 150). onnxruntime-web would still load the model on
      // WebGPU and "run" it: every f16 shader fails validation, only the console says so, and 5939 of the
      // 14 256 voxels came out wrong. An adapter with the feature must be used (a real GPU; not here).
      const expected = adapter.f16 ? 'webgpu' : 'wasm';
      const run = await segmentInPage(page, dir, join(ARTEFACTS, 'viewer_fp16.png'), expected);
      const modelInfo = (await page.textContent('#model-info')) ?? '';
      assert.match(modelInfo, /float16/, 'the Model panel says the model computes in float16');
      if (adapter.f16) assert.doesNotMatch(modelInfo, /WebGPU not used/, 'no fallback to WASM');
      else
        assert.match(
          modelInfo,
          /WebGPU not used: this float16 model needs the WebGPU feature 'shader-f16', which the adapter \(swiftshader\) lacks/,
        );
      const differ = differing(run.labels, cli32);
      const inside = differingInside(run.labels, cli32, run.shape);
      console.log(
        `viewer (float16 model, asked for WebGPU, ran on ${expected}): ${run.timing}\n` +
          `  ${differ} of ${run.labels.length} voxels differ from the float32 CLI, ${inside} of them inside a region`,
      );
      assert.deepEqual(run.shape, cli.shape);
      // float16 keeps ~3 significant digits, so a voxel whose two best classes' logits lie within ~1e-3
      // of each other may flip. This random-init model has many such near-ties (measured: 4 voxels on
      // WASM, 7 with onnxruntime-node on the CPU; a broken float16 path gave 5939). Every flip must be at
      // a class boundary of the float32 labels (a weak check here: 93 % of this noisy model's voxels are).
      assert.ok(differ <= run.labels.length * 0.0025, `${differ} voxels differ from the float32 CLI`);
      assert.equal(inside, 0, 'voxels that differ inside a region of the float32 labels');
      assert.deepEqual(problems, [], 'no page errors (no failed WebGPU shader), no request off the server');
    } finally {
      await server.close();
      await gpuBrowser.close();
    }
  });

  it("display convention: radiological by default (patient's left on the screen's right), neurological on the toggle; indices from 0; legend fits at 1400 px", async () => {
    const volumePath = writeLeftMarkerVolume(dir);
    const [, , nz] = LEFT_MARKER.shape;
    const { i: mi, j: mj } = LEFT_MARKER.marker;
    const server = await startViewerServer({
      appDir,
      volume: { name: basename(volumePath), path: volumePath },
      model: await modelPreload('models/demo/model.onnx'),
    });
    try {
      const { page, problems } = await watchedPage(browser, server.url);
      await page.setViewportSize({ width: 1400, height: 900 });
      await page.goto(`${server.url}?backend=wasm`);
      await page.waitForSelector('body.has-volume');
      assert.equal(await page.getAttribute('body', 'data-convention'), 'radiological');
      await page.click('[data-slice-type="0"]');
      await page.waitForTimeout(300);

      // Radiological: the marker (patient's left, i 4..11 of a RAS volume) right of the body's centre.
      const radiological = await markerAndBody(page);
      mkdirSync(ARTEFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTEFACTS, 'viewer_convention.png') });
      assert.ok(
        radiological.marker[0] > radiological.body[0] + 5,
        `marker on the screen's right: marker x ${radiological.marker[0]}, body x ${radiological.body[0]}`,
      );
      // A click on it reads the marker's voxel (stored indices from 0) and value; the slice number is that k.
      const hit = await clickVoxel(page, ...radiological.marker);
      assert.equal(hit.value, 1000, `the marker's value at ${hit.voxel}`);
      assert.ok(hit.voxel[0]! >= mi[0] && hit.voxel[0]! <= mi[1], `i ${hit.voxel[0]} in the marker's ${mi}`);
      assert.ok(hit.voxel[1]! >= mj[0] && hit.voxel[1]! <= mj[1], `j ${hit.voxel[1]} in the marker's ${mj}`);
      const location = (await page.textContent('#location')) ?? '';
      assert.match(location, /^voxel \d+ \d+ \d+ · -?[\d.]+, -?[\d.]+, -?[\d.]+ mm \(RAS\) · value 1000$/);
      assert.equal(await page.textContent('#slice-label'), `k ${hit.voxel[2]} of 0–${nz - 1}`);
      await page.fill('#slice', '0');
      await page.dispatchEvent('#slice', 'input');
      assert.equal(await page.textContent('#slice-label'), `k 0 of 0–${nz - 1}`);
      assert.equal(
        (await page.getAttribute('#location', 'data-voxel'))?.split(',')[2],
        '0',
        'slider and voxel agree',
      );

      // Neurological: mirrored, the marker left of the body's centre; the same voxel under it.
      await page.click('[data-convention="neurological"]');
      await page.waitForTimeout(300);
      assert.equal(await page.getAttribute('body', 'data-convention'), 'neurological');
      const neurological = await markerAndBody(page);
      assert.ok(
        neurological.marker[0] < neurological.body[0] - 5,
        `marker on the screen's left: marker x ${neurological.marker[0]}, body x ${neurological.body[0]}`,
      );
      const mirrored = await clickVoxel(page, ...neurological.marker);
      assert.equal(mirrored.value, 1000);
      assert.ok(mirrored.voxel[0]! >= mi[0] && mirrored.voxel[0]! <= mi[1], `i ${mirrored.voxel[0]}`);
      await page.click('[data-convention="radiological"]');
      await page.waitForTimeout(300);
      assert.ok((await markerAndBody(page)).marker[0] > radiological.body[0] + 5, 'back to radiological');

      // The legend of the demo model's 13 BTCV classes fits the side panel at 1400 px, volume column included.
      await page.waitForSelector('#segment:not([disabled])', { timeout: 120_000 });
      await page.click('#segment');
      await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 300_000 });
      assert.equal(
        await page.getAttribute('body', 'data-state'),
        'done',
        (await page.textContent('#status')) ?? '',
      );
      const fit = await page.evaluate(() => {
        const aside = document.querySelector('aside')!.getBoundingClientRect();
        const cells = Array.from(document.querySelectorAll('#legend tr > :last-child'), (c) =>
          c.getBoundingClientRect(),
        );
        return { aside: aside.right, cells: Math.max(...cells.map((c) => c.right)), rows: cells.length };
      });
      await page.screenshot({ path: join(ARTEFACTS, 'viewer_legend.png') });
      assert.equal(fit.rows, 15, 'header + 14 classes');
      assert.ok(fit.cells <= fit.aside, `volume column inside the panel: ${fit.cells} ≤ ${fit.aside}`);
      assert.deepEqual(problems, [], 'no page errors, no request off the viewer server');
    } finally {
      await server.close();
    }
  });

  it('serves files only: COOP/COEP headers, no traversal, no uploads', async () => {
    const server = await startViewerServer({ appDir, model: await modelPreload(fixtures.modelPath) });
    try {
      const index = await fetch(server.url);
      assert.equal(index.status, 200);
      assert.equal(index.headers.get('cross-origin-opener-policy'), 'same-origin');
      assert.equal(index.headers.get('cross-origin-embedder-policy'), 'require-corp');
      const wasm = await fetch(`${server.url}ort/ort-wasm-simd-threaded.jsep.wasm`, { method: 'HEAD' });
      assert.equal(wasm.headers.get('content-type'), 'application/wasm');
      const manifest = await (await fetch(`${server.url}preload/manifest.json`)).json();
      assert.deepEqual(manifest, { model: { name: 'small.onnx', files: ['small.onnx'] } });
      const model = await fetch(`${server.url}preload/model/small.onnx`);
      assert.deepEqual(
        new Uint8Array(await model.arrayBuffer()),
        new Uint8Array(readFileSync(fixtures.modelPath)),
      );
      assert.equal((await fetch(`${server.url}preload/volume`)).status, 404);
      assert.equal((await fetch(`${server.url}..%2f..%2fpackage.json`)).status, 403);
      assert.equal((await fetch(`${server.url}missing.js`)).status, 404);
      assert.equal((await fetch(server.url, { method: 'POST', body: 'x' })).status, 405);
    } finally {
      await server.close();
    }
  });
});

describe('masam view --model', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'masam-view-model-'));
    await makeSplitModel(join(dir, 'split'));
    await makeSplitModel(join(dir, 'boxed'), 11, { points: 0 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes a split model folder or a run folder; refuses a lone half and halves of two exports', async () => {
    const files = (await modelPreload(join(dir, 'split'))).files.map((f) => f.name);
    assert.deepEqual(files, [SPLIT_ENCODER_FILE, SPLIT_DECODER_FILE]);
    mkdirSync(join(dir, 'run'));
    renameSync(join(dir, 'split'), join(dir, 'run', 'model'));
    assert.equal((await modelPreload(join(dir, 'run'))).name, 'run');
    await assert.rejects(
      modelPreload(join(dir, 'run', 'model', SPLIT_ENCODER_FILE)),
      /encoder.onnx: a split model's encoder; give the folder that holds both graphs/,
    );
    copyFileSync(join(dir, 'boxed', SPLIT_DECODER_FILE), join(dir, 'run', 'model', SPLIT_DECODER_FILE));
    await assert.rejects(
      modelPreload(join(dir, 'run')),
      /come from different exports \('masam.prompts' differs\)/,
    );
  });
});

describe('viewer legend', () => {
  it('colours every class, background transparent, hidden labels transparent', () => {
    const cm = labelColorMap(['background', 'a', 'b'], new Set([2]));
    assert.deepEqual(cm.I, [0, 1, 2]);
    assert.deepEqual(cm.A, [0, 255, 0]);
    assert.deepEqual(cm.labels, ['background', 'a', 'b']);
    assert.notDeepEqual([cm.R[1], cm.G[1], cm.B[1]], [cm.R[2], cm.G[2], cm.B[2]]);
  });

  it('counts labels and formats volumes', () => {
    assert.deepEqual(countLabels(Uint8Array.from([0, 2, 2, 1, 9]), 3), [1, 1, 2]);
    assert.equal(formatVolume(999), '999 mm³');
    assert.equal(formatVolume(12_345), '12.3 mL');
    assert.equal(formatVolume(29_798_000), '29.8 L');
  });
});
