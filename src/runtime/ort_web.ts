// Session over onnxruntime-web for the browser (the viewer's Web Worker): WebGPU where the browser offers
// an adapter, WASM otherwise. Browser-safe — no Node imports; models arrive as bytes (plus external data).
// The Node runtime (ort_node.ts) implements the same Session contract over onnxruntime-node.
import * as ort from 'onnxruntime-web';
import type { TypedArrayOf } from '../core/dtype.js';
import { MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import type { TensorSpec } from '../onnx/export.js';
import { type ModelSignature, inspectModel } from '../onnx/inspect.js';
import { onnx } from '../onnx/proto.js';
import { ORT_TENSOR_TYPE, type Session, fetchOrder, fetchedByName, validateFeeds } from './session.js';

/** Where the model runs in the browser. */
export type WebBackend = 'webgpu' | 'wasm';

export interface OrtWebEnvOptions {
  /** URL prefix (ending in '/') of the served `ort-wasm-simd-threaded.jsep.{mjs,wasm}` files. */
  readonly wasmPaths: string;
  /** WASM threads; more than 1 needs a cross-origin-isolated page (COOP/COEP headers). Default 1. */
  readonly threads?: number;
}

/** Points onnxruntime-web at locally served WASM files (no CDN) and sets its thread count; call once. */
export function configureOrtWeb(options: OrtWebEnvOptions): void {
  ort.env.wasm.wasmPaths = options.wasmPaths;
  ort.env.wasm.numThreads = Math.max(1, options.threads ?? 1);
  // Sessions are created inside a Web Worker already: no second proxy worker.
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
}

/** The threads onnxruntime-web actually uses (1 without cross-origin isolation). */
export function ortWebThreads(): number {
  return ort.env.wasm.numThreads ?? 1;
}

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

/** Whether this browser offers a WebGPU adapter (false with no `navigator.gpu` or no adapter). */
export async function webGpuAvailable(): Promise<boolean> {
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/** One file of external weights, as the model names it (`<model>.onnx.data` for masam exports). */
export interface ExternalDataFile {
  readonly path: string;
  readonly data: Uint8Array;
}

export interface OrtWebSessionOptions {
  readonly backend?: WebBackend;
  /** Weights stored beside the model; a single file is matched to the model's only location whatever its name. */
  readonly externalData?: readonly ExternalDataFile[];
  /** Names the model in errors. */
  readonly source?: string;
  /** The model's signature when the caller has read it already (saves decoding the bytes twice). */
  readonly signature?: ModelSignature;
}

/** The external-data file names an ONNX model refers to (empty for a self-contained model). */
export function externalDataLocations(bytes: Uint8Array): string[] {
  const model = onnx.ModelProto.decode(bytes);
  const locations = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    for (const entry of t.externalData ?? []) if (entry.key === 'location') locations.add(entry.value ?? '');
  }
  return [...locations];
}

export class OrtWebSession implements Session {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: readonly TensorSpec[],
    readonly outputs: readonly TensorSpec[],
    readonly backend: WebBackend,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  /** Creates a session from model bytes; the signature and metadata are read from the bytes. */
  static async create(bytes: Uint8Array, options: OrtWebSessionOptions = {}): Promise<OrtWebSession> {
    const source = options.source ?? '<model>';
    const signature = options.signature ?? inspectModel(bytes, source);
    const backend = options.backend ?? 'wasm';
    let externalData: ExternalDataFile[] | undefined;
    if (options.externalData && options.externalData.length > 0) {
      const wanted = externalDataLocations(bytes);
      const given = options.externalData;
      externalData =
        wanted.length === 1 && given.length === 1 ? [{ path: wanted[0]!, data: given[0]!.data }] : [...given];
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        // Operators WebGPU lacks fall back to the WASM kernels.
        executionProviders: backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        ...(externalData ? { externalData } : {}),
      });
    } catch (err) {
      throw new MasamError(
        `${source}: onnxruntime-web (${backend}) could not load the model: ${(err as Error).message}`,
      );
    }
    return new OrtWebSession(session, signature.inputs, signature.outputs, backend, signature.metadata);
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
      // WebGPU outputs may live on the GPU; getData() downloads them (a no-op for CPU tensors).
      const data = (await t.getData()) as TypedArrayOf[typeof spec.dtype];
      out[name] = hostTensor(spec.dtype, t.dims, data);
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
