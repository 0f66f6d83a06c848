// Weights in shared memory, so data-parallel workers (train/parallel_executor.ts) see the one copy that the
// optimiser updates in place. ONNX Runtime refuses tensors over a SharedArrayBuffer ("Invalid argument",
// onnxruntime-node 1.23), so each worker feeds its sessions from private copies: the frozen weights copied
// once, the trainable ones refreshed from shared memory before every request.
import type { HostTensor } from '../core/host_tensor.js';
import { hostTensor } from '../core/host_tensor.js';
import type { Weights } from '../nn/index.js';

/** One weight as it crosses to a worker: its shared buffer and shape. */
export interface SharedWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly buffer: SharedArrayBuffer;
}

/**
 * Moves every weight into a SharedArrayBuffer, replacing the map's entries in place (call before anything
 * keeps references to the old arrays, e.g. the optimiser). Weights already shared are kept as they are.
 */
export function shareWeights(weights: Weights): SharedWeight[] {
  const out: SharedWeight[] = [];
  for (const [name, t] of weights) {
    let data = t.data;
    if (!(data.buffer instanceof SharedArrayBuffer)) {
      const shared = new Float32Array(new SharedArrayBuffer(data.byteLength));
      shared.set(data);
      data = shared;
      weights.set(name, hostTensor('float32', t.shape, data));
    }
    out.push({ name, shape: t.shape, buffer: data.buffer as SharedArrayBuffer });
  }
  return out;
}

/** The worker side: private copies of the shared weights, and their refresh after an optimiser step. */
export class WorkerWeights {
  readonly weights: Weights;

  constructor(private readonly shared: readonly SharedWeight[]) {
    this.weights = new Map(
      shared.map((w): [string, HostTensor<'float32'>] => [
        w.name,
        hostTensor('float32', w.shape, new Float32Array(w.buffer).slice()),
      ]),
    );
  }

  /** Copies the current shared values of `names` into the private arrays (their identity is kept). */
  refresh(names: Iterable<string>): void {
    const byName = new Map(this.shared.map((w) => [w.name, w]));
    for (const name of names) this.weights.get(name)!.data.set(new Float32Array(byName.get(name)!.buffer));
  }
}
