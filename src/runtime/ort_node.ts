// Session over onnxruntime-node: CPU everywhere (intra-op threads = cores by default), CUDA where the user
// installed ORT's CUDA binaries (see README, "GPU").
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { TypedArrayOf } from '../core/dtype.js';
import { MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import type { ExportedModel, TensorSpec } from '../onnx/export.js';
import { inspectModel } from '../onnx/inspect.js';
import {
  type Device,
  ORT_TENSOR_TYPE,
  type Session,
  cudaIndex,
  fetchOrder,
  fetchedByName,
  validateFeeds,
} from './session.js';

export interface OrtSessionOptions {
  readonly device?: Device;
  /** Intra-op threads (default: all cores). */
  readonly threads?: number;
  /** Write ORT's JSON profile with this file prefix. */
  readonly profilePrefix?: string;
  readonly optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * ORT's CPU memory arena keeps every block it ever allocated; training graphs, whose activations are
   * large and short-lived, peak far lower without it (measured in bench/results/model.json).
   */
  readonly memoryArena?: boolean;
}

export class OrtSession implements Session {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: readonly TensorSpec[],
    readonly outputs: readonly TensorSpec[],
  ) {}

  /** Creates a session from an exported model (external data is staged through a temporary folder). */
  static async create(exported: ExportedModel, options: OrtSessionOptions = {}): Promise<OrtSession> {
    const sessionOptions = toOrtOptions(options);
    let session: ort.InferenceSession;
    try {
      if (exported.externalData) {
        const dir = mkdtempSync(join(tmpdir(), 'masam-onnx-'));
        try {
          const modelPath = join(dir, 'model.onnx');
          writeFileSync(modelPath, exported.model);
          writeFileSync(
            join(dir, exported.externalData.location),
            Buffer.concat(exported.externalData.chunks),
          );
          session = await ort.InferenceSession.create(modelPath, sessionOptions);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      } else {
        session = await ort.InferenceSession.create(exported.model, sessionOptions);
      }
    } catch (err) {
      throw new MasamError(`onnxruntime could not load the model: ${(err as Error).message}`);
    }
    return new OrtSession(session, exported.inputs, exported.outputs);
  }

  /** Opens an .onnx file (external data next to it is found by ORT); the signature is read from the file. */
  static async fromFile(path: string, options: OrtSessionOptions = {}): Promise<OrtSession> {
    const signature = inspectModel(readFileSync(path), path);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, toOrtOptions(options));
    } catch (err) {
      throw new MasamError(`${path}: onnxruntime could not load the model: ${(err as Error).message}`);
    }
    return new OrtSession(session, signature.inputs, signature.outputs);
  }

  async run(
    feeds: Readonly<Record<string, HostTensor>>,
    fetch?: readonly string[],
  ): Promise<Record<string, HostTensor>> {
    validateFeeds(this.inputs, this.outputs, feeds, fetch);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor(ORT_TENSOR_TYPE[t.dtype], t.data as ort.Tensor.DataType, [...t.shape]);
    }
    const names = fetchOrder(this.outputs, fetch);
    const results = await this.session.run(ortFeeds, names);
    const out: Record<string, HostTensor> = {};
    for (const [name, t] of fetchedByName(names, results)) {
      const spec = this.outputs.find((o) => o.name === name)!;
      out[name] = hostTensor(spec.dtype, t.dims, t.data as TypedArrayOf[typeof spec.dtype]);
    }
    return out;
  }

  /** Ends profiling (when enabled) so ORT writes its JSON trace. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function toOrtOptions(o: OrtSessionOptions): ort.InferenceSession.SessionOptions {
  const gpu = cudaIndex(o.device ?? 'cpu');
  return {
    // One session per device: a CUDA session runs on its own GPU, with the CPU for ops CUDA lacks.
    executionProviders: gpu === null ? ['cpu'] : [{ name: 'cuda', deviceId: gpu }, 'cpu'],
    intraOpNumThreads: o.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: o.optimization ?? 'all',
    enableCpuMemArena: o.memoryArena ?? true,
    ...(o.profilePrefix ? { enableProfiling: true, profileFilePrefix: o.profilePrefix } : {}),
  };
}
