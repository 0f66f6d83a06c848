// MA-SAM's image encoder (masam-spec §2–3): SAM's ViT parts with FacT on q/v and two 3D adapters per
// block, composed around the unchanged SAM modules. Parameter names stay SAM's checkpoint keys.
import type { Value } from '../../graph/index.js';
import type { ParamScope } from '../../nn/index.js';
import type { MaSamConfig } from '../sam/config.js';
import { ImageEncoderViT } from '../sam/image_encoder.js';
import { MaSamBlock } from './block.js';
import { type DropoutNoise, FactShared } from './fact.js';
import { PARAM_GROUPS } from './trainable.js';

export interface EncoderOutputs {
  /** Neck output [B, P, T, T]. */
  readonly embeddings: Value;
  /** Patch embedding + pos_embed [B, T, T, C] (block 0's input). */
  readonly patchEmbed: Value;
  /** Each block's output [B, T, T, C]. */
  readonly blocks: readonly Value[];
}

export class MaSamImageEncoder {
  readonly sam: ImageEncoderViT;
  readonly fact: FactShared;
  readonly blocks: MaSamBlock[];

  /** `p` is the `image_encoder` scope. */
  constructor(cfg: MaSamConfig, p: ParamScope) {
    this.sam = new ImageEncoderViT(cfg, p);
    this.fact = new FactShared(cfg, p.group(PARAM_GROUPS.fact));
    this.blocks = this.sam.blocks.map((base, i) => new MaSamBlock(cfg, p.pp(`blocks.${i}`), base, this.fact));
  }

  /** x [B = b·d, 3, S, S], stack-major; `slices` = d for the adapters' depth convolution. */
  forward(x: Value, slices: number, noise?: DropoutNoise): EncoderOutputs {
    const patchEmbed = this.sam.embed(x);
    const outputs: Value[] = [];
    let h = patchEmbed;
    for (let i = 0; i < this.blocks.length; i++) {
      h = this.block(i, h, slices, noise);
      outputs.push(h);
    }
    return { embeddings: this.sam.neck.forward(h), patchEmbed, blocks: outputs };
  }

  /** Block i alone (a stage of staged training), traced under its own name scope. */
  block(i: number, h: Value, slices: number, noise?: DropoutNoise): Value {
    return h.graph.withScope(`image_encoder/blocks.${i}`, () => this.blocks[i]!.forward(h, slices, noise));
  }
}
