// SAM's prompt encoder (segment_anything/modeling/prompt_encoder.py) as MA-SAM uses it, masam-spec §4:
// random-Fourier positional encoding (§4.1) and its dense grid (§4.2), the no-prompt path (§4.3, what
// MA-SAM runs), points (§4.4), boxes (§4.5, the bbox variant of §11) and the mask-prompt branch (§4.6).
// Parameter names are the checkpoint keys below `prompt_encoder` (spec §7.2).
import { MasamError } from '../../core/errors.js';
import { hostTensor } from '../../core/host_tensor.js';
import { Value } from '../../graph/index.js';
import { BUFFER_GROUP, Conv, Embedding, LayerNorm2d, normal, type ParamScope } from '../../nn/index.js';
import * as F from '../../ops/index.js';
import { type MaSamConfig, tokenGrid } from './config.js';

/**
 * "No sparse prompts": the zero-size `[Bt, 0, P]` tensor SAM returns, kept as a shape only (the graph
 * engine has no zero-size values). The mask decoder appends nothing to its output tokens for it.
 */
export interface EmptyTokens {
  readonly kind: 'empty';
  readonly shape: readonly [number, 0, number];
}

/** Sparse prompt embeddings `[Bt, n, P]`, or their absence. */
export type SparseEmbeddings = Value | EmptyTokens;

/** True when `s` stands for SAM's empty `[Bt, 0, P]` sparse embeddings. */
export function isEmptyTokens(s: SparseEmbeddings): s is EmptyTokens {
  return !(s instanceof Value);
}

/** Point prompts (spec §4.4): `(x, y)` pixels of the model-input frame and labels (−1, 0 or 1). */
export interface PointPrompts {
  /** `[Bt, N, 2]` float32. */
  readonly coords: Value;
  /** `[Bt, N]`, any numeric dtype; −1 = padding / not a point, 0 = background, 1 = foreground. */
  readonly labels: Value;
}

export interface PromptInputs {
  readonly points?: PointPrompts;
  /** `[Bt, 4]` float32 boxes `x1, y1, x2, y2` in input pixels (spec §4.5). */
  readonly boxes?: Value;
  /** `[Bt, 1, 4h, 4w]` float32 mask prompts (spec §4.6). */
  readonly masks?: Value;
  /**
   * Token batch when no prompt gives one (SAM's `_get_batch_size` returns 1; default 1). When prompts
   * are given it must agree with their batch.
   */
  readonly batch?: number;
}

export interface PromptEmbeddings {
  /** `[Bt, n, P]`: points (and their padding point) first, then the two corners of each box. */
  readonly sparse: SparseEmbeddings;
  /** `[Bt, P, h, w]`. */
  readonly dense: Value;
}

/** `_pe_encoding` multiplies by 2π after the projection (becomes a float32 scalar in the graph). */
const TWO_PI = 2 * Math.PI;

/**
 * SAM's `PositionEmbeddingRandom` (spec §4.1): `PE(x, y) = [sin(p), cos(p)]`, `p = 2π·((2·(x, y) − 1)·G)`
 * with the Gaussian buffer `G` `[2, P/2]` (`pe_layer.positional_encoding_gaussian_matrix`).
 */
export class PositionEmbeddingRandom {
  readonly gaussian: Value;
  constructor(numPosFeats: number, p: ParamScope) {
    // A persistent buffer, not a parameter: saved in checkpoints, never trained.
    this.gaussian = p
      .group(BUFFER_GROUP)
      .param('positional_encoding_gaussian_matrix', [2, numPosFeats], normal(1));
  }

  /** `coords` `[..., 2]` in [0, 1]² (x, y) → `[..., P]` (all sines, then all cosines). */
  encode(coords: Value): Value {
    const u = F.sub(F.mul(coords, 2), 1);
    const proj = F.mul(F.matmul(u, this.gaussian), TWO_PI); // [..., P/2]
    return F.concat([F.sin(proj), F.cos(proj)], -1);
  }

  /**
   * The dense grid PE `[1, P, h, w]` (spec §4.2). The cell centres are built on the host in float32,
   * rounding step by step as PyTorch does (`(cumsum − 0.5) / h`, then `2·c − 1`).
   */
  grid(h: number, w: number): Value {
    const data = new Float32Array(h * w * 2);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const x = Math.fround((j + 0.5) / w);
        const y = Math.fround((i + 0.5) / h);
        data[(i * w + j) * 2] = Math.fround(2 * x - 1);
        data[(i * w + j) * 2 + 1] = Math.fround(2 * y - 1);
      }
    }
    const u = F.constant(hostTensor('float32', [h, w, 2], data), this.gaussian);
    const proj = F.mul(F.matmul(u, this.gaussian), TWO_PI); // [h, w, 2] @ [2, P/2] → [h, w, P/2]
    const pe = F.concat([F.sin(proj), F.cos(proj)], -1); // [h, w, P]
    const chw = F.transpose(pe, [2, 0, 1]); // [h, w, P] → [P, h, w]
    return F.reshape(chw, [1, chw.shape[0]!, h, w]); // [P, h, w] → [1, P, h, w]
  }

  /** Pixel coordinates `[..., 2]` (x, y) in an image of `size` = [H, W] → `[..., P]` (forward_with_coords). */
  encodeCoords(coords: Value, size: readonly [number, number]): Value {
    const scale = F.constant(hostTensor('float32', [2], Float32Array.of(size[1], size[0])), coords);
    return this.encode(F.div(coords, scale));
  }
}

/**
 * SAM's `PromptEncoder` (spec §4). Declares every checkpoint key below its scope:
 * `pe_layer.positional_encoding_gaussian_matrix`, `point_embeddings.{0..3}.weight`,
 * `not_a_point_embed.weight`, `mask_downscaling.{0,1,3,4,6}.*`, `no_mask_embed.weight`.
 */
export class PromptEncoder {
  readonly embedDim: number;
  /** Token grid side of the image embeddings (h = w = img_size / patch_size). */
  readonly grid: number;
  readonly imgSize: number;
  readonly peLayer: PositionEmbeddingRandom;
  /** Label 0, label 1, box corner 0, box corner 1. */
  readonly pointEmbeddings: Embedding[];
  readonly notAPointEmbed: Embedding;
  readonly noMaskEmbed: Embedding;
  private readonly maskConv1: Conv;
  private readonly maskNorm1: LayerNorm2d;
  private readonly maskConv2: Conv;
  private readonly maskNorm2: LayerNorm2d;
  private readonly maskConv3: Conv;

  constructor(cfg: MaSamConfig, p: ParamScope) {
    const dim = cfg.out_chans;
    const mc = cfg.mask_in_chans;
    this.embedDim = dim;
    this.grid = tokenGrid(cfg);
    this.imgSize = cfg.img_size;
    this.peLayer = new PositionEmbeddingRandom(dim / 2, p.pp('pe_layer'));
    this.pointEmbeddings = [0, 1, 2, 3].map((i) => new Embedding(1, dim, p.pp(`point_embeddings.${i}`)));
    this.notAPointEmbed = new Embedding(1, dim, p.pp('not_a_point_embed'));
    const md = p.pp('mask_downscaling');
    this.maskConv1 = new Conv(1, mc / 4, [2, 2], md.pp('0'), { stride: 2 });
    this.maskNorm1 = new LayerNorm2d(mc / 4, md.pp('1'), cfg.layer_norm_eps);
    this.maskConv2 = new Conv(mc / 4, mc, [2, 2], md.pp('3'), { stride: 2 });
    this.maskNorm2 = new LayerNorm2d(mc, md.pp('4'), cfg.layer_norm_eps);
    this.maskConv3 = new Conv(mc, dim, [1, 1], md.pp('6'));
    this.noMaskEmbed = new Embedding(1, dim, p.pp('no_mask_embed'));
  }

  /** The positional encoding of the image embedding grid, `[1, P, h, w]` (spec §4.2). */
  getDensePe(): Value {
    return this.peLayer.grid(this.grid, this.grid);
  }

  /** Sparse and dense embeddings of the prompts (spec §4.3–4.6). */
  forward(inputs: PromptInputs): PromptEmbeddings {
    const bt = this.batchSize(inputs);
    const parts: Value[] = [];
    if (inputs.points) parts.push(this.embedPoints(inputs.points, inputs.boxes === undefined));
    if (inputs.boxes) parts.push(this.embedBoxes(inputs.boxes));
    const sparse: SparseEmbeddings =
      parts.length > 0 ? F.concat(parts, 1) : { kind: 'empty', shape: [bt, 0, this.embedDim] };
    const dense = inputs.masks
      ? this.embedMasks(inputs.masks)
      : // [1, P] → [1, P, 1, 1] → [Bt, P, h, w]
        F.expand(F.reshape(this.noMaskEmbed.weight, [1, this.embedDim, 1, 1]), [
          bt,
          this.embedDim,
          this.grid,
          this.grid,
        ]);
    return { sparse, dense };
  }

  private batchSize(inputs: PromptInputs): number {
    const sizes = [inputs.points?.coords, inputs.boxes, inputs.masks].flatMap((v) =>
      v ? [v.shape[0]!] : [],
    );
    const bt = sizes[0] ?? inputs.batch ?? 1;
    if (sizes.some((s) => s !== bt) || (inputs.batch !== undefined && inputs.batch !== bt)) {
      throw new MasamError(
        `PromptEncoder: prompt batches disagree (${[...sizes, inputs.batch].filter((s) => s !== undefined).join(', ')})`,
      );
    }
    return bt;
  }

  /** Points `[Bt, N, 2]` + labels `[Bt, N]` → `[Bt, N(+1), P]` (spec §4.4). */
  private embedPoints(points: PointPrompts, pad: boolean): Value {
    const { coords, labels } = points;
    const [bt, n] = [coords.shape[0]!, coords.shape[1]!];
    if (coords.rank !== 3 || coords.shape[2] !== 2 || labels.rank !== 2 || labels.shape[1] !== n) {
      throw new MasamError(`PromptEncoder: points ${coords} / labels ${labels} must be [B, N, 2] / [B, N]`);
    }
    const pe = this.peLayer.encodeCoords(F.add(coords, 0.5), [this.imgSize, this.imgSize]); // [Bt, N, P]
    const lab = F.reshape(labels, [bt, n, 1]); // [Bt, N] → [Bt, N, 1]
    const is = (v: number): Value => F.cast(F.equal(lab, v), 'float32'); // [Bt, N, 1]
    const [pe0, pe1] = [this.pointEmbeddings[0]!.weight, this.pointEmbeddings[1]!.weight]; // [1, P]
    let emb = F.where(F.equal(lab, -1), 0, pe); // label −1: the PE is dropped
    emb = F.add(emb, F.mul(is(-1), this.notAPointEmbed.weight));
    emb = F.add(emb, F.mul(is(0), pe0));
    emb = F.add(emb, F.mul(is(1), pe1));
    if (!pad) return emb;
    // The padding point (label −1) contributes only not_a_point_embed: [1, P] → [Bt, 1, P].
    const padding = F.expand(F.reshape(this.notAPointEmbed.weight, [1, 1, this.embedDim]), [
      bt,
      1,
      this.embedDim,
    ]);
    return F.concat([emb, padding], 1);
  }

  /** Boxes `[Bt, 4]` → corner embeddings `[Bt, 2, P]` (spec §4.5). */
  private embedBoxes(boxes: Value): Value {
    if (boxes.rank !== 2 || boxes.shape[1] !== 4)
      throw new MasamError(`PromptEncoder: boxes ${boxes} must be [B, 4]`);
    const corners = F.reshape(F.add(boxes, 0.5), [boxes.shape[0]!, 2, 2]); // [Bt, 4] → [Bt, 2, 2]
    const pe = this.peLayer.encodeCoords(corners, [this.imgSize, this.imgSize]); // [Bt, 2, P]
    const cornerEmbed = F.concat([this.pointEmbeddings[2]!.weight, this.pointEmbeddings[3]!.weight], 0); // [2, P]
    return F.add(pe, cornerEmbed);
  }

  /** Mask prompts `[Bt, 1, 4h, 4w]` → `[Bt, P, h, w]` (spec §4.6). */
  private embedMasks(masks: Value): Value {
    let x = F.gelu(this.maskNorm1.forward(this.maskConv1.forward(masks))); // [Bt, mc/4, 2h, 2w]
    x = F.gelu(this.maskNorm2.forward(this.maskConv2.forward(x))); // [Bt, mc, h, w]
    return this.maskConv3.forward(x); // [Bt, P, h, w]
  }
}
