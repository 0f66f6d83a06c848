// The Session contract shared by the Node (onnxruntime-node) and browser (onnxruntime-web) runtimes:
// named, typed, shape-checked feeds and fetches of host tensors.
import type { DType } from '../core/dtype.js';
import { FeedError, MasamError } from '../core/errors.js';
import type { HostTensor } from '../core/host_tensor.js';
import { formatShape, shapesEqual } from '../core/shape.js';
import type { TensorSpec } from '../onnx/export.js';

/** Where a session runs: the CPU, or one CUDA GPU by index ('cuda' = 'cuda:0'). */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/** Parses a device name as the CLI and library take it: cpu, cuda or cuda:N; throws naming the bad value. */
export function parseDevice(name: string): Device {
  if (name === 'cpu' || name === 'cuda') return name;
  const m = /^cuda:(\d+)$/.exec(name);
  if (m) return `cuda:${Number(m[1])}`;
  throw new MasamError(`unknown device '${name}': use cpu, cuda or cuda:N`);
}

/** The CUDA device index of a device, or null for the CPU. */
export function cudaIndex(device: Device): number | null {
  if (device === 'cpu') return null;
  return device === 'cuda' ? 0 : Number(device.slice(5));
}

/** ONNX Runtime's tensor type name for each masam dtype (the same in onnxruntime-node and -web). */
export const ORT_TENSOR_TYPE = {
  float32: 'float32',
  float64: 'float64',
  int32: 'int32',
  int64: 'int64',
  bool: 'bool',
  uint8: 'uint8',
  int8: 'int8',
  int16: 'int16',
  uint16: 'uint16',
} as const satisfies Record<DType, string>;

export interface Session {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Runs the graph; `fetch` limits the outputs computed (all when omitted). */
  run(
    feeds: Readonly<Record<string, HostTensor>>,
    fetch?: readonly string[],
  ): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

/**
 * The outputs to ask ONNX Runtime for: `fetch` (all when omitted) in the graph's output order, the order
 * fetchedByName needs.
 */
export function fetchOrder(outputs: readonly TensorSpec[], fetch?: readonly string[]): string[] {
  return outputs.map((o) => o.name).filter((name) => !fetch || fetch.includes(name));
}

/**
 * ONNX Runtime's results for `names` (from fetchOrder), each under its own name. onnxruntime-node up to
 * 1.23 keys a fetched subset by the graph's first output names, values in fetch order
 * (microsoft/onnxruntime#26865, fixed by #26939): fetching only 'probabilities' returns it as 'masks'.
 * With the names in output order, keys that are not the names fetched can only be that bug's, so the
 * values are taken by position then.
 */
export function fetchedByName<T>(
  names: readonly string[],
  results: Readonly<Record<string, T>>,
): [string, T][] {
  const keys = Object.keys(results);
  if (keys.length !== names.length)
    throw new MasamError(`ONNX Runtime returned ${keys.length} outputs for ${names.length} fetched`);
  const byName = names.every((n, i) => keys[i] === n);
  return names.map((n, i) => [n, byName ? results[n]! : results[keys[i]!]!]);
}

/** Checks feed names, dtypes and shapes against the declared inputs, and fetch names against outputs. */
export function validateFeeds(
  inputs: readonly TensorSpec[],
  outputs: readonly TensorSpec[],
  feeds: Readonly<Record<string, HostTensor>>,
  fetch?: readonly string[],
): void {
  const problems: string[] = [];
  for (const spec of inputs) {
    const t = feeds[spec.name];
    if (!t) problems.push(`missing input '${spec.name}' (${spec.dtype}${formatShape(spec.shape)})`);
    else if (t.dtype !== spec.dtype)
      problems.push(`input '${spec.name}': dtype ${t.dtype}, expected ${spec.dtype}`);
    else if (!shapesEqual(t.shape, spec.shape)) {
      problems.push(
        `input '${spec.name}': shape ${formatShape(t.shape)}, expected ${formatShape(spec.shape)}`,
      );
    }
  }
  const known = new Set(inputs.map((s) => s.name));
  for (const name of Object.keys(feeds)) if (!known.has(name)) problems.push(`unknown input '${name}'`);
  const outNames = new Set(outputs.map((s) => s.name));
  for (const name of fetch ?? []) if (!outNames.has(name)) problems.push(`unknown output '${name}'`);
  if (problems.length > 0) throw new FeedError(`session feeds: ${problems.join('; ')}`);
}
