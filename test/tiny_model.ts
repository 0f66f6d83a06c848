// The tiny MA-SAM that CLI, training and fault tests train and export in seconds: the `small`
// architecture, narrower (2 blocks of width 32, the second global), at 32 px.

/** MaSamConfig overrides of the `small` preset (what `--model-config` takes). */
export const TINY_OVERRIDES = {
  depth: 2,
  global_attn_indexes: [1],
  window_size: 2,
  embed_dim: 32,
  num_heads: 2,
  out_chans: 32,
  adapter_channels: 8,
  fact_rank: 4,
  decoder_mlp_dim: 64,
  iou_head_hidden_dim: 32,
};

/** The whole config: 32 px, 3 slices per stack, 13 classes (the CT phantom's organs). */
export const TINY_CONFIG = {
  preset: 'small',
  img_size: 32,
  slices: 3,
  num_classes: 13,
  ...TINY_OVERRIDES,
} as const;
