// Label maps: remapping class values, the BTCV/prostate/EndoVis'18 label conventions and the EndoVis'18
// colour → index conversion. Follows masam-spec.md 8.2 (13 → 12 merge), 8.3 (binarise) and 8.4 (colours).

/** A typed or plain array of label values. */
export type LabelArray =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Int32Array;

/** BTCV class values (spec 8.2). 12 and 13 are the two adrenal glands. */
export const BTCV_LABELS: Readonly<Record<string, number>> = {
  background: 0,
  spleen: 1,
  right_kidney: 2,
  left_kidney: 3,
  gallbladder: 4,
  esophagus: 5,
  liver: 6,
  stomach: 7,
  aorta: 8,
  inferior_vena_cava: 9,
  portal_and_splenic_veins: 10,
  pancreas: 11,
  right_adrenal_gland: 12,
  left_adrenal_gland: 13,
};

/** The official 12-class setting merges both adrenal glands into class 12 (spec 8.2). */
export const BTCV_MERGE_ADRENALS: Readonly<Record<number, number>> = { 13: 12 };

/** Prostate zones as in the Medical Segmentation Decathlon (Task05); the official script binarises them. */
export const PROSTATE_LABELS: Readonly<Record<string, number>> = { background: 0, PZ: 1, TZ: 2 };

/** EndoVis'18 classes; names from the challenge definition (spec 8.4 marks them unsure). */
export const ENDOVIS18_LABELS: Readonly<Record<string, number>> = {
  background: 0,
  'instrument-shaft': 1,
  'instrument-clasper': 2,
  'instrument-wrist': 3,
  'kidney-parenchyma': 4,
  'covered-kidney': 5,
  thread: 6,
  clamps: 7,
  'suturing-needle': 8,
  'suction-instrument': 9,
  'small-intestine': 10,
  'ultrasound-probe': 11,
};

/** EndoVis'18 label colours (R, G, B) → class index (spec 8.4). Any other colour is background. */
export const ENDOVIS18_COLORS: readonly (readonly [number, number, number, number])[] = [
  [0, 255, 0, 1],
  [0, 255, 255, 2],
  [125, 255, 12, 3],
  [255, 55, 0, 4],
  [24, 55, 125, 5],
  [187, 155, 25, 6],
  [0, 255, 125, 7],
  [255, 255, 125, 8],
  [123, 15, 175, 9],
  [124, 155, 5, 10],
  [12, 255, 141, 11],
];

/**
 * Replaces every value `v` that is a key of `mapping` by `mapping[v]`; other values are kept.
 * Returns a new array of the same type.
 * @example remapLabels(mask, BTCV_MERGE_ADRENALS) // 13 → 12, as the official 12-class reader does
 */
export function remapLabels<A extends LabelArray>(labels: A, mapping: Readonly<Record<number, number>>): A {
  const out = labels.slice() as A;
  const table = new Map<number, number>(Object.entries(mapping).map(([k, v]) => [Number(k), v]));
  if (table.size === 0) return out;
  for (let i = 0; i < out.length; i++) {
    const to = table.get(out[i]!);
    if (to !== undefined) out[i] = to;
  }
  return out;
}

/** The prostate script's label step (spec 8.3): values above 1 become 1, so zones merge into one mask. */
export function binarizeLabels<A extends LabelArray>(labels: A): A {
  const out = labels.slice() as A;
  for (let i = 0; i < out.length; i++) if (out[i]! > 1) out[i] = 1;
  return out;
}

/**
 * Converts interleaved RGB label pixels (`[r, g, b, r, g, b, …]`, or RGBA with `channels: 4`) to class
 * indices by exact colour match; any colour not in `palette` becomes 0 (spec 8.4).
 */
export function colorsToLabels(
  rgb: Uint8Array,
  palette: readonly (readonly [number, number, number, number])[] = ENDOVIS18_COLORS,
  channels: 3 | 4 = 3,
): Uint8Array {
  if (rgb.length % channels !== 0) {
    throw new RangeError(`colorsToLabels: ${rgb.length} bytes is not a multiple of ${channels} channels`);
  }
  const lookup = new Map<number, number>(palette.map(([r, g, b, v]) => [(r << 16) | (g << 8) | b, v]));
  const out = new Uint8Array(rgb.length / channels);
  for (let p = 0; p < out.length; p++) {
    const o = p * channels;
    out[p] = lookup.get((rgb[o]! << 16) | (rgb[o + 1]! << 8) | rgb[o + 2]!) ?? 0;
  }
  return out;
}
