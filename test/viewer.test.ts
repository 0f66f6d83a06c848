// The browser viewer end to end: `masam view`'s server preloads a CT phantom and a small exported model,
// Debian's Chromium (playwright-core) segments it with onnxruntime-web's WASM backend in the page's Web
// Worker, and the downloaded label map must equal `masam segment`'s (onnxruntime-node) voxel for voxel.
// Then the same through the file pickers with the weights in a separate .onnx.data file. Also: the
// server's headers and refusals, and the legend helpers. Artefact: test-output/viewer.png.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { segment } from '../src/cli/commands/segment.js';
import { startViewerServer } from '../src/cli/commands/view.js';
import { parseNifti } from '../src/io/nifti.js';
import { countLabels, formatVolume, labelColorMap } from '../src/viewer/legend.js';
import { buildViewer } from '../viewer/build.js';
import { type Browser, launchChromium } from './viewer/browser.js';
import { toExternalData } from './viewer/external_data.js';
import { CLASS_NAMES, type ViewerFixtures, makeViewerFixtures } from './viewer/fixtures.js';

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

/** Waits for the WASM model, clicks Segment, waits for the result, reads the legend and downloads the labels. */
async function segmentInPage(page: Page, dir: string, screenshot?: string): Promise<PageRun> {
  await page.waitForSelector('body[data-backend="wasm"]', { timeout: 120_000 });
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
  assert.equal(download.suggestedFilename(), 'phantom_ct_labels.nii.gz');
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
  };
}

function differing(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
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

  it('segments a preloaded volume in Chromium (WASM) with the labels of `masam segment`', async () => {
    const server = await startViewerServer({
      appDir,
      volume: { name: basename(fixtures.volumePath), path: fixtures.volumePath },
      model: { name: basename(fixtures.modelPath), path: fixtures.modelPath },
    });
    try {
      const { page, problems } = await watchedPage(browser, server.url);
      await page.goto(`${server.url}?backend=wasm`);
      const run = await segmentInPage(page, dir, join(ARTEFACTS, 'viewer.png'));
      assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true, 'cross-origin isolated');
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

  it('serves files only: COOP/COEP headers, no traversal, no uploads', async () => {
    const server = await startViewerServer({
      appDir,
      model: { name: basename(fixtures.modelPath), path: fixtures.modelPath },
    });
    try {
      const index = await fetch(server.url);
      assert.equal(index.status, 200);
      assert.equal(index.headers.get('cross-origin-opener-policy'), 'same-origin');
      assert.equal(index.headers.get('cross-origin-embedder-policy'), 'require-corp');
      const wasm = await fetch(`${server.url}ort/ort-wasm-simd-threaded.jsep.wasm`, { method: 'HEAD' });
      assert.equal(wasm.headers.get('content-type'), 'application/wasm');
      const manifest = await (await fetch(`${server.url}preload/manifest.json`)).json();
      assert.deepEqual(manifest, { model: 'small.onnx' });
      const model = await fetch(`${server.url}preload/model`);
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
  });
});
