// What the viewer's Web Worker does, minus the `onmessage` glue (viewer/worker.ts): load an exported masam
// model into onnxruntime-web (WebGPU or WASM), then segment NIfTI volumes with the same `segmentVolume`
// the CLI uses (and, for a box-prompted model, the same prompt mapping), so the browser's labels equal
// `masam segment`'s. Nothing leaves the machine.
import { type ModelInfo, modelInfoFromMetadata } from '../infer/model_info.js';
import { promptsForVolume } from '../infer/prompts.js';
import { segmentVolume } from '../infer/segment.js';
import { sessionStackModel } from '../infer/stack_model.js';
import { parseNifti, serializeNifti } from '../io/nifti.js';
import { inspectModel } from '../onnx/inspect.js';
import {
  OrtWebSession,
  type WebBackend,
  configureOrtWeb,
  ortWebThreads,
  webGpuAvailable,
} from '../runtime/ort_web.js';
import { countLabels } from './legend.js';
import type { BackendChoice, LoadedModel, WorkerRequest, WorkerResponse } from './protocol.js';

/** Sends a response to the page, transferring the listed buffers. */
export type Post = (message: WorkerResponse, transfer?: ArrayBuffer[]) => void;

interface Current {
  readonly name: string;
  readonly session: OrtWebSession;
  readonly info: ModelInfo;
}

const now = (): number => performance.now() / 1000;

export class SegmentJob {
  private current: Current | undefined;

  constructor(private readonly post: Post) {}

  /** Handles one request; failures become an 'error' response naming the request. */
  async handle(request: WorkerRequest): Promise<void> {
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

  private async loadModel(request: Extract<WorkerRequest, { type: 'load-model' }>): Promise<LoadedModel> {
    const start = now();
    const signature = inspectModel(request.bytes, request.name);
    const info = modelInfoFromMetadata(signature.metadata, request.name);
    await this.current?.session.release();
    this.current = undefined;
    const externalData = request.externalData
      ? [{ path: request.externalData.name, data: request.externalData.bytes }]
      : undefined;
    const open = (backend: WebBackend) =>
      OrtWebSession.create(request.bytes, {
        backend,
        source: request.name,
        signature,
        ...(externalData ? { externalData } : {}),
      });
    const { session, fallbackReason } = await openWithFallback(request.backend, open);
    try {
      sessionStackModel(session, info); // checks the signature against the metadata now, not at Segment
    } catch (err) {
      await session.release();
      throw err;
    }
    this.current = { name: request.name, session, info };
    return {
      name: request.name,
      info,
      backend: session.backend,
      ...(fallbackReason ? { fallbackReason } : {}),
      threads: session.backend === 'wasm' ? ortWebThreads() : 1,
      seconds: now() - start,
    };
  }

  private async segment(request: Extract<WorkerRequest, { type: 'segment' }>): Promise<void> {
    const current = this.current;
    if (!current) throw new Error('open a model before segmenting');
    const start = now();
    const volume = parseNifti(request.bytes, request.name);
    const { info } = current;
    // As `masam segment --prompts` does (src/cli/commands/segment.ts): the voxel box onto each slice's model
    // plane; segmentVolume refuses prompts for a model without them and a prompted model without prompts.
    const prompts =
      request.prompts && promptsForVolume(request.prompts, volume, info, 'prompts', request.name);
    const result = await segmentVolume(volume, sessionStackModel(current.session, info), {
      source: request.name,
      ...(request.stride ? { stride: request.stride } : {}),
      ...(prompts && { prompts }),
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
          counts: countLabels(result.labels.data, current.info.classNames.length),
          voxelVolumeMm3: Math.abs(sx * sy * sz),
          shape: result.labels.shape,
          stacks: result.stacks,
          seconds: result.seconds,
          totalSeconds: now() - start,
          backend: current.session.backend,
          threads: current.session.backend === 'wasm' ? ortWebThreads() : 1,
        },
      },
      [...new Set([nii.buffer as ArrayBuffer, niiGz.buffer as ArrayBuffer])],
    );
  }
}

/**
 * Opens the session on the chosen backend: 'wasm' directly; 'auto' and 'webgpu' try WebGPU first and fall
 * back to WASM when there is no adapter or the model does not load there (the reason is reported).
 */
export async function openWithFallback(
  choice: BackendChoice,
  open: (backend: WebBackend) => Promise<OrtWebSession>,
): Promise<{ session: OrtWebSession; fallbackReason?: string }> {
  if (choice === 'wasm') return { session: await open('wasm') };
  if (!(await webGpuAvailable())) {
    return { session: await open('wasm'), fallbackReason: 'this browser offers no WebGPU adapter' };
  }
  try {
    return { session: await open('webgpu') };
  } catch (err) {
    return { session: await open('wasm'), fallbackReason: (err as Error).message };
  }
}
