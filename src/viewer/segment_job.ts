// What the viewer's Web Worker does, minus the `onmessage` glue (viewer/worker.ts): load an exported masam
// model into onnxruntime-web (WebGPU or WASM) — one graph (exportOnnx, every model exported before the
// split) or a split model's encoder and decoder (exportSplit) — then segment NIfTI volumes with the same
// VolumeSegmenter the CLI uses (and, for a box-prompted model, the same prompt mapping), so the browser's
// labels equal `masam segment`'s. One VolumeSegmenter is kept for the open volume: with a split model it
// keeps each stack's image embeddings, so segmenting again after a prompt edit runs only the decoder. A
// running segmentation stops at the page's Cancel. Nothing leaves the machine.
import { type ModelInfo, modelInfoFromMetadata, splitPartsMismatch } from '../infer/model_info.js';
import { promptsForVolume } from '../infer/prompts.js';
import { VolumeSegmenter } from '../infer/segment.js';
import { type StackModel, sessionStackModel, splitStackModel } from '../infer/stack_model.js';
import { parseNifti, serializeNifti } from '../io/nifti.js';
import type { Session } from '../runtime/session.js';
import { type ModelSignature, inspectModel } from '../onnx/inspect.js';
import {
  type ExternalDataFile,
  OrtWebSession,
  type WebBackend,
  configureOrtWeb,
  externalDataLocations,
  ortWebThreads,
  webGpuAvailable,
} from '../runtime/ort_web.js';
import { countLabels } from './legend.js';
import type { BackendChoice, LoadedModel, NamedBytes, WorkerRequest, WorkerResponse } from './protocol.js';

/** Sends a response to the page, transferring the listed buffers. */
export type Post = (message: WorkerResponse, transfer?: ArrayBuffer[]) => void;

/** The requests SegmentJob.handle runs in turn ('cancel' goes to SegmentJob.cancel at once). */
export type QueuedRequest = Exclude<WorkerRequest, { type: 'cancel' }>;

interface Current {
  readonly name: string;
  readonly info: ModelInfo;
  readonly sessions: readonly OrtWebSession[];
  readonly model: StackModel;
  readonly backend: WebBackend;
}

/** The volume last segmented and its segmenter (which keeps a split model's embeddings). */
interface OpenVolume {
  readonly name: string;
  /** The file as the page sent it: a request with the same name and bytes reuses the segmenter. */
  readonly bytes: Uint8Array;
  readonly segmenter: VolumeSegmenter;
}

/** A graph of the request with its signature (inputs, outputs, metadata). */
interface Graph extends NamedBytes {
  readonly signature: ModelSignature;
}

/** The model's graphs by role. */
type ModelGraphs =
  | { readonly kind: 'onnx'; readonly graph: Graph }
  | { readonly kind: 'split'; readonly encoder: Graph; readonly decoder: Graph };

const now = (): number => performance.now() / 1000;

export class SegmentJob {
  private current: Current | undefined;
  private volume: OpenVolume | undefined;
  /** Aborts the segmentation in progress. */
  private running: AbortController | undefined;

  constructor(private readonly post: Post) {}

  /** Handles one request; failures become an 'error' response naming the request. */
  async handle(request: QueuedRequest): Promise<void> {
    try {
      if (request.type === 'init') {
        configureOrtWeb({ wasmPaths: request.wasmPaths, threads: request.threads });
        this.post({ type: 'ready' });
      } else if (request.type === 'load-model') {
        this.post({ type: 'model', model: await this.loadModel(request) });
      } else {
        await this.segment(request);
      }
    } catch (err) {
      this.post({ type: 'error', during: request.type, message: (err as Error).message });
    }
  }

  /** Stops the running segmentation at its next model call (no-op when none runs). */
  cancel(): void {
    this.running?.abort(new DOMException('segmentation cancelled', 'AbortError'));
  }

  private async loadModel(request: Extract<WorkerRequest, { type: 'load-model' }>): Promise<LoadedModel> {
    const start = now();
    const graphs = modelGraphs(
      request.graphs.map((g) => ({ ...g, signature: inspectModel(g.bytes, g.name) })),
      request.name,
    );
    const first = graphs.kind === 'onnx' ? graphs.graph : graphs.encoder;
    const info = modelInfoFromMetadata(first.signature.metadata, first.name);
    const parts = graphs.kind === 'onnx' ? [graphs.graph] : [graphs.encoder, graphs.decoder];
    const externalData = parts.map((g) => externalDataFor(g, request.externalData, parts.length));
    // A new model: the kept embeddings were the old model's.
    this.volume = undefined;
    await this.release();
    const precision = first.signature.metadata['masam.precision'] === 'fp16' ? 'fp16' : 'fp32';
    const open = async (backend: WebBackend): Promise<OrtWebSession[]> => {
      const sessions: OrtWebSession[] = [];
      try {
        for (const [n, g] of parts.entries()) {
          const data = externalData[n];
          sessions.push(
            await OrtWebSession.create(g.bytes, {
              backend,
              source: g.name,
              signature: g.signature,
              ...(data ? { externalData: data } : {}),
            }),
          );
        }
        return sessions;
      } catch (err) {
        for (const s of sessions) await s.release();
        throw err;
      }
    };
    const {
      opened: sessions,
      backend,
      fallbackReason,
    } = await openWithFallback(request.backend, open, precision === 'fp16' ? [SHADER_F16] : []);
    let model: StackModel;
    try {
      // Checks the signatures against the metadata now, not at Segment.
      const [first, second] = sessions.map(yielding);
      model =
        graphs.kind === 'onnx' ? sessionStackModel(first!, info) : splitStackModel(first!, second!, info);
    } catch (err) {
      for (const s of sessions) await s.release();
      throw err;
    }
    this.current = { name: request.name, info, sessions, model, backend };
    return {
      name: request.name,
      info,
      backend,
      split: graphs.kind === 'split',
      precision,
      ...(fallbackReason ? { fallbackReason } : {}),
      threads: backend === 'wasm' ? ortWebThreads() : 1,
      seconds: now() - start,
    };
  }

  private async release(): Promise<void> {
    const sessions = this.current?.sessions ?? [];
    this.current = undefined;
    for (const s of sessions) await s.release();
  }

  /** The segmenter of the request's volume: the kept one when the same file comes again, else a new one. */
  private segmenterFor(request: Extract<WorkerRequest, { type: 'segment' }>, model: StackModel) {
    const kept = this.volume;
    if (kept && kept.name === request.name && sameBytes(kept.bytes, request.bytes)) return kept.segmenter;
    this.volume = undefined; // the old volume's embeddings go before the new volume is prepared
    const volume = parseNifti(request.bytes, request.name);
    const segmenter = new VolumeSegmenter(volume, model, { source: request.name });
    this.volume = { name: request.name, bytes: request.bytes, segmenter };
    return segmenter;
  }

  private async segment(request: Extract<WorkerRequest, { type: 'segment' }>): Promise<void> {
    const current = this.current;
    if (!current) throw new Error('open a model before segmenting');
    const controller = new AbortController();
    this.running = controller;
    try {
      const start = now();
      const segmenter = this.segmenterFor(request, current.model);
      const { info } = current;
      // As `masam segment --prompts` does (src/cli/commands/segment.ts): the voxel box onto each slice's
      // model plane; the segmenter refuses prompts for a model without them and a prompted model without.
      const prompts =
        request.prompts && promptsForVolume(request.prompts, segmenter.volume, info, 'prompts', request.name);
      const encodedBefore = segmenter.encodedStacks;
      const decodedBefore = segmenter.decodedImages;
      const result = await segmenter.segment({
        ...(request.stride ? { stride: request.stride } : {}),
        ...(prompts && { prompts }),
        signal: controller.signal,
        onProgress: (done, total) => this.post({ type: 'progress', done, total }),
      });
      const nii = serializeNifti(result.labels);
      const niiGz = serializeNifti(result.labels, { gzip: true });
      const [sx, sy, sz] = result.labels.spacing as [number, number, number];
      this.post(
        {
          type: 'done',
          result: {
            volumeName: request.name,
            nii,
            niiGz,
            counts: countLabels(result.labels.data, info.classNames.length),
            voxelVolumeMm3: Math.abs(sx * sy * sz),
            shape: result.labels.shape,
            stacks: result.stacks,
            encodedStacks: segmenter.encodedStacks - encodedBefore,
            decodedImages: segmenter.decodedImages - decodedBefore,
            seconds: result.seconds,
            totalSeconds: now() - start,
            backend: current.backend,
            threads: current.backend === 'wasm' ? ortWebThreads() : 1,
          },
        },
        [...new Set([nii.buffer as ArrayBuffer, niiGz.buffer as ArrayBuffer])],
      );
    } catch (err) {
      if (!controller.signal.aborted) throw err;
      this.post({ type: 'cancelled' });
    } finally {
      this.running = undefined;
    }
  }
}

/**
 * Sorts the request's graphs: one `.onnx` without 'masam.part', or a split model's encoder and decoder
 * (each says its part in its metadata; both from one export).
 * @throws Error naming the files when they are not one model
 */
function modelGraphs(graphs: readonly Graph[], name: string): ModelGraphs {
  const part = (g: Graph) => g.signature.metadata['masam.part'];
  if (graphs.length === 1) {
    const graph = graphs[0]!;
    if (part(graph) !== undefined) {
      throw new Error(
        `${graph.name}: a split model's ${part(graph)}; open encoder.onnx and decoder.onnx together`,
      );
    }
    return { kind: 'onnx', graph };
  }
  if (graphs.length !== 2) {
    throw new Error(
      `${graphs.length} .onnx files (${graphs.map((g) => g.name).join(', ') || 'none'}): open one model, ` +
        "an .onnx file or a split model's encoder.onnx and decoder.onnx",
    );
  }
  const encoder = graphs.find((g) => part(g) === 'encoder') ?? graphs[0]!;
  const decoder = graphs.find((g) => g !== encoder)!;
  const problem = splitPartsMismatch(
    name,
    [encoder.signature.metadata, encoder.name],
    [decoder.signature.metadata, decoder.name],
  );
  if (problem) throw new Error(problem);
  return { kind: 'split', encoder, decoder };
}

/**
 * The external weights of `graph` among the given data files: beside a single graph, all of them (a single
 * file is taken whatever its name, OrtWebSession.create); beside a split model's graph, the files it names.
 * @throws Error when a split model's graph names a data file that was not given
 */
function externalDataFor(
  graph: Graph,
  files: readonly NamedBytes[],
  graphs: number,
): ExternalDataFile[] | undefined {
  if (files.length === 0) return undefined;
  if (graphs === 1) return files.map((f) => ({ path: f.name, data: f.bytes }));
  const wanted = externalDataLocations(graph.bytes);
  const missing = wanted.filter((w) => !files.some((f) => f.name === w));
  if (missing.length > 0)
    throw new Error(`${graph.name} keeps its weights in ${missing.join(', ')}: open it with the model`);
  const mine = files.filter((f) => wanted.includes(f.name));
  return mine.length > 0 ? mine.map((f) => ({ path: f.name, data: f.bytes })) : undefined;
}

/** Resolves after the worker's queued messages have been handled (a message task: no timer clamping). */
function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * `session`, letting the worker's queued messages in before each run: a WASM run holds the worker's thread
 * and resolves without a task boundary, so without this a Cancel would wait for the whole segmentation.
 */
function yielding(session: OrtWebSession): Session {
  return {
    inputs: session.inputs,
    outputs: session.outputs,
    run: async (feeds, fetch) => {
      await yieldToMessages();
      return session.run(feeds, fetch);
    },
    release: () => session.release(),
  };
}

/** Whether two files hold the same bytes. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The WebGPU feature a float16 model needs: without it onnxruntime-web's f16 shaders fail to compile. */
export const SHADER_F16 = 'shader-f16';

interface GpuAdapterLike {
  readonly features: { has(name: string): boolean };
  readonly info?: { readonly architecture?: string; readonly vendor?: string };
}

/** The features of `needs` this browser's WebGPU adapter lacks, and what the adapter is. */
async function missingWebGpuFeatures(
  needs: readonly string[],
): Promise<{ missing: string[]; adapter: string }> {
  if (needs.length === 0) return { missing: [], adapter: '' };
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
  const adapter = (await gpu?.requestAdapter().catch(() => null)) as GpuAdapterLike | null | undefined;
  const name = adapter?.info?.architecture || adapter?.info?.vendor || 'unknown';
  return { missing: needs.filter((f) => !adapter?.features.has(f)), adapter: name };
}

/**
 * Opens the session(s) on the chosen backend: 'wasm' directly; 'auto' and 'webgpu' try WebGPU first and
 * fall back to WASM when there is no adapter, the adapter lacks a feature of `needs` (a float16 model
 * needs 'shader-f16'), or the model does not load there (the reason is reported). The feature is checked
 * before loading because onnxruntime-web loads and runs a float16 model on an adapter without
 * 'shader-f16': its shaders fail validation, only the console says so, and the labels come out wrong.
 */
export async function openWithFallback<T>(
  choice: BackendChoice,
  open: (backend: WebBackend) => Promise<T>,
  needs: readonly string[] = [],
): Promise<{ opened: T; backend: WebBackend; fallbackReason?: string }> {
  if (choice === 'wasm') return { opened: await open('wasm'), backend: 'wasm' };
  if (!(await webGpuAvailable())) {
    return {
      opened: await open('wasm'),
      backend: 'wasm',
      fallbackReason: 'this browser offers no WebGPU adapter',
    };
  }
  const { missing, adapter } = await missingWebGpuFeatures(needs);
  if (missing.length > 0) {
    return {
      opened: await open('wasm'),
      backend: 'wasm',
      fallbackReason: `this float16 model needs the WebGPU feature ${missing.map((f) => `'${f}'`).join(', ')}, which the adapter (${adapter}) lacks`,
    };
  }
  try {
    return { opened: await open('webgpu'), backend: 'webgpu' };
  } catch (err) {
    return { opened: await open('wasm'), backend: 'wasm', fallbackReason: (err as Error).message };
  }
}
