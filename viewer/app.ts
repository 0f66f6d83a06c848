// The masam viewer page: open (or drop) a NIfTI volume and an exported masam model, segment in a Web Worker
// with onnxruntime-web (WebGPU when available, else WASM), overlay the label map with a legend from the
// model's metadata, download the labels as NIfTI. `masam view` serves it and may preload files.
import type { SLICE_TYPE } from '@niivue/niivue';
import { cssColor, formatVolume, labelColor } from '../src/viewer/legend.js';
import type {
  BackendChoice,
  LoadedModel,
  SegmentationDone,
  WorkerRequest,
  WorkerResponse,
} from '../src/viewer/protocol.js';
import { Scene } from './scene.js';

/** What `masam view` preloads: file names under /preload/ (see src/cli/commands/view.ts). */
interface PreloadManifest {
  volume?: string;
  model?: string;
  modelData?: string;
}

interface NamedBytes {
  readonly name: string;
  readonly bytes: Uint8Array;
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const ui = {
  volumeInput: $<HTMLInputElement>('volume-input'),
  modelInput: $<HTMLInputElement>('model-input'),
  backend: $<HTMLSelectElement>('backend'),
  segment: $<HTMLButtonElement>('segment'),
  download: $<HTMLButtonElement>('download'),
  progress: $<HTMLProgressElement>('progress'),
  status: $('status'),
  timing: $('timing'),
  volumeInfo: $('volume-info'),
  modelInfo: $('model-info'),
  legend: $<HTMLTableElement>('legend').tBodies[0]!,
};

const state: {
  volume?: NamedBytes;
  model?: LoadedModel;
  result?: SegmentationDone;
  hidden: Set<number>;
  busy: boolean;
} = { hidden: new Set(), busy: false };

const NIFTI = /\.nii(\.gz)?$/i;

function formatBytes(n: number): string {
  return n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`;
}

function setState(name: 'idle' | 'loading' | 'segmenting' | 'done' | 'error', message?: string): void {
  document.body.dataset['state'] = name;
  if (message !== undefined) {
    ui.status.textContent = message;
    ui.status.classList.toggle('error', name === 'error');
  }
  state.busy = name === 'loading' || name === 'segmenting';
  ui.segment.disabled = state.busy || !state.volume || !state.model;
  ui.download.disabled = state.busy || !state.result;
}

// ---- worker --------------------------------------------------------------------------------------------

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const send = (request: WorkerRequest, transfer: ArrayBuffer[] = []) => worker.postMessage(request, transfer);
worker.onmessage = (event: MessageEvent<WorkerResponse>) => {
  const msg = event.data;
  if (msg.type === 'model') onModel(msg.model);
  else if (msg.type === 'progress') {
    ui.progress.max = msg.total;
    ui.progress.value = msg.done;
    ui.status.textContent = `segmenting: stack ${msg.done} of ${msg.total}`;
  } else if (msg.type === 'done') void onResult(msg.result);
  else if (msg.type === 'error') {
    if (msg.during === 'load-model') {
      state.model = undefined;
      ui.modelInfo.textContent = 'none';
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
  setState('idle', state.model ? 'ready: press Segment' : 'open a model');
}

function openModel(model: NamedBytes, data?: NamedBytes): void {
  state.model = undefined;
  state.result = undefined;
  scene.clearLabels();
  ui.modelInfo.textContent = `loading ${model.name}…`;
  setState('loading', `loading ${model.name}${data ? ` + ${data.name}` : ''}…`);
  const transfer = [model.bytes.buffer as ArrayBuffer];
  if (data) transfer.push(data.bytes.buffer as ArrayBuffer);
  send(
    {
      type: 'load-model',
      name: model.name,
      bytes: model.bytes,
      ...(data ? { externalData: { name: data.name, bytes: data.bytes } } : {}),
      backend: ui.backend.value as BackendChoice,
    },
    transfer,
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
  setState('idle', state.volume ? 'ready: press Segment' : 'open a volume');
}

/** Sorts picked or dropped files into a volume, a model and its external data. */
async function openFiles(files: readonly File[]): Promise<void> {
  const read = async (f: File): Promise<NamedBytes> => ({
    name: f.name,
    bytes: new Uint8Array(await f.arrayBuffer()),
  });
  const model = files.find((f) => /\.onnx$/i.test(f.name));
  const data = files.find((f) => /\.(onnx\.data|onnx_data|data)$/i.test(f.name));
  const volume = files.find((f) => NIFTI.test(f.name));
  if (!model && !volume) {
    setState('error', `nothing to open in ${files.map((f) => f.name).join(', ')} (.nii, .nii.gz, .onnx)`);
    return;
  }
  if (volume) await openVolume(await read(volume));
  if (model) openModel(await read(model), data ? await read(data) : undefined);
}

// ---- segmentation and results --------------------------------------------------------------------------

function segment(): void {
  if (!state.volume || !state.model || state.busy) return;
  state.result = undefined;
  ui.progress.value = 0;
  ui.timing.textContent = '';
  const copy = state.volume.bytes.slice();
  setState('segmenting', 'segmenting…');
  send({ type: 'segment', name: state.volume.name, bytes: copy }, [copy.buffer]);
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
  setState('done', `done: ${result.volumeName}`);
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
    const data = manifest.modelData ? await get('preload/model-data', manifest.modelData) : undefined;
    openModel(await get('preload/model', manifest.model), data);
  }
}

const params = new URLSearchParams(location.search);
const backendParam = params.get('backend');
if (backendParam === 'auto' || backendParam === 'webgpu' || backendParam === 'wasm')
  ui.backend.value = backendParam;

const scene = await Scene.create({
  canvas: $<HTMLCanvasElement>('canvas'),
  slice: $<HTMLInputElement>('slice'),
  sliceLabel: $('slice-label'),
  opacity: $<HTMLInputElement>('opacity'),
  location: $('location'),
});

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
