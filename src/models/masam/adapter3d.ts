// The 3D adapter (masam-spec §3.3): LayerNorm → down-projection → Conv3d (3×1×1) across the d slices of
// each stack → GELU → up-projection. Two per block: `adapter_*` and `adapter_*_2`.
import type { Value } from '../../graph/index.js';
import { Conv, LayerNorm, Linear, type ParamScope } from '../../nn/index.js';
import * as F from '../../ops/index.js';
import type { MaSamConfig } from '../sam/config.js';

export class Adapter3d {
  private readonly norm: LayerNorm;
  private readonly down: Linear;
  private readonly conv: Conv;
  private readonly up: Linear;

  /** `suffix` is '' for the first adapter and '_2' for the second. */
  constructor(cfg: MaSamConfig, block: ParamScope, suffix: '' | '_2') {
    const a = cfg.adapter_channels;
    this.norm = new LayerNorm(cfg.embed_dim, block.pp(`adapter_norm${suffix}`), cfg.layer_norm_eps);
    this.down = new Linear(cfg.embed_dim, a, block.pp(`adapter_linear_down${suffix}`), { bias: false });
    this.conv = new Conv(a, a, [3, 1, 1], block.pp(`adapter_conv${suffix}`));
    this.up = new Linear(a, cfg.embed_dim, block.pp(`adapter_linear_up${suffix}`), { bias: false });
  }

  /**
   * The adapter branch for x [B = b·d, T, T, C] (the block adds the residual). The 3×1×1 Conv3d (padding
   * 1, 0, 0) across the d slices of each stack runs as its three taps, each a matmul over the channels of
   * the stack shifted by one slice: out[t] = Σ_k W_k · in[t + k − 1] + bias. The same sums as the conv,
   * with gradients that are plain matmuls too (ORT computed the conv's weight gradient as a strided
   * convolution, 5× the forward), and MatMul runs on every backend (WebGPU's Conv3D takes equal pads only).
   */
  forward(x: Value, slices: number): Value {
    const [bd, t, t2] = x.shape as [number, number, number];
    const b = bd / slices;
    const h = this.down.forward(this.norm.forward(x)); // [B, T, T, A]
    const a = h.shape[3]!;
    // [b·d, T, T, A] → [b, d, T·T, A], zero-padded by one slice at both ends: the conv never mixes stacks
    const volume = F.pad(F.reshape(h, [b, slices, t * t2, a]), [0, 1, 0, 0, 0, 1, 0, 0]);
    const kernel = F.reshape(this.conv.weight, [a, a, 3]); // [A_out, A_in, 3, 1, 1] → [A_out, A_in, 3]
    let mixed: Value | null = null;
    for (let k = 0; k < 3; k++) {
      const tap = F.reshape(F.sliceAxis(kernel, 2, k, k + 1), [a, a]);
      const term = F.matmul(F.sliceAxis(volume, 1, k, k + slices), F.transpose(tap, [1, 0])); // [b, d, T·T, A]
      mixed = mixed ? F.add(mixed, term) : term;
    }
    const biased = this.conv.bias ? F.add(mixed!, this.conv.bias) : mixed!;
    return this.up.forward(F.gelu(F.reshape(biased, [bd, t, t2, a])));
  }
}
