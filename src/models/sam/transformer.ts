// SAM's two-way transformer (segment_anything/modeling/transformer.py), masam-spec §5.3: attention with a
// downsampled internal width, the two-way attention block (self-attention of the tokens, token→image and
// image→token cross-attention, ReLU MLP) and the final token→image attention. Its LayerNorms use
// `decoder_layer_norm_eps` (1e-5, PyTorch's default; spec §13 quirk 5), not the encoder's `layer_norm_eps`.
// Parameter names are the checkpoint keys below `mask_decoder.transformer` (spec §7.2).
import { MasamError } from '../../core/errors.js';
import type { Value } from '../../graph/index.js';
import { LayerNorm, Linear, type ParamScope } from '../../nn/index.js';
import * as F from '../../ops/index.js';
import type { MaSamConfig } from './config.js';

/**
 * SAM's decoder `Attention` (spec §5.3): q/k/v projections to `E = dim / downsampleRate`, `heads` heads of
 * width `c = E / heads`, `softmax(q·kᵀ / √c)·v`, heads merged as `head·c + j`, projection back to `dim`.
 */
export class Attention {
  readonly internalDim: number;
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly outProj: Linear;

  constructor(
    dim: number,
    readonly numHeads: number,
    p: ParamScope,
    downsampleRate = 1,
  ) {
    this.internalDim = dim / downsampleRate;
    if (!Number.isInteger(this.internalDim) || this.internalDim % numHeads !== 0) {
      throw new MasamError(`Attention: ${dim}/${downsampleRate} is not divisible by ${numHeads} heads`);
    }
    this.qProj = new Linear(dim, this.internalDim, p.pp('q_proj'));
    this.kProj = new Linear(dim, this.internalDim, p.pp('k_proj'));
    this.vProj = new Linear(dim, this.internalDim, p.pp('v_proj'));
    this.outProj = new Linear(this.internalDim, dim, p.pp('out_proj'));
  }

  /** `q` `[b, Nq, dim]`, `k`/`v` `[b, Nk, dim]` (batches broadcast) → `[b, Nq, dim]`. */
  forward(q: Value, k: Value, v: Value): Value {
    const qh = this.separateHeads(this.qProj.forward(q)); // [b, heads, Nq, c]
    const kh = this.separateHeads(this.kProj.forward(k)); // [b, heads, Nk, c]
    const vh = this.separateHeads(this.vProj.forward(v)); // [b, heads, Nk, c]
    const c = this.internalDim / this.numHeads;
    // q·kᵀ, then divided by √c (spec: the scale is applied after the product, as a division)
    const logits = F.div(F.matmul(qh, F.transpose(kh, [0, 1, 3, 2])), Math.sqrt(c)); // [b, heads, Nq, Nk]
    const out = F.matmul(F.softmax(logits, -1), vh); // [b, heads, Nq, c]
    return this.outProj.forward(this.recombineHeads(out));
  }

  private separateHeads(x: Value): Value {
    const [b, n, e] = [x.shape[0]!, x.shape[1]!, x.shape[2]!];
    const split = F.reshape(x, [b, n, this.numHeads, e / this.numHeads]); // [b, n, E] → [b, n, heads, c]
    return F.transpose(split, [0, 2, 1, 3]); // → [b, heads, n, c]
  }

  private recombineHeads(x: Value): Value {
    const [b, h, n, c] = [x.shape[0]!, x.shape[1]!, x.shape[2]!, x.shape[3]!];
    const t = F.transpose(x, [0, 2, 1, 3]); // [b, heads, n, c] → [b, n, heads, c]
    return F.reshape(t, [b, n, h * c]); // → [b, n, E] (channel = head·c + j)
  }
}

/** SAM's `MLPBlock` with ReLU: `lin2(relu(lin1(x)))`. */
export class MlpBlock {
  readonly lin1: Linear;
  readonly lin2: Linear;
  constructor(dim: number, hidden: number, p: ParamScope) {
    this.lin1 = new Linear(dim, hidden, p.pp('lin1'));
    this.lin2 = new Linear(hidden, dim, p.pp('lin2'));
  }

  forward(x: Value): Value {
    return this.lin2.forward(F.relu(this.lin1.forward(x)));
  }
}

/** Queries (tokens) and keys (image positions) flowing through the two-way transformer. */
export interface TwoWayState {
  /** `[B, Nt, P]`. */
  readonly queries: Value;
  /** `[B, h·w, P]`. */
  readonly keys: Value;
}

/**
 * SAM's `TwoWayAttentionBlock` (spec §5.3, steps 1–4): self-attention of the tokens (without residual and
 * PE in the first layer, `skipFirstLayerPe`), token→image cross-attention, ReLU MLP, image→token
 * cross-attention; a LayerNorm (`norm1`–`norm4`) after each.
 */
export class TwoWayAttentionBlock {
  readonly selfAttn: Attention;
  readonly crossAttnTokenToImage: Attention;
  readonly crossAttnImageToToken: Attention;
  readonly mlp: MlpBlock;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly norm3: LayerNorm;
  readonly norm4: LayerNorm;

  constructor(
    cfg: MaSamConfig,
    p: ParamScope,
    readonly skipFirstLayerPe: boolean,
    attentionDownsampleRate = 2,
  ) {
    const dim = cfg.out_chans;
    const heads = cfg.decoder_num_heads;
    const eps = cfg.decoder_layer_norm_eps;
    this.selfAttn = new Attention(dim, heads, p.pp('self_attn'));
    this.norm1 = new LayerNorm(dim, p.pp('norm1'), eps);
    this.crossAttnTokenToImage = new Attention(
      dim,
      heads,
      p.pp('cross_attn_token_to_image'),
      attentionDownsampleRate,
    );
    this.norm2 = new LayerNorm(dim, p.pp('norm2'), eps);
    this.mlp = new MlpBlock(dim, cfg.decoder_mlp_dim, p.pp('mlp'));
    this.norm3 = new LayerNorm(dim, p.pp('norm3'), eps);
    this.norm4 = new LayerNorm(dim, p.pp('norm4'), eps);
    this.crossAttnImageToToken = new Attention(
      dim,
      heads,
      p.pp('cross_attn_image_to_token'),
      attentionDownsampleRate,
    );
  }

  forward(state: TwoWayState, queryPe: Value, keyPe: Value): TwoWayState {
    let { queries, keys } = state;
    // 1. self-attention of the tokens
    if (this.skipFirstLayerPe) {
      queries = this.selfAttn.forward(queries, queries, queries);
    } else {
      const q = F.add(queries, queryPe);
      queries = F.add(queries, this.selfAttn.forward(q, q, queries));
    }
    queries = this.norm1.forward(queries);
    // 2. tokens attend to the image
    let q = F.add(queries, queryPe);
    let k = F.add(keys, keyPe);
    queries = this.norm2.forward(F.add(queries, this.crossAttnTokenToImage.forward(q, k, keys)));
    // 3. MLP on the tokens
    queries = this.norm3.forward(F.add(queries, this.mlp.forward(queries)));
    // 4. the image attends to the tokens (keys act as queries)
    q = F.add(queries, queryPe);
    k = F.add(keys, keyPe);
    keys = this.norm4.forward(F.add(keys, this.crossAttnImageToToken.forward(k, q, queries)));
    return { queries, keys };
  }
}

/**
 * SAM's `TwoWayTransformer` (spec §5.3): `decoder_transformer_depth` two-way blocks, then a final
 * token→image attention with `norm_final_attn`. The initial tokens are the queries' positional encoding
 * in every layer.
 */
export class TwoWayTransformer {
  readonly layers: TwoWayAttentionBlock[];
  readonly finalAttnTokenToImage: Attention;
  readonly normFinalAttn: LayerNorm;

  constructor(cfg: MaSamConfig, p: ParamScope) {
    this.layers = Array.from(
      { length: cfg.decoder_transformer_depth },
      (_, i) => new TwoWayAttentionBlock(cfg, p.pp(`layers.${i}`), i === 0),
    );
    this.finalAttnTokenToImage = new Attention(
      cfg.out_chans,
      cfg.decoder_num_heads,
      p.pp('final_attn_token_to_image'),
      2,
    );
    this.normFinalAttn = new LayerNorm(cfg.out_chans, p.pp('norm_final_attn'), cfg.decoder_layer_norm_eps);
  }

  /**
   * `imageEmbedding` `[B, P, h, w]`, `imagePe` `[1 or B, P, h, w]`, `pointEmbedding` (the tokens)
   * `[B, Nt, P]` → queries `[B, Nt, P]` (the decoder's `hs`) and keys `[B, h·w, P]` (its `src`).
   */
  forward(imageEmbedding: Value, imagePe: Value, pointEmbedding: Value): TwoWayState {
    const flat = (x: Value): Value => {
      const [b, c, h, w] = [x.shape[0]!, x.shape[1]!, x.shape[2]!, x.shape[3]!];
      // [b, C, h, w] → [b, C, h·w] → [b, h·w, C] (token index i·w + j)
      return F.transpose(F.reshape(x, [b, c, h * w]), [0, 2, 1]);
    };
    const keyPe = flat(imagePe);
    let state: TwoWayState = { queries: pointEmbedding, keys: flat(imageEmbedding) };
    for (const layer of this.layers) state = layer.forward(state, pointEmbedding, keyPe);
    const { queries, keys } = state;
    const q = F.add(queries, pointEmbedding);
    const k = F.add(keys, keyPe);
    const attnOut = this.finalAttnTokenToImage.forward(q, k, keys);
    return { queries: this.normFinalAttn.forward(F.add(queries, attnOut)), keys };
  }
}
