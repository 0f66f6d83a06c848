// float32 → float16 conversion of an exported model, as a rewrite of its ModelProto, for WebGPU (where
// float16 halves memory traffic and doubles ALU throughput). The graph's float inputs and outputs stay
// float32, with Cast nodes at the boundary, so callers feed and read the same tensors as before.
//
// Which nodes compute in float16 is an allowlist (FLOAT16_OPS): matrix products, convolutions, the
// plain elementwise arithmetic and data movement. Everything else — notably LayerNormalization,
// Softmax, ReduceMean/ReduceSum (means and variances), Pow, Sqrt, Exp, Log, Erf (GELU), Sin/Cos
// (positional encodings, with the chain computing their angles), Sigmoid/Tanh, and any op this file does
// not know — stays float32, with Casts around it. An allowlist fails safe: a new op is exact before it is
// fast.
//
// Constants: an expression of initializers that a float16 op reads (a linear layer's Transpose(weight),
// MA-SAM's merged qkv weight W + FacT delta) is folded here in float32 and stored as one float16
// initializer. Constant chains ending in a float32 op (the dense positional encoding; without prompts the
// decoder's first self-attention over its constant tokens) stay float32: onnxruntime folds them at load.
// Initializers only float32 nodes read (LayerNorm scales and biases) stay float32; all other float32
// initializers are stored as float16: half the bytes.
import type onnxProto from 'onnx-proto';
import { MasamError } from '../core/errors.js';
import { ConstantEvaluator, pruneDeadNodes } from './fold.js';
import { type ModelProto, float32Values, onnx, requireInlineData } from './proto.js';

type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;

/** Ops that compute in float16 (default domain); all others stay float32. */
export const FLOAT16_OPS: ReadonlySet<string> = new Set([
  'MatMul',
  'Gemm',
  'Conv',
  'ConvTranspose',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Neg',
  'Abs',
  'Relu',
  'Max',
  'Min',
  'ReduceMax',
  'Where',
  'Resize',
  'Cast',
  'Constant',
  'ConstantOfShape',
  'Identity',
  'Transpose',
  'Reshape',
  'Flatten',
  'Squeeze',
  'Unsqueeze',
  'Slice',
  'Concat',
  'Split',
  'Expand',
  'Tile',
  'Gather',
  'Pad',
]);

/** Ops whose input is an angle: what computes it stays float32 (see convertToFloat16). */
const ANGLE_OPS: ReadonlySet<string> = new Set(['Sin', 'Cos']);

/** Float inputs that keep float32 even in a float16 node, by op: Resize's roi and scales. */
const FLOAT32_SLOTS: Readonly<Record<string, readonly number[]>> = { Resize: [1, 2] };

/** Element types of outputs that are not those of the first input. */
const OUTPUT_TYPES: Readonly<Record<string, readonly number[]>> = {
  Equal: [onnx.TensorProto.DataType.BOOL],
  Less: [onnx.TensorProto.DataType.BOOL],
  Greater: [onnx.TensorProto.DataType.BOOL],
  Not: [onnx.TensorProto.DataType.BOOL],
  Shape: [onnx.TensorProto.DataType.INT64],
  ArgMax: [onnx.TensorProto.DataType.INT64],
  ArgMin: [onnx.TensorProto.DataType.INT64],
  DynamicQuantizeLinear: [onnx.TensorProto.DataType.UINT8, FLOAT, onnx.TensorProto.DataType.UINT8],
  MatMulInteger: [onnx.TensorProto.DataType.INT32],
};

export interface Float16Options {
  /** Names the model in errors (a file path). */
  readonly source?: string;
}

/**
 * Returns a copy of `model` computing in float16 where FLOAT16_OPS allows (see the file comment); the
 * input model is not modified. Inputs and outputs keep their float32 types.
 */
export function convertToFloat16(model: ModelProto, options: Float16Options = {}): ModelProto {
  const source = options.source ?? 'model';
  const graph = model.graph;
  if (!graph) throw new MasamError(`${source}: ONNX model has no graph`);
  requireInlineData(model, source, 'float16 conversion');
  const folded = foldFloat16Constants(graph);
  const nodes = folded.node;
  const original = elementTypes({ ...graph, ...folded }, source);
  const isFloat = (name: string) => original.get(name) === FLOAT;

  // Precision per node, consumers before producers: a constant node feeding a float32 node is float32,
  // and so is every node whose results only feed the angles of Sin/Cos, directly or through such nodes
  // (positional encodings of prompt coordinates: arguments up to |x| ≈ 20, where float16 steps by 1e-2).
  const constants = new ConstantEvaluator({ ...graph, ...folded });
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const consumers = new Map<string, INode[]>();
  for (const n of nodes) for (const x of n.input ?? []) consumers.set(x, [...(consumers.get(x) ?? []), n]);
  const half = new Set<INode>();
  const angles = new Set<INode>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    const results = n.output ?? [];
    const readers = results.flatMap((o) => consumers.get(o) ?? []);
    const onlyAngles =
      readers.length > 0 && !results.some((o) => outputs.has(o)) && readers.every((c) => angles.has(c));
    if (ANGLE_OPS.has(n.opType ?? '') || onlyAngles) {
      angles.add(n);
      continue;
    }
    if (!FLOAT16_OPS.has(n.opType ?? '') || (n.domain ?? '') !== '') continue;
    const feedsFloat32 = readers.some((c) => !half.has(c));
    if (results.every((o) => constants.isConstant(o)) && feedsFloat32) continue;
    half.add(n);
  }
  const wants = (n: INode, slot: number): number =>
    half.has(n) && !(FLOAT32_SLOTS[n.opType ?? ''] ?? []).includes(slot) ? FLOAT16 : FLOAT;

  // The type each float value is produced in.
  const produced = new Map<string, number>();
  const initializer = folded.initializer.map((t) => {
    const name = t.name ?? '';
    const readers = (consumers.get(name) ?? []).flatMap((c) =>
      (c.input ?? []).flatMap((x, slot) => (x === name ? [wants(c, slot)] : [])),
    );
    if (t.dataType !== FLOAT || outputs.has(name) || !readers.includes(FLOAT16)) return t;
    produced.set(name, FLOAT16);
    return toFloat16Tensor(t);
  });
  for (const n of half) for (const o of n.output ?? []) if (isFloat(o)) produced.set(o, FLOAT16);
  const typeOf = (name: string) => produced.get(name) ?? FLOAT;

  const names = new Set([...original.keys()]);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
  const casts = new Map<string, string>();
  const rewritten: INode[] = [];
  const castTo = (value: string, to: number): string => {
    const key = `${value}|${to}`;
    let name = casts.get(key);
    if (!name) {
      name = fresh(`${value}_${to === FLOAT16 ? 'fp16' : 'fp32'}`);
      rewritten.push(castNode(`${value}/Cast_${to === FLOAT16 ? 'fp16' : 'fp32'}`, value, name, to));
      casts.set(key, name);
    }
    return name;
  };

  // A float16 value that is a graph output is produced under a new name and cast back to float32 there;
  // float16 readers read the new name.
  const inner = new Map<string, string>();
  for (const o of outputs) if (typeOf(o) === FLOAT16) inner.set(o, fresh(`${o}_fp16`));
  for (const n of nodes) {
    const input = (n.input ?? []).map((x, slot) => {
      if (!x || !isFloat(x)) return x;
      const want = wants(n, slot);
      const renamed = inner.get(x);
      if (renamed) return want === FLOAT16 ? renamed : x;
      return typeOf(x) === want ? x : castTo(x, want);
    });
    const output = (n.output ?? []).map((o) => inner.get(o) ?? o);
    rewritten.push({ ...n, input, output, attribute: half.has(n) ? halfAttributes(n) : n.attribute });
    for (const o of n.output ?? []) {
      const renamed = inner.get(o);
      if (renamed) rewritten.push(castNode(`${o}/Cast_fp32`, renamed, o, FLOAT));
    }
  }

  const valueInfo = (graph.valueInfo ?? []).map((v) =>
    typeOf(v.name ?? '') === FLOAT16 && isFloat(v.name ?? '') && v.type?.tensorType
      ? { ...v, type: { ...v.type, tensorType: { ...v.type.tensorType, elemType: FLOAT16 } } }
      : v,
  );
  return onnx.ModelProto.create({
    ...model,
    graph: onnx.GraphProto.create({ ...graph, node: rewritten, initializer, valueInfo }),
  });
}

/** Element types of every value, from the inputs, initializers and each op's output rule. */
function elementTypes(graph: onnxProto.onnx.IGraphProto, source: string): Map<string, number> {
  const types = new Map<string, number>();
  for (const v of graph.input ?? []) types.set(v.name ?? '', v.type?.tensorType?.elemType ?? 0);
  for (const t of graph.initializer ?? []) types.set(t.name ?? '', t.dataType ?? 0);
  for (const n of graph.node ?? []) {
    const op = n.opType ?? '';
    const attr = (name: string) => n.attribute?.find((a) => a.name === name);
    let rule: readonly number[] | undefined = OUTPUT_TYPES[op];
    if (op === 'Cast') rule = [Number(attr('to')?.i ?? 0)];
    else if (op === 'Constant') rule = [attr('value')?.t?.dataType ?? 0];
    else if (op === 'ConstantOfShape') rule = [attr('value')?.t?.dataType ?? FLOAT];
    else if (op === 'Where') rule = [types.get(n.input?.[1] ?? '') ?? 0];
    const first = types.get(n.input?.[0] ?? '');
    (n.output ?? []).forEach((o, i) => {
      const t = rule ? (rule[i] ?? rule[0]) : first;
      if (t === undefined) {
        throw new MasamError(`${source}: cannot tell the element type of '${o}' (${op} node '${n.name}')`);
      }
      types.set(o, t);
    });
  }
  return types;
}

/**
 * Replaces each constant that a float16 node reads and that onnx/fold.ts can evaluate (a linear layer's
 * Transpose(weight), MA-SAM's merged qkv weight W + FacT delta) by one initializer, computed in float32
 * and rounded to float16 once — unless it would be larger than the initializers it comes from (a
 * broadcast). onnxruntime's CPU kernels, which fold constants for every execution provider, have no
 * float16 MatMul on x86, so these chains would otherwise run in every inference.
 */
function foldFloat16Constants(graph: onnxProto.onnx.IGraphProto): { node: INode[]; initializer: ITensor[] } {
  const nodes = graph.node ?? [];
  const evaluator = new ConstantEvaluator(graph);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const folded = new Map<string, ITensor>();
  for (const n of nodes) {
    if (!FLOAT16_OPS.has(n.opType ?? '') || (n.domain ?? '') !== '') continue;
    if ((n.input ?? []).every((x) => !x || evaluator.isConstant(x))) continue;
    (n.input ?? []).forEach((x, slot) => {
      if (!x || initializers.has(x) || folded.has(x) || !evaluator.isConstant(x)) return;
      if ((FLOAT32_SLOTS[n.opType ?? ''] ?? []).includes(slot)) return;
      const value = evaluator.evaluate(x);
      if (!value) return;
      const sourceElements = evaluator
        .sources(x)
        .reduce((sum, t) => sum + (t.dims ?? []).reduce<number>((p, d) => p * Number(d), 1), 0);
      if (value.data.length > sourceElements) return;
      folded.set(x, {
        name: x,
        dims: [...value.dims],
        dataType: FLOAT,
        rawData: new Uint8Array(value.data.buffer),
      });
    });
  }
  if (folded.size === 0) return { node: nodes, initializer: graph.initializer ?? [] };
  const live = pruneDeadNodes(
    nodes.filter((n) => !(n.output ?? []).every((o) => folded.has(o))),
    graph,
  );
  const used = new Set(live.flatMap((n) => n.input ?? []));
  for (const o of graph.output ?? []) used.add(o.name ?? '');
  const initializer = [...(graph.initializer ?? []), ...folded.values()].filter((t) =>
    used.has(t.name ?? ''),
  );
  return { node: live, initializer };
}

function castNode(name: string, input: string, output: string, to: number): INode {
  return {
    name,
    opType: 'Cast',
    input: [input],
    output: [output],
    attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }],
  };
}

/** A float16 node's dtype-carrying attributes: Cast's `to`, Constant's and ConstantOfShape's `value`. */
function halfAttributes(n: INode): onnxProto.onnx.IAttributeProto[] {
  return (n.attribute ?? []).map((a) => {
    if (n.opType === 'Cast' && a.name === 'to' && Number(a.i) === FLOAT) return { ...a, i: FLOAT16 };
    if (a.name === 'value' && a.t?.dataType === FLOAT) return { ...a, t: toFloat16Tensor(a.t) };
    return a;
  });
}

function toFloat16Tensor(t: ITensor): ITensor {
  const values = float32Values(t);
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = float16Bits(values[i]!);
  return {
    name: t.name,
    dims: t.dims,
    dataType: FLOAT16,
    rawData: new Uint8Array(bits.buffer),
    ...(t.docString ? { docString: t.docString } : {}),
  };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * IEEE binary16 bits of a float32, rounded to nearest even; finite values beyond ±65504 clamp to ±65504
 * (a weight that large is an outlier, not an infinity), NaN and ±Infinity are kept.
 */
export function float16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 112; // rebias 127 → 15
  if (e <= 0) {
    // Subnormal (or zero) in float16: the 24-bit significand shifted right, rounded to nearest even.
    if (e < -10) return sign;
    const significand = mantissa | 0x800000;
    const shift = 14 - e;
    let h = significand >>> shift;
    const rest = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && h & 1)) h++;
    return sign | h;
  }
  if (e >= 0x1f) return sign | 0x7bff;
  let h = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | Math.min(h, 0x7bff);
}
