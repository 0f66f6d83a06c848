// The MA-SAM model (masam-spec §6): input normalisation, the adapted image encoder over b·d slices, SAM's
// prompt encoder and the MA-SAM mask decoder. Builds graphs only; runtime/ and train/ run them.
import { float32 } from '../../core/host_tensor.js';
import { Graph, type Value } from '../../graph/index.js';
import { ParamScope, ParamSource } from '../../nn/index.js';
import * as F from '../../ops/index.js';
import type { MaSamConfig } from '../sam/config.js';
import { MaskDecoder } from '../sam/mask_decoder.js';
import { type PointPrompts, PromptEncoder } from '../sam/prompt_encoder.js';
import type { DropoutNoise } from './fact.js';
import { MaSamImageEncoder } from './masam_encoder.js';
import { PARAM_GROUPS } from './trainable.js';

export interface MaSamOutputs {
  /** Decoder mask logits [b·d, K, H, W] (already at full size; spec §6.3). */
  readonly lowResLogits: Value;
  /** Logits resized to the input size: an identity at img_size, as in the official post-processing. */
  readonly masks: Value;
  readonly iouPredictions: Value;
  /** Neck output [b·d, P, T, T]. */
  readonly imageEmbeddings: Value;
  readonly intermediates: Readonly<Record<string, Value>>;
}

export interface MaSamForwardOptions {
  /** Training-mode FacT dropout noise; omitted in eval mode. */
  readonly noise?: DropoutNoise;
  /** Box prompts [b·d, 4] in input pixels (the box-prompted variant); one box per image. */
  readonly boxes?: Value;
  /** Point prompts per image (SAM semantics, spec §4.4): coords [b·d, P, 2], labels [b·d, P] (−1 = none). */
  readonly points?: PointPrompts;
}

export class MaSam {
  readonly encoder: MaSamImageEncoder;
  readonly promptEncoder: PromptEncoder;
  readonly maskDecoder: MaskDecoder;

  constructor(
    readonly cfg: MaSamConfig,
    root: ParamScope,
  ) {
    this.encoder = new MaSamImageEncoder(cfg, root.pp('image_encoder'));
    this.promptEncoder = new PromptEncoder(cfg, root.pp('prompt_encoder').group(PARAM_GROUPS.promptEncoder));
    this.maskDecoder = new MaskDecoder(cfg, root.pp('mask_decoder').group(PARAM_GROUPS.maskDecoder));
  }

  /**
   * image [b, d, 3, S, S] with values on the 0–1 scale. The same three stages that staged training runs
   * one by one (train/executor.ts): embed → every block → head.
   */
  forward(image: Value, options: MaSamForwardOptions = {}): MaSamOutputs {
    const slices = image.shape[1]!;
    const patchEmbed = this.embed(image);
    const blocks: Value[] = [];
    let h = patchEmbed;
    for (let i = 0; i < this.cfg.depth; i++) {
      h = this.block(i, h, slices, options.noise);
      blocks.push(h);
    }
    const head = this.head(h, options);
    const intermediates: Record<string, Value> = { patch_embed: patchEmbed, ...head.intermediates };
    blocks.forEach((v, i) => {
      intermediates[`block_${String(i).padStart(2, '0')}`] = v;
    });
    return { ...head, intermediates };
  }

  /** Stage 'embed': image [b, d, 3, S, S] (0–1 scale) → normalised → patch tokens + positions [b·d, T, T, C]. */
  embed(image: Value): Value {
    const [b, d, c, h, w] = image.shape as [number, number, number, number, number];
    const mean = F.constant(float32([1, 1, c, 1, 1], this.cfg.pixel_mean), image, 'pixel_mean');
    const std = F.constant(float32([1, 1, c, 1, 1], this.cfg.pixel_std), image, 'pixel_std');
    // [b, d, 3, S, S] → [b·d, 3, S, S], stack-major (image index = stack·d + slice)
    const x = F.reshape(F.div(F.sub(image, mean), std), [b * d, c, h, w]);
    return this.encoder.sam.embed(x);
  }

  /** Stage 'block i': tokens [b·d, T, T, C] → tokens; `slices` = d for the adapters' depth convolution. */
  block(i: number, tokens: Value, slices: number, noise?: DropoutNoise): Value {
    return this.encoder.block(i, tokens, slices, noise);
  }

  /** Stage 'head': the last block's tokens → neck → prompt encoder + mask decoder → logits. */
  head(
    tokens: Value,
    prompts: Pick<MaSamForwardOptions, 'boxes' | 'points'> = {},
  ): Omit<MaSamOutputs, 'intermediates'> & { intermediates: Record<string, Value> } {
    return this.decode(this.neck(tokens), prompts);
  }

  /** The encoder's neck: the last block's tokens [n, T, T, C] → image embeddings [n, P, T, T]. */
  neck(tokens: Value): Value {
    return this.encoder.sam.neck.forward(tokens);
  }

  /**
   * Prompt encoder + mask decoder on image embeddings [n, P, T, T]: the half of the model that runs per
   * prompt. Each image is decoded on its own (the 3D adapters live in the encoder), so a decoder graph
   * for one image serves every slice of a stack (infer/stack_model.ts).
   */
  decode(
    embeddings: Value,
    prompts: Pick<MaSamForwardOptions, 'boxes' | 'points'> = {},
  ): Omit<MaSamOutputs, 'intermediates'> & { intermediates: Record<string, Value> } {
    const g = embeddings.graph;
    const n = embeddings.shape[0]!;
    const { sparse, dense } = g.withScope('prompt_encoder', () =>
      this.promptEncoder.forward({
        ...(prompts.boxes && { boxes: prompts.boxes }),
        ...(prompts.points && { points: prompts.points }),
      }),
    );
    const imagePe = g.withScope('prompt_encoder', () => this.promptEncoder.getDensePe());
    const dec = g.withScope('mask_decoder', () =>
      this.maskDecoder.forward({ imageEmbeddings: embeddings, imagePe, sparse, dense }),
    );
    const size = this.cfg.img_size;
    const masks = F.resize(dec.masks, [n, dec.masks.shape[1]!, size, size], 'linear');
    return {
      lowResLogits: dec.masks,
      masks,
      iouPredictions: dec.iouPred,
      imageEmbeddings: embeddings,
      intermediates: {
        dense_embeddings: dense,
        dense_pe: imagePe,
        decoder_hs: dec.hs,
        decoder_src: dec.src,
        hyper_in: dec.hyperIn,
      },
    };
  }
}

/**
 * The prompt inputs of the box-prompted variant over `images` images — 'boxes' [n, 4] and, with point
 * slots, 'point_coords' [n, P, 2] and 'point_labels' [n, P] — named as exported models take them.
 */
export function promptGraphInputs(
  graph: Graph,
  images: number,
  pointSlots: number,
): Pick<MaSamForwardOptions, 'boxes' | 'points'> {
  return {
    boxes: graph.input('boxes', 'float32', [images, 4]),
    ...(pointSlots > 0 && {
      points: {
        coords: graph.input('point_coords', 'float32', [images, pointSlots, 2]),
        labels: graph.input('point_labels', 'float32', [images, pointSlots]),
      },
    }),
  };
}

/** Every parameter of a config's model with its shape and group, without allocating weights. */
export function declareMaSamParams(cfg: MaSamConfig): {
  shapes: Map<string, readonly number[]>;
  groups: Map<string, string>;
} {
  const source = new ParamSource({ graph: new Graph(), weights: new Map(), shapesOnly: true });
  new MaSam(cfg, new ParamScope(source));
  return { shapes: new Map(source.shapes), groups: new Map(source.groups) };
}
