// SAM's ViT image encoder (segment_anything/modeling/image_encoder.py; masam-spec §2): patch embedding,
// absolute positions, windowed/global attention blocks with decomposed relative positions, and the neck.
// MA-SAM adapts it by composition: its blocks (models/masam/block.ts) reuse the parts exported here.
import type { Value } from '../../graph/index.js';
import { hostTensor } from '../../core/host_tensor.js';
import * as F from '../../ops/index.js';
import { Conv, LayerNorm, LayerNorm2d, Linear, type ParamScope, zeros } from '../../nn/index.js';
import { type MaSamConfig, tokenGrid } from './config.js';

/** Conv 16×16 stride 16, permuted channels-last: [B, 3, S, S] → [B, T, T, C]. */
export class PatchEmbed {
  private readonly proj: Conv;
  constructor(cfg: MaSamConfig, p: ParamScope) {
    this.proj = new Conv(cfg.in_chans, cfg.embed_dim, [cfg.patch_size, cfg.patch_size], p.pp('proj'), {
      stride: cfg.patch_size,
    });
  }

  forward(x: Value): Value {
    return F.transpose(this.proj.forward(x), [0, 2, 3, 1]); // [B, C, T, T] → [B, T, T, C]
  }
}

/** Rows of a relative-position table for q/k grids of one side (spec §2.6); resizes it when its length differs. */
export function getRelPos(qSize: number, kSize: number, table: Value): Value {
  const m = 2 * Math.max(qSize, kSize) - 1;
  const hd = table.shape[1]!;
  // [L, hd] seen as a [1, 1, L, hd] image, linear along L (runtime path; loading normally resizes already)
  const rows =
    table.shape[0] === m
      ? table
      : F.reshape(F.resize(F.reshape(table, [1, 1, table.shape[0]!, hd]), [1, 1, m, hd], 'linear'), [m, hd]);
  const idx = hostTensor('int64', [qSize, kSize]);
  const qScale = Math.max(kSize / qSize, 1);
  const kScale = Math.max(qSize / kSize, 1);
  for (let i = 0; i < qSize; i++) {
    for (let j = 0; j < kSize; j++)
      idx.data[i * kSize + j] = BigInt(Math.trunc(i * qScale - j * kScale + (kSize - 1) * kScale));
  }
  return F.gather(rows, F.constant(idx, table), 0); // [qSize, kSize, hd]
}

export interface AttentionOptions {
  /** Optional additive increments to the q and v parts of qkv (MA-SAM's FacT), from the attention input. */
  readonly qkvDelta?: (x: Value) => { readonly q: Value; readonly v: Value };
  /** A replacement qkv weight [3C, C] (MA-SAM's FacT merged into the frozen weight for inference). */
  readonly qkvWeight?: Value;
}

/** Multi-head self-attention with decomposed relative positions (spec §2.5). */
export class Attention {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly relPosH: Value | null;
  readonly relPosW: Value | null;
  private readonly heads: number;

  constructor(cfg: MaSamConfig, p: ParamScope, inputSize: number) {
    const dim = cfg.embed_dim;
    this.heads = cfg.num_heads;
    this.qkv = new Linear(dim, 3 * dim, p.pp('qkv'), { bias: cfg.qkv_bias });
    this.proj = new Linear(dim, dim, p.pp('proj'));
    const hd = dim / cfg.num_heads;
    this.relPosH = cfg.use_rel_pos ? p.param('rel_pos_h', [2 * inputSize - 1, hd], zeros) : null;
    this.relPosW = cfg.use_rel_pos ? p.param('rel_pos_w', [2 * inputSize - 1, hd], zeros) : null;
  }

  /** proj(attend(qkv(x))): attention over the whole token grid (global blocks, and SAM's plain path). */
  forward(x: Value, options: AttentionOptions = {}): Value {
    return this.proj.forward(this.attend(this.withBias(this.project(x, options))));
  }

  /** x [B', H, W, C] → x·W_qkvᵀ (+ FacT's q/v updates) [B', H, W, 3C], without the bias. */
  project(x: Value, options: AttentionOptions = {}): Value {
    const c = x.shape[3]!;
    let qkv = F.matmul(x, F.transpose(options.qkvWeight ?? this.qkv.weight, [1, 0]));
    if (options.qkvDelta) {
      const { q, v } = options.qkvDelta(x);
      const [pq, pk, pv] = F.split(qkv, [c, c, c], -1);
      qkv = F.concat([F.add(pq!, q), pk!, F.add(pv!, v)], -1);
    }
    return qkv;
  }

  /** Adds the qkv bias (when the layer has one). */
  withBias(qkv: Value): Value {
    return this.qkv.bias ? F.add(qkv, this.qkv.bias) : qkv;
  }

  /** Multi-head attention with relative positions from projected qkv [B', H, W, 3C] → [B', H, W, C] (no proj). */
  attend(qkv: Value): Value {
    const [b, h, w, c3] = qkv.shape as [number, number, number, number];
    const c = c3 / 3;
    const nh = this.heads;
    const hd = c / nh;
    // [B', H, W, 3C] → [B', HW, 3, nh, hd] → [3, B', nh, HW, hd] → q, k, v [B'·nh, HW, hd]
    const parts = F.transpose(F.reshape(qkv, [b, h * w, 3, nh, hd]), [2, 0, 3, 1, 4]);
    const [q, k, v] = F.split(parts, [1, 1, 1], 0).map((t) => F.reshape(t, [b * nh, h * w, hd])) as [
      Value,
      Value,
      Value,
    ];
    let attn = F.matmul(F.mul(q, hd ** -0.5), F.transpose(k, [0, 2, 1])); // [B'·nh, HW, HW]
    if (this.relPosH && this.relPosW) attn = addDecomposedRelPos(attn, q, this.relPosH, this.relPosW, [h, w]);
    const out = F.matmul(F.softmax(attn, -1), v); // [B'·nh, HW, hd]
    // [B'·nh, HW, hd] → [B', nh, H, W, hd] → [B', H, W, nh, hd] → [B', H, W, C]
    return F.reshape(F.transpose(F.reshape(out, [b, nh, h, w, hd]), [0, 2, 3, 1, 4]), [b, h, w, c]);
  }
}

/** attn[(i,j),(k,l)] += Σ_c q[(i,j),c]·Rh[i,k,c] + Σ_c q[(i,j),c]·Rw[j,l,c], q unscaled (spec §2.5 step 4). */
function addDecomposedRelPos(
  attn: Value,
  q: Value,
  tableH: Value,
  tableW: Value,
  [h, w]: [number, number],
): Value {
  const bn = q.shape[0]!;
  const hd = q.shape[2]!;
  const rh = getRelPos(h, h, tableH); // [H, H, hd]
  const rw = getRelPos(w, w, tableW); // [W, W, hd]
  const rq = F.reshape(q, [bn, h, w, hd]);
  // rel_h[b, i, j, k] = Σ_c rq[b, i, j, c]·Rh[i, k, c]: batch over i → [H, B·W, hd] @ [H, hd, H]
  const qByRow = F.reshape(F.transpose(rq, [1, 0, 2, 3]), [h, bn * w, hd]);
  const relH = F.transpose(
    F.reshape(F.matmul(qByRow, F.transpose(rh, [0, 2, 1])), [h, bn, w, h]),
    [1, 0, 2, 3],
  ); // [B, H, W, Hk]
  // rel_w[b, i, j, l] = Σ_c rq[b, i, j, c]·Rw[j, l, c]: batch over j → [W, B·H, hd] @ [W, hd, W]
  const qByCol = F.reshape(F.transpose(rq, [2, 0, 1, 3]), [w, bn * h, hd]);
  const relW = F.transpose(
    F.reshape(F.matmul(qByCol, F.transpose(rw, [0, 2, 1])), [w, bn, h, w]),
    [1, 2, 0, 3],
  ); // [B, H, W, Wk]
  // [B, HW, HW] → [B, H, W, Hk, Wk] + rel_h[..., None] + rel_w[..., None, :]
  const a = F.reshape(attn, [bn, h, w, h, w]);
  const biased = F.add(F.add(a, F.reshape(relH, [bn, h, w, h, 1])), F.reshape(relW, [bn, h, w, 1, w]));
  return F.reshape(biased, [bn, h * w, h * w]);
}

/** [B, H, W, C] → windows [B·nWin, ws, ws, C], zero-padded at the bottom/right (spec §2.4). */
export function windowPartition(x: Value, ws: number): { windows: Value; padded: [number, number] } {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const ph = (ws - (h % ws)) % ws;
  const pw = (ws - (w % ws)) % ws;
  const xp = F.pad(x, [0, 0, 0, 0, 0, ph, pw, 0]);
  const [hp, wp] = [h + ph, w + pw];
  // [B, Hp, Wp, C] → [B, Hp/ws, ws, Wp/ws, ws, C] → [B, Hp/ws, Wp/ws, ws, ws, C] → [B·nWin, ws, ws, C]
  const t = F.transpose(F.reshape(xp, [b, hp / ws, ws, wp / ws, ws, c]), [0, 1, 3, 2, 4, 5]);
  return { windows: F.reshape(t, [-1, ws, ws, c]), padded: [hp, wp] };
}

/** Inverse of windowPartition, cropped back to [B, H, W, C]. */
export function windowUnpartition(
  windows: Value,
  ws: number,
  [hp, wp]: [number, number],
  [h, w]: [number, number],
): Value {
  const c = windows.shape[3]!;
  const b = windows.shape[0]! / ((hp / ws) * (wp / ws));
  // [B·nWin, ws, ws, C] → [B, Hp/ws, Wp/ws, ws, ws, C] → [B, Hp/ws, ws, Wp/ws, ws, C] → [B, Hp, Wp, C]
  const t = F.transpose(F.reshape(windows, [b, hp / ws, wp / ws, ws, ws, c]), [0, 1, 3, 2, 4, 5]);
  return F.slice(F.reshape(t, [b, hp, wp, c]), [0, 0, 0, 0], [b, h, w, c]);
}

/** SAM's transformer block parts (norms, attention, MLP) and its windowing; MA-SAM adds adapters around. */
export class Block {
  readonly norm1: LayerNorm;
  readonly attn: Attention;
  readonly norm2: LayerNorm;
  readonly lin1: Linear;
  readonly lin2: Linear;
  /** 0 for global attention, else the window size. */
  readonly windowSize: number;

  constructor(cfg: MaSamConfig, p: ParamScope, index: number) {
    const dim = cfg.embed_dim;
    const global = cfg.global_attn_indexes.includes(index);
    this.windowSize = global ? 0 : cfg.window_size;
    this.norm1 = new LayerNorm(dim, p.pp('norm1'), cfg.layer_norm_eps);
    this.attn = new Attention(cfg, p.pp('attn'), global ? tokenGrid(cfg) : cfg.window_size);
    this.norm2 = new LayerNorm(dim, p.pp('norm2'), cfg.layer_norm_eps);
    this.lin1 = new Linear(dim, dim * cfg.mlp_ratio, p.pp('mlp.lin1'));
    this.lin2 = new Linear(dim * cfg.mlp_ratio, dim, p.pp('mlp.lin2'));
  }

  /**
   * norm1 → (windowed) attention → unpartition, without the residual. SAM pads the normed tokens with
   * zeros, partitions, and projects every window token; a zero token's q, k, v is just the qkv bias (FacT's
   * update of 0 is 0), so projecting the H×W tokens and zero-padding the projection before adding the bias
   * gives the same windows with (Hp·Wp − H·W) fewer tokens through qkv, and proj, being per token, runs
   * after the crop.
   */
  attention(x: Value, options: AttentionOptions = {}): Value {
    const h = this.norm1.forward(x);
    if (this.windowSize === 0) return this.attn.forward(h, options);
    const size: [number, number] = [x.shape[1]!, x.shape[2]!];
    const { windows, padded } = windowPartition(this.attn.project(h, options), this.windowSize);
    const attended = this.attn.attend(this.attn.withBias(windows)); // [B·nWin, ws, ws, C]
    return this.attn.proj.forward(windowUnpartition(attended, this.windowSize, padded, size));
  }

  /** MLP(norm2(x)) with exact GELU, without the residual. */
  mlp(x: Value): Value {
    return this.lin2.forward(F.gelu(this.lin1.forward(this.norm2.forward(x))));
  }

  /** Plain SAM block: x + attn(norm1(x)), then + mlp(norm2(·)). */
  forward(x: Value): Value {
    const x1 = F.add(x, this.attention(x));
    return F.add(x1, this.mlp(x1));
  }
}

/** 1×1 conv → LN2d → 3×3 conv → LN2d: [B, T, T, C] → [B, P, T, T] (spec §2.7). */
export class Neck {
  private readonly conv1: Conv;
  private readonly norm1: LayerNorm2d;
  private readonly conv2: Conv;
  private readonly norm2: LayerNorm2d;
  constructor(cfg: MaSamConfig, p: ParamScope) {
    this.conv1 = new Conv(cfg.embed_dim, cfg.out_chans, [1, 1], p.pp('0'), { bias: false });
    this.norm1 = new LayerNorm2d(cfg.out_chans, p.pp('1'), cfg.layer_norm_eps);
    this.conv2 = new Conv(cfg.out_chans, cfg.out_chans, [3, 3], p.pp('2'), { bias: false, padding: 1 });
    this.norm2 = new LayerNorm2d(cfg.out_chans, p.pp('3'), cfg.layer_norm_eps);
  }

  forward(x: Value): Value {
    const h = F.transpose(x, [0, 3, 1, 2]); // [B, T, T, C] → [B, C, T, T]
    return this.norm2.forward(this.conv2.forward(this.norm1.forward(this.conv1.forward(h))));
  }
}

/** The encoder's parts; `forward` runs plain SAM, MA-SAM runs its own blocks between the same ends. */
export class ImageEncoderViT {
  readonly patchEmbed: PatchEmbed;
  readonly posEmbed: Value;
  readonly blocks: Block[];
  readonly neck: Neck;

  constructor(cfg: MaSamConfig, p: ParamScope) {
    const t = tokenGrid(cfg);
    this.patchEmbed = new PatchEmbed(cfg, p.pp('patch_embed'));
    this.posEmbed = p.param('pos_embed', [1, t, t, cfg.embed_dim], zeros);
    this.blocks = Array.from({ length: cfg.depth }, (_, i) => new Block(cfg, p.pp(`blocks.${i}`), i));
    this.neck = new Neck(cfg, p.pp('neck'));
  }

  /** Patch embedding plus absolute positions: [B, 3, S, S] → [B, T, T, C]. */
  embed(x: Value): Value {
    return F.add(this.patchEmbed.forward(x), this.posEmbed);
  }

  forward(x: Value): Value {
    let h = this.embed(x);
    for (const block of this.blocks) h = block.forward(h);
    return this.neck.forward(h);
  }
}
