// FacT-tt weight increments on the q and v projections (masam-spec §3.2): one shared U [r, C] and V [C, r]
// for the whole encoder, per-block r×r cores for q and v, scale s, dropout p = 0.1 on the r-dim vector.
import type { Value } from '../../graph/index.js';
import { Linear, type ParamScope, fanIn, zeros } from '../../nn/index.js';
import * as F from '../../ops/index.js';
import type { MaSamConfig } from '../sam/config.js';

export const FACT_DROPOUT = 0.1;

/** The shared factors, declared once under `image_encoder` (`FacTu.weight`, `FacTv.weight`). */
export class FactShared {
  readonly u: Value;
  readonly v: Value;
  constructor(cfg: MaSamConfig, encoder: ParamScope) {
    this.u = encoder.param('FacTu.weight', [cfg.fact_rank, cfg.embed_dim], fanIn(cfg.embed_dim));
    this.v = encoder.param('FacTv.weight', [cfg.embed_dim, cfg.fact_rank], zeros); // zero: starts as plain SAM
  }
}

/**
 * Training-mode dropout: returns uniform [0, 1) noise of `shape` for the named dropout site (a graph input
 * the training loop fills from its seeded Rng each step). Absent in eval mode, where dropout is identity.
 */
export type DropoutNoise = (site: string, shape: readonly number[]) => Value;

/** Per-block q/v cores (`attn.qkv.q_FacTs.weight`, `attn.qkv.v_FacTs.weight`). */
export class FactBlock {
  readonly qCore: Linear;
  readonly vCore: Linear;
  constructor(
    cfg: MaSamConfig,
    private readonly block: ParamScope,
    private readonly shared: FactShared,
    private readonly scale: number,
  ) {
    this.qCore = new Linear(cfg.fact_rank, cfg.fact_rank, block.pp('attn.qkv.q_FacTs'), { bias: false });
    this.vCore = new Linear(cfg.fact_rank, cfg.fact_rank, block.pp('attn.qkv.v_FacTs'), { bias: false });
  }

  /** True when every FacT factor is a constant (frozen inference graph): the update can be merged. */
  get frozen(): boolean {
    return [this.shared.u, this.shared.v, this.qCore.weight, this.vCore.weight].every(
      (v) => v.source.kind === 'constant',
    );
  }

  /**
   * qkv weight [3C, C] with the updates merged: W + [s·V·Cq·U; 0; s·V·Cv·U]. Equal to adding delta()
   * without dropout; built from constants only, so ORT folds it once at session start.
   */
  mergedQkvWeight(qkvWeight: Value): Value {
    const c = qkvWeight.shape[1]!;
    const update = (core: Linear) =>
      F.mul(F.matmul(F.matmul(this.shared.v, core.weight), this.shared.u), this.scale); // [C, r][r, r][r, C]
    const zeros = F.zerosLike(F.sliceAxis(qkvWeight, 0, 0, c));
    return F.add(qkvWeight, F.concat([update(this.qCore), zeros, update(this.vCore)], 0));
  }

  /** Δq = s·V(drop(Cq(U x))), Δv = s·V(drop(Cv(U x))) for the normed, window-partitioned input x. */
  delta(x: Value, noise?: DropoutNoise): { q: Value; v: Value } {
    const u = F.matmul(x, F.transpose(this.shared.u, [1, 0])); // [..., r], shared by q and v
    const project = (core: Linear, site: string) => {
      const h = core.forward(u);
      const dropped = noise ? F.dropout(h, noise(this.block.key(site), h.shape), FACT_DROPOUT) : h;
      return F.mul(F.matmul(dropped, F.transpose(this.shared.v, [1, 0])), this.scale);
    };
    return { q: project(this.qCore, 'attn.qkv.dropout_q'), v: project(this.vCore, 'attn.qkv.dropout_v') };
  }
}
