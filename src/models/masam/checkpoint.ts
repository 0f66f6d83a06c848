// Building MA-SAM weights from the official checkpoints (masam-spec §3.5, §7.4–7.5): SAM's state dict
// loaded into a model of another image size / class count with the official semantics, then an MA-SAM
// checkpoint on top. Also the name maps to the official in-memory names and save-file keys.
import { MasamError } from '../../core/errors.js';
import { type HostTensor, hostTensor } from '../../core/host_tensor.js';
import { formatShape, numel, shapesEqual } from '../../core/shape.js';
import type { Weights } from '../../nn/index.js';

/** What happened to each model weight while loading a SAM checkpoint. */
export interface SamLoadReport {
  readonly copied: string[];
  readonly resized: string[];
  /** Model weights the checkpoint could not provide: left to fresh initialisation. */
  readonly fresh: string[];
  /** Checkpoint keys the model does not use. */
  readonly unused: string[];
}

const GLOBAL_REL_POS = /^image_encoder\.blocks\.(\d+)\.attn\.rel_pos_[hw]$/;

/**
 * The official load_from net effect: every checkpoint tensor whose key and shape match the model is copied
 * (PyTorch's failed strict load copies them before raising, so even the "excluded" hypernetwork and IoU
 * layers survive when their shapes match); `pos_embed` and the global blocks' `rel_pos_h/w` are resized
 * bilinearly when the token grid differs; everything else keeps its fresh initialisation.
 * `shapes` are the model's parameter shapes (see declareParams).
 */
export function loadSamCheckpoint(
  shapes: ReadonlyMap<string, readonly number[]>,
  checkpoint: ReadonlyMap<string, HostTensor>,
  options: { globalBlocks: readonly number[]; source: string },
): { weights: Weights; report: SamLoadReport } {
  const weights: Weights = new Map();
  const report: SamLoadReport = { copied: [], resized: [], fresh: [], unused: [] };
  const posEmbed = checkpoint.get('image_encoder.pos_embed');
  const modelPos = shapes.get('image_encoder.pos_embed');
  const gridChanged = !!posEmbed && !!modelPos && posEmbed.shape[1] !== modelPos[1];
  for (const [name, shape] of shapes) {
    const t = checkpoint.get(name);
    if (!t) {
      report.fresh.push(name);
      continue;
    }
    const data = toFloat32(t, name, options.source);
    const globalRelPos = GLOBAL_REL_POS.exec(name);
    const resizable =
      gridChanged &&
      (name === 'image_encoder.pos_embed' ||
        (globalRelPos && options.globalBlocks.includes(Number(globalRelPos[1]))));
    if (resizable && !shapesEqual(t.shape, shape)) {
      weights.set(
        name,
        name === 'image_encoder.pos_embed' ? resizePosEmbed(data, shape) : resizeRows(data, shape[0]!),
      );
      report.resized.push(name);
    } else if (shapesEqual(t.shape, shape)) {
      weights.set(name, data);
      report.copied.push(name);
    } else {
      report.fresh.push(name);
    }
  }
  for (const key of checkpoint.keys()) if (!shapes.has(key)) report.unused.push(key);
  return { weights, report };
}

function toFloat32(t: HostTensor, name: string, source: string): HostTensor<'float32'> {
  if (t.dtype === 'float32') return t as HostTensor<'float32'>;
  if (t.dtype !== 'float64')
    throw new MasamError(`${source}: '${name}' is ${t.dtype}, expected a float tensor`);
  return hostTensor('float32', t.shape, Float32Array.from(t.data as Float64Array));
}

/**
 * 1-D linear weights as PyTorch 1.13 CPU computes them for align_corners=False (spec §3.5 precision note):
 * the ratio rounded to float32, s and λ in float64, λ rounded to float32, 1 − λ in float32.
 */
function linearTaps(nIn: number, nOut: number): { i0: number; i1: number; w0: number; w1: number }[] {
  const ratio = Math.fround(Math.fround(nIn) / Math.fround(nOut));
  return Array.from({ length: nOut }, (_, i) => {
    const s = Math.max((i + 0.5) * ratio - 0.5, 0);
    const i0 = Math.min(Math.floor(s), nIn - 1);
    const lambda = Math.fround(s - i0);
    return { i0, i1: Math.min(i0 + 1, nIn - 1), w0: Math.fround(1 - lambda), w1: lambda };
  });
}

/** A relative-position table [L, hd] resized along its rows to `rows` (hd unchanged). */
export function resizeRows(t: HostTensor<'float32'>, rows: number): HostTensor<'float32'> {
  const [len, hd] = t.shape as [number, number];
  const out = hostTensor('float32', [rows, hd]);
  linearTaps(len, rows).forEach(({ i0, i1, w0, w1 }, r) => {
    for (let c = 0; c < hd; c++) out.data[r * hd + c] = w0 * t.data[i0 * hd + c]! + w1 * t.data[i1 * hd + c]!;
  });
  return out;
}

/** pos_embed [1, S, S, C] → [1, T, T, C] bilinearly over the two grid axes. */
export function resizePosEmbed(t: HostTensor<'float32'>, shape: readonly number[]): HostTensor<'float32'> {
  const [, sh, sw, c] = t.shape as [number, number, number, number];
  const [, th, tw] = shape as [number, number, number];
  const out = hostTensor('float32', [1, th, tw, c]);
  const rows = linearTaps(sh, th);
  const cols = linearTaps(sw, tw);
  const at = (y: number, x: number, k: number) => t.data[(y * sw + x) * c + k]!;
  rows.forEach((r, y) => {
    cols.forEach((q, x) => {
      for (let k = 0; k < c; k++) {
        const top = q.w0 * at(r.i0, q.i0, k) + q.w1 * at(r.i0, q.i1, k);
        const bottom = q.w0 * at(r.i1, q.i0, k) + q.w1 * at(r.i1, q.i1, k);
        out.data[(y * tw + x) * c + k] = r.w0 * top + r.w1 * bottom;
      }
    });
  });
  return out;
}

const FACT_CORE = /^image_encoder\.blocks\.(\d+)\.attn\.qkv\.([qv])_FacTs\.weight$/;
const BLOCK_PARAM = /^image_encoder\.blocks\.(\d+)\.(.+)$/;

/** Key of a masam weight in the official MA-SAM save format (spec §7.4), or null if it is not saved there. */
export function masamCheckpointKey(name: string): string | null {
  const core = FACT_CORE.exec(name);
  if (core) return `${core[2]}_FacTs_${core[1]!.padStart(3, '0')}`;
  if (name === 'image_encoder.FacTu.weight' || name === 'image_encoder.FacTv.weight') return name;
  const block = BLOCK_PARAM.exec(name);
  if (block && block[2]!.startsWith('adapter_'))
    return `image_encoder.ImageEncoderViT.blocks.${block[1]}.Block.${block[2]}`;
  if (name.startsWith('prompt_encoder.') || name.startsWith('mask_decoder.')) return name;
  return null;
}

/** The official in-memory parameter name (the fixtures' names.json `name`) of a masam weight. */
export function officialParamName(name: string): string {
  if (name === 'image_encoder.FacTu.weight' || name === 'image_encoder.FacTv.weight')
    return name.slice('image_encoder.'.length);
  const core = FACT_CORE.exec(name);
  if (core)
    return `sam.image_encoder.ImageEncoderViT.blocks.${core[1]}.Block.attn.Attention.qkv.${core[2]}_FacTs.weight`;
  const block = BLOCK_PARAM.exec(name);
  if (block) {
    const rest = block[2]!
      .replace(/^attn\.qkv\./, 'attn.Attention.qkv.qkv.')
      .replace(/^attn\.(?!Attention)/, 'attn.Attention.');
    return `sam.image_encoder.ImageEncoderViT.blocks.${block[1]}.Block.${rest}`;
  }
  if (name.startsWith('image_encoder.'))
    return `sam.image_encoder.ImageEncoderViT.${name.slice('image_encoder.'.length)}`;
  return `sam.${name}`;
}

/**
 * Overwrites weights from an MA-SAM checkpoint (`load_parameters`, spec §7.5): FacT, adapters, the whole
 * prompt encoder and mask decoder. Every saved tensor must exist in the model with the same shape.
 */
export function applyMaSamCheckpoint(
  weights: Weights,
  shapes: ReadonlyMap<string, readonly number[]>,
  checkpoint: ReadonlyMap<string, HostTensor>,
  source: string,
): void {
  const byKey = new Map<string, string>();
  for (const name of shapes.keys()) {
    const key = masamCheckpointKey(name);
    if (key) byKey.set(key, name);
  }
  const problems: string[] = [];
  for (const [key, t] of checkpoint) {
    const name = byKey.get(key);
    if (!name) {
      problems.push(`unexpected key '${key}'`);
      continue;
    }
    const shape = shapes.get(name)!;
    if (!shapesEqual(t.shape, shape)) {
      problems.push(`'${key}' has shape ${formatShape(t.shape)}, the model needs ${formatShape(shape)}`);
      continue;
    }
    weights.set(name, toFloat32(t, key, source));
  }
  const missing = [...byKey.keys()].filter((k) => !checkpoint.has(k));
  if (missing.length > 0) problems.push(`missing ${missing.length} keys (e.g. '${missing[0]}')`);
  if (problems.length > 0) {
    throw new MasamError(
      `${source}: not an MA-SAM checkpoint for this config: ${problems.slice(0, 5).join('; ')}`,
    );
  }
}

/** MA-SAM save-format entries (spec §7.4 order: q cores, v cores, FacTu, FacTv, prompt encoder, decoder, adapters). */
export function masamCheckpointEntries(
  weights: Weights,
  depth: number,
): { key: string; tensor: HostTensor; parameter: boolean }[] {
  const get = (name: string) => {
    const t = weights.get(name);
    if (!t) throw new MasamError(`cannot save: weight '${name}' is missing`);
    return t;
  };
  const out: { key: string; tensor: HostTensor; parameter: boolean }[] = [];
  for (const kind of ['q', 'v'] as const) {
    for (let i = 0; i < depth; i++) {
      const name = `image_encoder.blocks.${i}.attn.qkv.${kind}_FacTs.weight`;
      out.push({ key: masamCheckpointKey(name)!, tensor: get(name), parameter: true });
    }
  }
  for (const name of ['image_encoder.FacTu.weight', 'image_encoder.FacTv.weight'])
    out.push({ key: name, tensor: get(name), parameter: false });
  const names = [...weights.keys()];
  for (const prefix of ['prompt_encoder.', 'mask_decoder.']) {
    for (const name of names.filter((n) => n.startsWith(prefix)))
      out.push({ key: name, tensor: get(name), parameter: false });
  }
  for (const name of names.filter((n) => /^image_encoder\.blocks\.\d+\.adapter_/.test(n))) {
    out.push({ key: masamCheckpointKey(name)!, tensor: get(name), parameter: false });
  }
  return out;
}

/** Total element count of a shape map (for reports). */
export function countParams(
  shapes: ReadonlyMap<string, readonly number[]>,
  names?: Iterable<string>,
): number {
  let n = 0;
  for (const name of names ?? shapes.keys()) n += numel(shapes.get(name) ?? []);
  return n;
}
