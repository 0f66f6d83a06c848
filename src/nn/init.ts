// Weight initialisers with PyTorch's defaults (masam-spec §3.5), each taking an explicit Rng.
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import type { Rng } from '../core/rng.js';
import { numel } from '../core/shape.js';

export type Init = (shape: readonly number[], rng: Rng) => HostTensor<'float32'>;

export const zeros: Init = (shape) => hostTensor('float32', shape);

export const ones: Init = (shape) => hostTensor('float32', shape, new Float32Array(numel(shape)).fill(1));

/** U(−bound, bound). */
export function uniform(bound: number): Init {
  return (shape, rng) => {
    const t = hostTensor('float32', shape);
    for (let i = 0; i < t.data.length; i++) t.data[i] = rng.range(-bound, bound);
    return t;
  };
}

/** N(0, std²) (PyTorch's Embedding default with std 1). */
export function normal(std = 1): Init {
  return (shape, rng) => {
    const t = hostTensor('float32', shape);
    for (let i = 0; i < t.data.length; i++) t.data[i] = std * rng.normal();
    return t;
  };
}

/** PyTorch's default for Linear/Conv weights and biases: U(±1/√fan_in). */
export function fanIn(fan: number): Init {
  return uniform(1 / Math.sqrt(fan));
}
