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

  /** The adapter branch for x [B = b·d, T, T, C] (the block adds the residual). */
  forward(x: Value, slices: number): Value {
    const [bd, t, t2] = x.shape as [number, number, number];
    const b = bd / slices;
    const h = this.down.forward(this.norm.forward(x)); // [B, T, T, A]
    const a = h.shape[3]!;
    // [b·d, T, T, A] → [b, d, T, T, A] → [b, A, d, T·T]: the conv mixes slices of one stack only
    const volume = F.transpose(F.reshape(h, [b, slices, t * t2, a]), [0, 3, 1, 2]);
    // The 3×1×1 Conv3d (padding 1, 0, 0) run as the identical 3×1 Conv2d over (d, T·T): onnxruntime-web's
    // WebGPU Conv3D (1.23) takes only pads equal on every axis, and ORT fuses an explicit Pad back into it.
    const kernel = F.reshape(this.conv.weight, [a, a, 3, 1]); // [A, A, 3, 1, 1] → [A, A, 3, 1]
    const mixed = F.conv(volume, kernel, this.conv.bias, { pads: [1, 0, 1, 0] });
    // [b, A, d, T·T] → [b, d, T·T, A] → [b·d, T, T, A]
    const back = F.reshape(F.transpose(mixed, [0, 2, 3, 1]), [bd, t, t2, a]);
    return this.up.forward(F.gelu(back));
  }
}
