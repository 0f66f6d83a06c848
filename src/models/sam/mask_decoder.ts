// The MA-SAM mask decoder (MA-SAM's segment_anything/modeling/mask_decoder.py and mask_decoder_bbox.py),
// masam-spec §5: IoU token + num_classes+1 mask tokens (§5.1), batch pairing of tokens and images (§5.2,
// §11, §13 quirk 7), the two-way transformer (§5.3), four ×2 transposed-conv upscaling stages (§5.4),
// hypernetwork MLPs, mask logits and the IoU head (§5.5). `multimask_output` is ignored: all masks are
// returned (§13 quirk 8). Parameter names are the checkpoint keys below `mask_decoder` (spec §7.2).
import { MasamError } from '../../core/errors.js';
import type { Value } from '../../graph/index.js';
import { ConvTranspose2d, Embedding, LayerNorm2d, Mlp, type ParamScope } from '../../nn/index.js';
import * as F from '../../ops/index.js';
import { type MaSamConfig, numMaskTokens } from './config.js';
import { isEmptyTokens, type SparseEmbeddings } from './prompt_encoder.js';
import { TwoWayTransformer } from './transformer.js';

export interface MaskDecoderInputs {
  /** `[B, P, h, w]` (the image encoder's neck output). */
  readonly imageEmbeddings: Value;
  /** `[1, P, h, w]` (`PromptEncoder.getDensePe()`). */
  readonly imagePe: Value;
  /** `[Bt, n, P]` or empty; Bt = 1 (no prompts) broadcasts against B, otherwise Bt = B (one row per image). */
  readonly sparse: SparseEmbeddings;
  /** `[1 or B, P, h, w]`. */
  readonly dense: Value;
}

export interface MaskDecoderOutputs {
  /** Mask logits `[B, K, H, W]` at the full input size (K = num_classes + 1). */
  readonly masks: Value;
  /** `[B, K]` (unused by MA-SAM's loss). */
  readonly iouPred: Value;
  /** Token output of the transformer `[B, 1 + K (+ n), P]`: IoU token, mask tokens, prompt tokens. */
  readonly hs: Value;
  /** Image-side output of the transformer `[B, h·w, P]`. */
  readonly src: Value;
  /** Hypernetwork outputs `[B, K, P/32]`, one row per mask token. */
  readonly hyperIn: Value;
}

/** `output_upscaling`: indices 0, 3, 6, 9 are ConvTranspose2d k = s = 2; 1, 4, 7 LayerNorm2d; GELU between. */
class OutputUpscaling {
  readonly convs: ConvTranspose2d[] = [];
  readonly norms: LayerNorm2d[] = [];
  constructor(dim: number, eps: number, p: ParamScope) {
    const chans = [dim, dim / 4, dim / 8, dim / 16, dim / 32];
    for (let s = 0; s < 4; s++) {
      this.convs.push(new ConvTranspose2d(chans[s]!, chans[s + 1]!, 2, p.pp(`${3 * s}`), 2));
      if (s < 3) this.norms.push(new LayerNorm2d(chans[s + 1]!, p.pp(`${3 * s + 1}`), eps));
    }
  }

  /** `[B, P, h, w]` → `[B, P/32, 16h, 16w]` (spec §5.4: the last stage has no LayerNorm). */
  forward(x: Value): Value {
    let y = x;
    this.convs.forEach((conv, s) => {
      y = conv.forward(y); // [B, C_s, 2^(s+1)·h, 2^(s+1)·w]
      const norm = this.norms[s];
      if (norm) y = norm.forward(y);
      y = F.gelu(y);
    });
    return y;
  }
}

/**
 * MA-SAM's `MaskDecoder` (spec §5). Declares every checkpoint key below its scope: `transformer.*`,
 * `iou_token.weight`, `mask_tokens.weight` (`[num_classes + 1, P]`), `output_upscaling.{0,1,3,4,6,7,9}.*`,
 * `output_hypernetworks_mlps.{m}.layers.{0,1,2}.*`, `iou_prediction_head.layers.*`.
 */
export class MaskDecoder {
  readonly dim: number;
  readonly numMaskTokens: number;
  readonly transformer: TwoWayTransformer;
  readonly iouToken: Embedding;
  readonly maskTokens: Embedding;
  readonly outputUpscaling: OutputUpscaling;
  readonly hypernetworks: Mlp[];
  readonly iouPredictionHead: Mlp;

  constructor(cfg: MaSamConfig, p: ParamScope) {
    const dim = cfg.out_chans;
    if (dim % 32 !== 0) throw new MasamError(`MaskDecoder: out_chans ${dim} is not a multiple of 32`);
    this.dim = dim;
    this.numMaskTokens = numMaskTokens(cfg);
    this.transformer = new TwoWayTransformer(cfg, p.pp('transformer'));
    this.iouToken = new Embedding(1, dim, p.pp('iou_token'));
    this.maskTokens = new Embedding(this.numMaskTokens, dim, p.pp('mask_tokens'));
    this.outputUpscaling = new OutputUpscaling(dim, cfg.layer_norm_eps, p.pp('output_upscaling'));
    this.hypernetworks = Array.from(
      { length: this.numMaskTokens },
      (_, m) => new Mlp(dim, dim, dim / 32, 3, p.pp(`output_hypernetworks_mlps.${m}`)),
    );
    this.iouPredictionHead = new Mlp(
      dim,
      cfg.iou_head_hidden_dim,
      this.numMaskTokens,
      cfg.iou_head_depth,
      p.pp('iou_prediction_head'),
    );
  }

  /**
   * Predicts masks for every image. Batch pairing (spec §5.2): prompt-less tokens (batch 1) are expanded
   * to the B images; prompted tokens (batch B, bbox variant) pair row i with image i, never B² pairs.
   */
  forward(inputs: MaskDecoderInputs): MaskDecoderOutputs {
    const { imageEmbeddings, imagePe, sparse, dense } = inputs;
    const [bImg, c, h, w] = [
      imageEmbeddings.shape[0]!,
      imageEmbeddings.shape[1]!,
      imageEmbeddings.shape[2]!,
      imageEmbeddings.shape[3]!,
    ];
    const bTok = sparse.shape[0]!;
    const b = Math.max(bImg, bTok);
    if ((bImg !== b && bImg !== 1) || (bTok !== b && bTok !== 1) || c !== this.dim) {
      throw new MasamError(
        `MaskDecoder: image embeddings ${imageEmbeddings} and ${bTok} prompt rows do not pair (P = ${this.dim})`,
      );
    }
    // [1 + K, P] → [1, 1 + K, P] → [b, 1 + K, P]; then the prompt tokens: [b, 1 + K + n, P]
    const outputTokens = F.concat([this.iouToken.weight, this.maskTokens.weight], 0);
    const nOut = 1 + this.numMaskTokens;
    let tokens = F.expand(F.reshape(outputTokens, [1, nOut, this.dim]), [b, nOut, this.dim]);
    if (!isEmptyTokens(sparse))
      tokens = F.concat([tokens, F.expand(sparse, [b, ...sparse.shape.slice(1)])], 1);
    // No repeat_interleave of the images: [B, P, h, w] + dense [1 or B, P, h, w] → [b, P, h, w]
    const src = F.expand(F.add(imageEmbeddings, dense), [b, c, h, w]);

    const { queries: hs, keys } = this.transformer.forward(src, imagePe, tokens);
    const iouTokenOut = F.reshape(F.sliceAxis(hs, 1, 0, 1), [b, this.dim]); // [b, 1, P] → [b, P]

    // [b, h·w, P] → [b, P, h·w] → [b, P, h, w]
    const srcImage = F.reshape(F.transpose(keys, [0, 2, 1]), [b, c, h, w]);
    const upscaled = this.outputUpscaling.forward(srcImage); // [b, P/32, 16h, 16w]

    const hyper = this.hypernetworks.map((mlp, m) => {
      const token = F.sliceAxis(hs, 1, 1 + m, 2 + m); // [b, 1, P]
      return mlp.forward(token); // [b, 1, P/32]
    });
    const hyperIn = F.concat(hyper, 1); // [b, K, P/32]
    const [cu, hu, wu] = [upscaled.shape[1]!, upscaled.shape[2]!, upscaled.shape[3]!];
    // [b, K, P/32] @ [b, P/32, H·W] → [b, K, H·W] → [b, K, H, W]
    const flatUp = F.reshape(upscaled, [b, cu, hu * wu]);
    const masks = F.reshape(F.matmul(hyperIn, flatUp), [b, this.numMaskTokens, hu, wu]);
    const iouPred = this.iouPredictionHead.forward(iouTokenOut); // [b, K]
    return { masks, iouPred, hs, src: keys, hyperIn };
  }
}
