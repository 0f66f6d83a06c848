// The masam viewer page: open (or drop) a NIfTI volume and an exported masam model, segment in a Web Worker
// with onnxruntime-web (WebGPU when available, else WASM), overlay the label map with a legend from the
// model's metadata, download the labels as NIfTI. `masam view` serves it and may preload files. A
// box-prompted model (metadata 'masam.prompts') also needs a box: dragged on a slice or typed, sent as
// prompts.json's `box3d`, so `masam segment --prompts` with the same numbers gives the same labels. A model
// with point slots also takes points (the voxel under the crosshair, foreground or background), sent as
// prompts.json's `points`; it needs a box or at least one point. Slices are shown radiological (patient's
// right on the screen's left, as clinical viewers and masam's overlay PNGs) unless the View panel's toggle
// or `?convention=neurological` asks for the mirror image. A split model (encoder.onnx + decoder.onnx) keeps
// each stack's image embeddings in the worker, so Segment after a prompt edit runs only the decoder; the
// status line says how many stacks were encoded. Cancel stops a running segmentation.
import type { SLICE_TYPE } from '@niivue/niivue';
import { cssColor, formatVolume, labelColor } from '../src/viewer/legend.js';
import type {
  BackendChoice,
  LoadedModel,
  NamedBytes,
  SegmentationDone,
  WorkerRequest,
  WorkerResponse,
} from '../src/viewer/protocol.js';
import { type Box3, type BoxDrag, type DisplayConvention, Scene, type Voxel } from './scene.js';

/**
 * What `masam view` preloads (src/cli/commands/view.ts): the volume at /preload/volume, and the model's
 * files (one .onnx or encoder.onnx + decoder.onnx, each with its .onnx.data if any) at /preload/model/<file>.
 */
interface PreloadManifest {
  volume?: string;
  model?: { name: string; files: string[] };
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const ui = {
  volumeInput: $<HTMLInputElement>('volume-input'),
  modelInput: $<HTMLInputElement>('model-input'),
  backend: $<HTMLSelectElement>('backend'),
  segment: $<HTMLButtonElement>('segment'),
  cancel: $<HTMLButtonElement>('cancel'),
  download: $<HTMLButtonElement>('download'),
  progress: $<HTMLProgressElement>('progress'),
  status: $('status'),
  timing: $('timing'),
  volumeInfo: $('volume-info'),
  modelInfo: $('model-info'),
  legend: $<HTMLTableElement>('legend').tBodies[0]!,
  boxPanel: $('box-panel'),
  boxInputs: ['i1', 'j1', 'k1', 'i2', 'j2', 'k2'].map((n) => $<HTMLInputElement>(`box-${n}`)),
  boxReadout: $('box-readout'),
  boxClear: $<HTMLButtonElement>('box-clear'),
  boxHalf: $('box-half'),
  pointTools: $('point-tools'),
  pointFg: $<HTMLButtonElement>('point-fg'),
  pointBg: $<HTMLButtonElement>('point-bg'),
  pointMax: $('point-max'),
  pointList: $<HTMLUListElement>('point-list'),
};

/** A point prompt: a voxel (stored indices) and its label, 1 foreground or 0 background (prompts.json). */
interface PointPrompt {
  readonly voxel: Voxel;
  readonly label: 0 | 1;
}

const state: {
  volume?: NamedBytes;
  /** The volume's voxel counts (nx, ny, nz). */
  dims?: [number, number, number];
  model?: LoadedModel;
  result?: SegmentationDone;
  /** The box prompt when the six inputs hold a valid one, else why not. */
  box?: Box3;
  boxProblem?: string;
  /** Point prompts, in the order added (only for a model with point slots). */
  points: PointPrompt[];
  hidden: Set<number>;
  busy: boolean;
  /** The last progress of the running segmentation (stacks done, total). */
  progress?: [number, number];
} = { points: [], hidden: new Set(), busy: false };

const NIFTI = /\.nii(\.gz)?$/i;

function formatBytes(n: number): string {
  return n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`;
}

function setState(
  name: 'idle' | 'loading' | 'segmenting' | 'cancelling' | 'done' | 'error',
  message?: string,
): void {
  document.body.dataset['state'] = name;
  if (message !== undefined) {
    ui.status.textContent = message;
    ui.status.classList.toggle('error', name === 'error');
  }
  state.busy = name === 'loading' || name === 'segmenting' || name === 'cancelling';
  ui.cancel.hidden = !(name === 'segmenting' || name === 'cancelling');
  ui.cancel.disabled = name !== 'segmenting';
  const promptMissing = needsBox() && !promptReady();
  ui.segment.disabled = state.busy || !state.volume || !state.model || promptMissing;
  ui.segment.title = promptMissing
    ? `this model needs a box${pointSlots() > 0 ? ' or a point' : ''} prompt first`
    : '';
  ui.download.disabled = state.busy || !state.result;
  for (const input of ui.boxInputs) input.disabled = state.busy;
  ui.boxClear.disabled = state.busy;
  ui.pointFg.disabled = ui.pointBg.disabled = state.busy;
}

/** Whether the loaded model is box-prompted (segments only inside a box). */
const needsBox = (): boolean => state.model?.info.prompts !== undefined;

/** The loaded model's point slots per slice (0: boxes only). */
const pointSlots = (): number => state.model?.info.prompts?.points ?? 0;

/**
 * Whether the prompts are enough to segment: a valid box, or (with point slots) at least one point while
 * the box inputs are empty (a half-typed box is an error, not "no box").
 */
function promptReady(): boolean {
  if (state.box) return true;
  return state.points.length > 0 && ui.boxInputs.every((i) => i.value.trim() === '');
}

/** What the status line says when nothing runs. */
function readyMessage(): string {
  if (!state.volume) return state.model ? 'open a volume' : 'open a volume and a model';
  if (!state.model) return 'open a model';
  if (needsBox() && !promptReady()) {
    const box = state.boxProblem ?? 'set a box';
    return pointSlots() > 0 && state.points.length === 0
      ? `prompt: ${box}, or add a point`
      : `box prompt: ${box}`;
  }
  return 'ready: press Segment';
}

// ---- worker --------------------------------------------------------------------------------------------

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const send = (request: WorkerRequest, transfer: ArrayBuffer[] = []) => worker.postMessage(request, transfer);
worker.onmessage = (event: MessageEvent<WorkerResponse>) => {
  const msg = event.data;
  if (msg.type === 'model') onModel(msg.model);
  else if (msg.type === 'progress') {
    state.progress = [msg.done, msg.total];
    ui.progress.max = msg.total;
    ui.progress.value = msg.done;
    if (document.body.dataset['state'] === 'segmenting')
      ui.status.textContent = `segmenting: stack ${msg.done} of ${msg.total}`;
  } else if (msg.type === 'done') void onResult(msg.result);
  else if (msg.type === 'cancelled') {
    const [done, total] = state.progress ?? [0, 0];
    const kept = state.model?.split ? '; the embeddings computed are kept' : '';
    setState('idle', `cancelled after ${done} of ${total} stacks${kept}`);
  } else if (msg.type === 'error') {
    if (msg.during === 'load-model') {
      state.model = undefined;
      ui.modelInfo.textContent = 'none';
      updateBoxPanel();
    }
    setState('error', `${msg.during === 'segment' ? 'segmentation' : 'model'} failed: ${msg.message}`);
  }
};
worker.onerror = (event) => setState('error', `worker failed: ${event.message}`);

const threads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
send({ type: 'init', wasmPaths: new URL('./ort/', import.meta.url).href, threads });

// ---- inputs --------------------------------------------------------------------------------------------

async function openVolume(file: NamedBytes): Promise<void> {
  if (!NIFTI.test(file.name)) {
    setState('error', `${file.name}: not a NIfTI file (.nii or .nii.gz)`);
    return;
  }
  setState('loading', `reading ${file.name}…`);
  let shown: { dims: number[]; spacing: number[] };
  try {
    shown = await scene.showImage(file.name, file.bytes);
  } catch (err) {
    setState('error', `${file.name}: ${(err as Error).message}`);
    return;
  }
  state.volume = file;
  state.dims = [shown.dims[0] ?? 1, shown.dims[1] ?? 1, shown.dims[2] ?? 1];
  state.result = undefined;
  document.body.classList.add('has-volume');
  ui.volumeInfo.classList.remove('muted');
  ui.volumeInfo.innerHTML = '';
  for (const line of [
    `${file.name} (${formatBytes(file.bytes.byteLength)})`,
    `${shown.dims.join(' × ')} voxels`,
    `${shown.spacing.map((s) => s.toPrecision(3)).join(' × ')} mm`,
  ]) {
    const div = document.createElement('div');
    div.textContent = line;
    ui.volumeInfo.append(div);
  }
  renderLegend();
  ui.boxInputs.forEach((input, n) => {
    input.max = String(state.dims![n % 3]! - 1);
  });
  state.points = []; // nor do points
  renderPoints();
  setBox(undefined); // a box of another volume means nothing here
  setState('idle', readyMessage());
}

/**
 * Sends a model to the worker: `graphs` is one .onnx or a split model's encoder.onnx and decoder.onnx (the
 * worker tells them apart by their metadata), `data` their .onnx.data files.
 */
function openModel(name: string, graphs: readonly NamedBytes[], data: readonly NamedBytes[]): void {
  state.model = undefined;
  state.result = undefined;
  scene.clearLabels();
  ui.modelInfo.textContent = `loading ${name}…`;
  const files = [...graphs, ...data].map((f) => f.name).join(' + ');
  setState('loading', `loading ${files}…`);
  send(
    { type: 'load-model', name, graphs, externalData: data, backend: ui.backend.value as BackendChoice },
    [...graphs, ...data].map((f) => f.bytes.buffer as ArrayBuffer),
  );
}

function onModel(model: LoadedModel): void {
  state.model = model;
  state.hidden.clear();
  const { info } = model;
  const c = info.config;
  ui.modelInfo.classList.remove('muted');
  ui.modelInfo.innerHTML = '';
  const lines = [
    model.name,
    `${info.classNames.length - 1} classes, ${info.preprocessing.modality.toUpperCase()}`,
    `${info.slices} slices × ${info.imageSize}², ViT ${c.embed_dim}×${c.depth}`,
    model.split
      ? 'split: encoder + decoder (a new prompt re-runs only the decoder)'
      : 'one graph (each Segment runs every stack)',
    ...(model.precision === 'fp16' ? ['float16 (LayerNorm, softmax and the like in float32)'] : []),
    `${model.backend === 'wasm' ? `WASM, ${model.threads} thread${model.threads > 1 ? 's' : ''}` : 'WebGPU'}` +
      ` · loaded in ${model.seconds.toFixed(2)} s`,
  ];
  if (model.fallbackReason) lines.push(`WebGPU not used: ${model.fallbackReason}`);
  for (const line of lines) {
    const div = document.createElement('div');
    div.textContent = line;
    ui.modelInfo.append(div);
  }
  document.body.dataset['backend'] = model.backend;
  renderLegend();
  updateBoxPanel();
  setState('idle', readyMessage());
}

/**
 * Sorts picked or dropped files into a volume, a model (one .onnx, or a split model's encoder.onnx and
 * decoder.onnx) and its external data.
 */
async function openFiles(files: readonly File[]): Promise<void> {
  const read = async (f: File): Promise<NamedBytes> => ({
    name: f.name,
    bytes: new Uint8Array(await f.arrayBuffer()),
  });
  const graphs = files.filter((f) => /\.onnx$/i.test(f.name));
  const data = files.filter((f) => /\.(onnx\.data|onnx_data|data)$/i.test(f.name));
  const volume = files.find((f) => NIFTI.test(f.name));
  if (graphs.length === 0 && !volume) {
    setState('error', `nothing to open in ${files.map((f) => f.name).join(', ')} (.nii, .nii.gz, .onnx)`);
    return;
  }
  if (volume) await openVolume(await read(volume));
  if (graphs.length > 0) {
    const name = graphs.map((f) => f.name).join(' + ');
    openModel(name, await Promise.all(graphs.map(read)), await Promise.all(data.map(read)));
  }
}

// ---- box prompt ----------------------------------------------------------------------------------------

/** Shows the box panel and turns box drawing on for a box-prompted model; hides both otherwise. */
function updateBoxPanel(): void {
  const prompted = needsBox();
  ui.boxPanel.hidden = !prompted;
  ui.boxHalf.textContent = String(((state.model?.info.slices ?? 5) - 1) / 2);
  scene.setBoxDrawing(prompted);
  ui.pointTools.hidden = pointSlots() === 0;
  ui.pointMax.textContent = String(pointSlots());
  if (pointSlots() === 0) state.points = [];
  renderPoints();
  onBoxInput();
}

/** Reads the six inputs: a valid box within the volume, or what is wrong with them. */
function readBox(): { box: Box3 } | { problem: string } {
  const names = ['i1', 'j1', 'k1', 'i2', 'j2', 'k2'];
  const text = ui.boxInputs.map((input) => input.value.trim());
  if (text.every((t) => t === '')) {
    return { problem: 'right-drag a box on an axial slice, or type i1 … k2' };
  }
  const dims = state.dims;
  const box: number[] = [];
  for (let n = 0; n < 6; n++) {
    const v = Number(text[n]);
    if (text[n] === '' || !Number.isInteger(v)) return { problem: `${names[n]} must be a whole number` };
    const last = dims ? dims[n % 3]! - 1 : Number.POSITIVE_INFINITY;
    if (v < 0 || v > last) return { problem: `${names[n]} = ${v} is outside 0…${last}` };
    box.push(v);
  }
  for (let a = 0; a < 3; a++) {
    if (box[a]! > box[a + 3]!) return { problem: `${names[a]} is after ${names[a + 3]}` };
  }
  return { box: box as Box3 };
}

/** Fills the six inputs with `box` (or empties them) and applies it. */
function setBox(box: Box3 | undefined): void {
  ui.boxInputs.forEach((input, n) => {
    input.value = box ? String(box[n]) : '';
  });
  onBoxInput();
}

/** The inputs changed: validate, draw the box, update the read-out and the Segment button. */
function onBoxInput(): void {
  const read = state.volume && needsBox() ? readBox() : undefined;
  state.box = read && 'box' in read ? read.box : undefined;
  state.boxProblem = read && 'problem' in read ? read.problem : undefined;
  scene.showBox(state.box);
  const readout = ui.boxReadout;
  const box = state.box;
  readout.classList.toggle(
    'error',
    state.boxProblem !== undefined && ui.boxInputs.some((i) => i.value !== ''),
  );
  readout.dataset['valid'] = String(box !== undefined);
  readout.textContent = box
    ? `box i ${box[0]}–${box[3]} · j ${box[1]}–${box[4]} · k ${box[2]}–${box[5]} (${box[5] - box[2] + 1} slices)`
    : promptReady()
      ? 'no box: each slice with points gets the whole image as its box'
      : (state.boxProblem ?? 'no box yet');
  if (!state.busy) setState(state.result ? 'done' : 'idle', readyMessage());
}

/**
 * A box dragged on a slice. On a slice of constant k (axial): i and j from the corners, k the slice ± half a
 * stack, clamped to the volume. On a slice of constant i or j: the other in-plane axis and the range of
 * slices, keeping the rest of the box.
 */
function onBoxDrag(drag: BoxDrag): void {
  if (!state.dims || !needsBox() || state.busy) return;
  const lo = (a: number) => Math.min(drag.from[a]!, drag.to[a]!);
  const hi = (a: number) => Math.max(drag.from[a]!, drag.to[a]!);
  if (drag.normal === 2) {
    const k = drag.from[2];
    const half = ((state.model?.info.slices ?? 5) - 1) / 2;
    setBox([lo(0), lo(1), Math.max(0, k - half), hi(0), hi(1), Math.min(state.dims[2] - 1, k + half)]);
    return;
  }
  if (!state.box) {
    ui.boxReadout.textContent = 'draw the box on an axial slice first; then drag here to set its slices';
    ui.boxReadout.classList.add('error');
    return;
  }
  const box: Box3 = [...state.box];
  const a = drag.normal === 0 ? 1 : 0; // the in-plane axis besides k
  box[a] = lo(a);
  box[a + 3] = hi(a);
  box[2] = lo(2);
  box[5] = hi(2);
  setBox(box);
}

// ---- point prompts -------------------------------------------------------------------------------------

/** Adds the voxel under the crosshair as a point, unless its slice already has the model's slots full. */
function addPoint(label: 0 | 1): void {
  if (!state.volume || pointSlots() === 0 || state.busy) return;
  const voxel = scene.crosshair;
  const slots = pointSlots();
  const refusal = !voxel
    ? 'click a voxel on the image first'
    : state.points.filter((p) => p.voxel[2] === voxel[2]).length >= slots
      ? `slice ${voxel[2]} already has ${slots} point${slots > 1 ? 's' : ''}, the model's most`
      : undefined;
  if (refusal || !voxel) {
    ui.boxReadout.textContent = refusal ?? '';
    ui.boxReadout.classList.add('error');
    return;
  }
  state.points.push({ voxel: [...voxel], label });
  renderPoints();
  onBoxInput();
}

/** Lists the points, each with a ✕ that removes it. */
function renderPoints(): void {
  ui.pointList.innerHTML = '';
  state.points.forEach((point, n) => {
    const li = document.createElement('li');
    const text = `${point.label === 1 ? 'fg' : 'bg'} ${point.voxel.join(' ')}`;
    li.dataset['point'] = text;
    const span = document.createElement('span');
    span.textContent = text;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = '✕';
    remove.title = 'remove this point';
    remove.addEventListener('click', () => {
      if (state.busy) return;
      state.points.splice(n, 1);
      renderPoints();
      onBoxInput();
    });
    li.append(span, remove);
    ui.pointList.append(li);
  });
}

// ---- segmentation and results --------------------------------------------------------------------------

function segment(): void {
  const box = state.box;
  if (!state.volume || !state.model || state.busy || (needsBox() && !promptReady())) return;
  const points = state.points.map((p) => ({ voxel: [...p.voxel], label: p.label }));
  state.result = undefined;
  ui.progress.value = 0;
  ui.timing.textContent = '';
  const copy = state.volume.bytes.slice();
  state.progress = undefined;
  setState('segmenting', 'segmenting…');
  send(
    {
      type: 'segment',
      name: state.volume.name,
      bytes: copy,
      ...(needsBox()
        ? { prompts: { ...(box && { box3d: [...box] }), ...(points.length > 0 && { points }) } }
        : {}),
    },
    [copy.buffer],
  );
}

async function onResult(result: SegmentationDone): Promise<void> {
  state.result = result;
  const model = state.model!;
  ui.progress.max = result.stacks;
  ui.progress.value = result.stacks;
  ui.timing.textContent =
    `${result.stacks} stacks in ${result.seconds.toFixed(2)} s ` +
    `(${result.backend}${result.backend === 'wasm' ? `, ${result.threads} threads` : ''}); ` +
    `${result.totalSeconds.toFixed(2)} s with reading and writing`;
  ui.timing.dataset['seconds'] = String(result.seconds);
  try {
    await scene.showLabels(result.nii, model.info.classNames, state.hidden);
  } catch (err) {
    setState('error', `overlay failed: ${(err as Error).message}`);
    return;
  }
  renderLegend();
  setState('done', `done: ${result.volumeName}${model.split ? ` · ${encoderWork(result)}` : ''}`);
}

/** What a split model's run needed: "decoder only" when every stack's embeddings were kept. */
function encoderWork(result: SegmentationDone): string {
  const images = `${result.decodedImages} slice image${result.decodedImages === 1 ? '' : 's'} decoded`;
  return result.encodedStacks === 0
    ? `decoder only: 0 stacks encoded, ${images}`
    : `${result.encodedStacks} of ${result.stacks} stacks encoded, ${images}`;
}

function renderLegend(): void {
  const names = state.model?.info.classNames ?? [];
  const result = state.result;
  ui.legend.innerHTML = '';
  names.forEach((name, value) => {
    const row = ui.legend.insertRow();
    row.dataset['label'] = String(value);
    row.classList.toggle('hidden', state.hidden.has(value));
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = value === 0 ? 'transparent' : cssColor(labelColor(value));
    if (value > 0) {
      swatch.title = 'show / hide';
      swatch.addEventListener('click', () => toggleLabel(value));
    }
    row.insertCell().append(swatch);
    row.insertCell().textContent = name;
    const count = result?.counts[value];
    const voxels = row.insertCell();
    voxels.className = 'num';
    const volume = row.insertCell();
    volume.className = 'num';
    if (count !== undefined && result) {
      row.dataset['count'] = String(count);
      voxels.textContent = count.toLocaleString('en-US');
      volume.textContent = formatVolume(count * result.voxelVolumeMm3);
    }
  });
}

function toggleLabel(value: number): void {
  if (state.hidden.has(value)) state.hidden.delete(value);
  else state.hidden.add(value);
  if (state.model) scene.setHidden(state.model.info.classNames, state.hidden);
  renderLegend();
}

function download(): void {
  const result = state.result;
  if (!result) return;
  const stem = result.volumeName.replace(NIFTI, '');
  const url = URL.createObjectURL(
    new Blob([result.niiGz as Uint8Array<ArrayBuffer>], { type: 'application/gzip' }),
  );
  const a = document.createElement('a');
  a.href = url;
  a.download = `${stem}_labels.nii.gz`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---- start-up ------------------------------------------------------------------------------------------

/** Fetches what `masam view --volume/--model` preloaded (nothing when the page is served otherwise). */
async function preload(): Promise<void> {
  const res = await fetch('preload/manifest.json').catch(() => undefined);
  if (!res?.ok) return;
  const manifest = (await res.json()) as PreloadManifest;
  const get = async (path: string, name: string): Promise<NamedBytes> => {
    const r = await fetch(path);
    if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
    return { name, bytes: new Uint8Array(await r.arrayBuffer()) };
  };
  if (manifest.volume) await openVolume(await get('preload/volume', manifest.volume));
  if (manifest.model) {
    const files = await Promise.all(
      manifest.model.files.map((f) => get(`preload/model/${encodeURIComponent(f)}`, f)),
    );
    const isGraph = (f: NamedBytes) => /\.onnx$/i.test(f.name);
    openModel(
      manifest.model.name,
      files.filter(isGraph),
      files.filter((f) => !isGraph(f)),
    );
  }
}

const params = new URLSearchParams(location.search);
const backendParam = params.get('backend');
if (backendParam === 'auto' || backendParam === 'webgpu' || backendParam === 'wasm')
  ui.backend.value = backendParam;

const convention: DisplayConvention =
  params.get('convention') === 'neurological' ? 'neurological' : 'radiological';
const scene = await Scene.create(
  {
    canvas: $<HTMLCanvasElement>('canvas'),
    slice: $<HTMLInputElement>('slice'),
    sliceLabel: $('slice-label'),
    opacity: $<HTMLInputElement>('opacity'),
    location: $('location'),
    boxDrag: $('box-drag'),
  },
  convention,
);
scene.onBoxDrag = onBoxDrag;

/** Shows slices in `c` and marks its button. */
function setConvention(c: DisplayConvention): void {
  scene.setConvention(c);
  document.body.dataset['convention'] = c;
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-convention]'))
    b.classList.toggle('active', b.dataset['convention'] === c);
}
setConvention(convention);
for (const button of document.querySelectorAll<HTMLButtonElement>('[data-convention]')) {
  button.addEventListener('click', () => setConvention(button.dataset['convention'] as DisplayConvention));
}

for (const button of document.querySelectorAll<HTMLButtonElement>('[data-slice-type]')) {
  button.addEventListener('click', () => {
    for (const b of document.querySelectorAll('[data-slice-type]')) b.classList.remove('active');
    button.classList.add('active');
    scene.setSliceType(Number(button.dataset['sliceType']) as SLICE_TYPE);
  });
}
ui.volumeInput.addEventListener('change', () => void openFiles([...(ui.volumeInput.files ?? [])]));
ui.modelInput.addEventListener('change', () => void openFiles([...(ui.modelInput.files ?? [])]));
ui.segment.addEventListener('click', segment);
ui.cancel.addEventListener('click', () => {
  if (document.body.dataset['state'] !== 'segmenting') return;
  setState('cancelling', 'cancelling…');
  send({ type: 'cancel' });
});
for (const input of ui.boxInputs) input.addEventListener('input', onBoxInput);
ui.boxClear.addEventListener('click', () => {
  state.points = [];
  renderPoints();
  setBox(undefined);
});
ui.pointFg.addEventListener('click', () => addPoint(1));
ui.pointBg.addEventListener('click', () => addPoint(0));
ui.download.addEventListener('click', download);
ui.backend.addEventListener('change', () => {
  // The backend applies when a model is opened; reopening needs the file again.
  if (state.model) ui.status.textContent = 'the backend applies to the next model you open';
});
document.addEventListener('dragover', (e) => {
  e.preventDefault();
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', (e) => {
  if (e.relatedTarget === null) document.body.classList.remove('dragging');
});
document.addEventListener('drop', (e) => {
  e.preventDefault();
  document.body.classList.remove('dragging');
  void openFiles([...(e.dataTransfer?.files ?? [])]);
});

preload().catch((err: unknown) => setState('error', `preload failed: ${(err as Error).message}`));
