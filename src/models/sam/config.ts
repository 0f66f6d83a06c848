// MA-SAM / SAM hyper-parameters: the only place model numbers live (build_sam.py, masam-spec §2.1, §3).
// Keys are snake_case, exactly as in the fixtures' config.json and the model metadata we export, so a
// config file reads and writes without renaming.
import { MasamError } from '../../core/errors.js';

export interface MaSamConfig {
  readonly img_size: number;
  readonly patch_size: number;
  readonly in_chans: number;
  readonly embed_dim: number;
  readonly depth: number;
  readonly num_heads: number;
  readonly mlp_ratio: number;
  readonly qkv_bias: boolean;
  readonly use_rel_pos: boolean;
  readonly global_attn_indexes: readonly number[];
  readonly window_size: number;
  /** Neck output = prompt embedding = decoder width. */
  readonly out_chans: number;
  readonly decoder_transformer_depth: number;
  readonly decoder_num_heads: number;
  readonly decoder_mlp_dim: number;
  readonly iou_head_depth: number;
  readonly iou_head_hidden_dim: number;
  readonly mask_in_chans: number;
  readonly adapter_channels: number;
  readonly fact_rank: number;
  readonly fact_scale: number;
  readonly num_classes: number;
  readonly slices: number;
  /** On the 0–1 input scale (MA-SAM trains with 0 / 1: identity). */
  readonly pixel_mean: readonly number[];
  readonly pixel_std: readonly number[];
  /** Image encoder LayerNorms (also adapters, neck, upscaling, mask branch). */
  readonly layer_norm_eps: number;
  /** LayerNorms inside the decoder's two-way transformer (PyTorch default). */
  readonly decoder_layer_norm_eps: number;
  readonly dice_weight: number;
}

const SHARED = {
  patch_size: 16,
  in_chans: 3,
  mlp_ratio: 4,
  qkv_bias: true,
  use_rel_pos: true,
  window_size: 14,
  out_chans: 256,
  decoder_transformer_depth: 2,
  decoder_num_heads: 8,
  decoder_mlp_dim: 2048,
  iou_head_depth: 3,
  iou_head_hidden_dim: 256,
  mask_in_chans: 16,
  adapter_channels: 384,
  fact_rank: 32,
  fact_scale: 1.0,
  img_size: 512,
  num_classes: 12,
  slices: 5,
  pixel_mean: [0, 0, 0],
  pixel_std: [1, 1, 1],
  layer_norm_eps: 1e-6,
  decoder_layer_norm_eps: 1e-5,
  dice_weight: 0.8,
} as const;

/** The three SAM backbones with MA-SAM's defaults (img 512, rank 32, 12 classes, 5 slices). */
export const PRESETS = {
  vit_b: { ...SHARED, embed_dim: 768, depth: 12, num_heads: 12, global_attn_indexes: [2, 5, 8, 11] },
  vit_l: { ...SHARED, embed_dim: 1024, depth: 24, num_heads: 16, global_attn_indexes: [5, 11, 17, 23] },
  vit_h: { ...SHARED, embed_dim: 1280, depth: 32, num_heads: 16, global_attn_indexes: [7, 15, 23, 31] },
  /** A reduced MA-SAM (same architecture) that trains from random init on 2 CPU cores in minutes. */
  small: {
    ...SHARED,
    img_size: 128,
    embed_dim: 96,
    depth: 4,
    num_heads: 4,
    global_attn_indexes: [1, 3],
    window_size: 4,
    // The decoder keeps SAM's width: its last upscaling stage has out_chans/32 channels, and every class
    // mask is a combination of them — 64 would leave 2 maps for 14 classes, which cannot separate organs.
    out_chans: 256,
    decoder_mlp_dim: 512,
    iou_head_hidden_dim: 64,
    adapter_channels: 48,
    fact_rank: 8,
    num_classes: 4,
  },
} satisfies Record<string, MaSamConfig>;

export type PresetName = keyof typeof PRESETS;

/** A preset with overrides, or a full config object (e.g. a fixture's config.json); validated. */
export function resolveConfig(
  config: PresetName | ({ preset?: PresetName } & Partial<MaSamConfig>),
): MaSamConfig {
  const base =
    typeof config === 'string' ? PRESETS[config] : config.preset ? PRESETS[config.preset] : undefined;
  if (typeof config === 'string' && !base) throw new MasamError(`unknown preset '${config}'`);
  const merged = { ...(base ?? {}), ...(typeof config === 'string' ? {} : config) } as Partial<MaSamConfig>;
  const missing = KEYS.filter((k) => merged[k] === undefined);
  if (missing.length > 0) throw new MasamError(`config is missing ${missing.join(', ')}`);
  const c = merged as MaSamConfig;
  const problems: string[] = [];
  if (c.img_size % c.patch_size !== 0)
    problems.push(`img_size ${c.img_size} is not a multiple of patch_size ${c.patch_size}`);
  // The mask decoder's four ×2 upscalings bring the T×T token grid to 16T: img_size only with 16-pixel
  // patches (SAM's, and its checkpoints'); other sizes would give masks the loss's labels do not match.
  if (c.patch_size !== 16)
    problems.push(
      `patch_size ${c.patch_size}: MA-SAM's mask decoder upscales the token grid 16×, so it must be 16`,
    );
  if (c.embed_dim % c.num_heads !== 0)
    problems.push(`embed_dim ${c.embed_dim} is not divisible by num_heads ${c.num_heads}`);
  if (c.global_attn_indexes.some((i) => i < 0 || i >= c.depth))
    problems.push('global_attn_indexes out of range');
  if (c.out_chans % 32 !== 0)
    problems.push(`out_chans ${c.out_chans} must be a multiple of 32 (upscaling to out_chans/32)`);
  if (c.num_classes < 1) problems.push('num_classes must be ≥ 1');
  if (problems.length > 0) throw new MasamError(`invalid config: ${problems.join('; ')}`);
  return c;
}

const KEYS: readonly (keyof MaSamConfig)[] = [
  'img_size',
  'patch_size',
  'in_chans',
  'embed_dim',
  'depth',
  'num_heads',
  'mlp_ratio',
  'qkv_bias',
  'use_rel_pos',
  'global_attn_indexes',
  'window_size',
  'out_chans',
  'decoder_transformer_depth',
  'decoder_num_heads',
  'decoder_mlp_dim',
  'iou_head_depth',
  'iou_head_hidden_dim',
  'mask_in_chans',
  'adapter_channels',
  'fact_rank',
  'fact_scale',
  'num_classes',
  'slices',
  'pixel_mean',
  'pixel_std',
  'layer_norm_eps',
  'decoder_layer_norm_eps',
  'dice_weight',
];

/** Token grid side T = img_size / patch_size. */
export function tokenGrid(c: MaSamConfig): number {
  return c.img_size / c.patch_size;
}

/** Mask tokens = classes + background. */
export function numMaskTokens(c: MaSamConfig): number {
  return c.num_classes + 1;
}
