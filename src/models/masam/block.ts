// MA-SAM's transformer block (masam-spec §2.3): SAM's block parts, untouched, with two 3D adapters and FacT
// around them, in the official order: adapter 1, attention (+FacT on q/v), adapter 2, MLP.
import type { Value } from '../../graph/index.js';
import type { ParamScope } from '../../nn/index.js';
import * as F from '../../ops/index.js';
import type { MaSamConfig } from '../sam/config.js';
import type { Block } from '../sam/image_encoder.js';
import { Adapter3d } from './adapter3d.js';
import { type DropoutNoise, FactBlock, type FactShared } from './fact.js';
import { PARAM_GROUPS } from './trainable.js';

export class MaSamBlock {
  readonly adapter1: Adapter3d;
  readonly adapter2: Adapter3d;
  readonly fact: FactBlock;

  constructor(
    cfg: MaSamConfig,
    p: ParamScope,
    readonly base: Block,
    shared: FactShared,
  ) {
    this.adapter1 = new Adapter3d(cfg, p.group(PARAM_GROUPS.adapters), '');
    this.adapter2 = new Adapter3d(cfg, p.group(PARAM_GROUPS.adapters), '_2');
    this.fact = new FactBlock(cfg, p.group(PARAM_GROUPS.fact), shared, cfg.fact_scale);
  }

  forward(x: Value, slices: number, noise?: DropoutNoise): Value {
    const x1 = F.add(x, this.adapter1.forward(x, slices));
    // Inference (frozen FacT, no dropout) folds the low-rank update into the qkv weight; training keeps it
    // factorised so that gradients to U, V and the cores cost rank-r work, not a full [3C, C] weight gradient.
    const attention =
      !noise && this.fact.frozen
        ? { qkvWeight: this.fact.mergedQkvWeight(this.base.attn.qkv.weight) }
        : { qkvDelta: (h: Value) => this.fact.delta(h, noise) };
    const x2 = F.add(x1, this.base.attention(x1, attention));
    const x3 = F.add(x2, this.adapter2.forward(x2, slices));
    return F.add(x3, this.base.mlp(x3));
  }
}
