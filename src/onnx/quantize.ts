// Weight-only int8 quantization of an exported model, as a rewrite of its ModelProto: every MatMul whose
// right operand is a constant float32 matrix W [K, N] becomes
//   DynamicQuantizeLinear(x) → MatMulInteger(x_q, W_q, x_zero) → Cast(float) → Mul(x_scale · w_scale)
// with W_q int8 and one symmetric scale per output column (zero point 0). These are standard ONNX ops
// (opset ≥ 11), and onnxruntime's CPU optimizer fuses the chain into its DynamicQuantizeMatMul kernel
// (checked with onnxruntime-node 1.23.2), so the file needs no com.microsoft domain.
//
// Weights use 7-bit magnitudes (±63) by default: on x86 CPUs without VNNI (AVX2), onnxruntime multiplies
// u8 activations by s8 weights with VPMADDUBSW, whose int16 pair sums saturate at full 8-bit range — a
// measured 17–19 % relative error on one [4096,768]×[768,2304] MatMul, against 0.9 % with 7 bits.
//
// masam emits linear layers as MatMul(x, Transpose(weight)) and MA-SAM's qkv weight as an expression
// (W + FacT delta, itself MatMuls of initializers), so the constant operand is evaluated from its
// initializers (onnx/fold.ts); the float32 initializers it no longer needs are dropped.
import type onnxProto from 'onnx-proto';
import { MasamError } from '../core/errors.js';
import { ConstantEvaluator, type Float32Value, pruneDeadNodes } from './fold.js';
import { type ModelProto, onnx, requireInlineData } from './proto.js';

type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;

export interface QuantizeOptions {
  /** Which MatMul nodes to quantize, by node name (masam names nodes `<scope>/<op>_<id>#<n>`); default all. */
  readonly include?: (nodeName: string) => boolean;
  /** Weights with fewer elements stay float32: too little work to win (default 4096). */
  readonly minElements?: number;
  /**
   * 7-bit weights (default true), safe on every x86 CPU (see the file comment). `false` uses ±127, which
   * only CPUs with VNNI (or ARM) compute without saturation.
   */
  readonly reduceRange?: boolean;
  /** Names the model in errors (a file path). */
  readonly source?: string;
}

export interface QuantizeReport {
  /** MatMuls rewritten to int8 weights. */
  readonly quantized: number;
  /** MatMuls left in float32, by reason. */
  readonly keptFloat: {
    /** Rejected by `include` (whatever their kind; the counts below are of the included MatMuls). */
    readonly excluded: number;
    /** Both operands are activations (attention scores, attention × values). */
    readonly activations: number;
    /** Constant weight with fewer than `minElements` elements. */
    readonly smallWeights: number;
    /** Both operands constant: onnxruntime folds these when it loads the model. */
    readonly constant: number;
    /** Constant weight that is not a float32 matrix this file can evaluate (e.g. 3-D, or built by Slice). */
    readonly unsupported: number;
  };
  /** Total initializer bytes before and after the rewrite. */
  readonly initializerBytesBefore: number;
  readonly initializerBytesAfter: number;
}

/**
 * Returns a copy of `model` with the constant-weight MatMuls (those `include` accepts, with at least
 * `minElements` weights) computed from per-column int8 weights; the input model is not modified.
 * A model without such MatMuls comes back unchanged with `quantized: 0`.
 */
export function quantizeWeightsInt8(
  model: ModelProto,
  options: QuantizeOptions = {},
): { model: ModelProto; report: QuantizeReport } {
  const source = options.source ?? 'model';
  const graph = model.graph;
  if (!graph) throw new MasamError(`${source}: ONNX model has no graph`);
  requireInlineData(model, source, 'int8 quantization');
  const opset = Number(model.opsetImport?.find((o) => !o.domain)?.version ?? 0);
  if (opset < 11) throw new MasamError(`${source}: int8 quantization needs opset ≥ 11 (model has ${opset})`);
  const minElements = options.minElements ?? 4096;
  const qmax = (options.reduceRange ?? true) ? 63 : 127;

  const nodes = graph.node ?? [];
  const constants = new ConstantEvaluator(graph);
  const names = new UniqueNames(graph);
  const quantizedWeights = new Map<string, { weight: string; scale: string }>();
  const newInitializers: ITensor[] = [];
  const keptFloat = { activations: 0, smallWeights: 0, excluded: 0, constant: 0, unsupported: 0 };
  let quantized = 0;

  const rewritten: INode[] = [];
  for (const node of nodes) {
    if (node.opType !== 'MatMul' || (node.domain ?? '') !== '') {
      rewritten.push(node);
      continue;
    }
    const [a, b] = node.input as [string, string];
    const name = node.name ?? '';
    const included = !options.include || options.include(name);
    const weight =
      included && constants.isConstant(b) && !constants.isConstant(a) ? constants.evaluate(b) : undefined;
    if (!included) keptFloat.excluded++;
    else if (!constants.isConstant(b)) keptFloat.activations++;
    else if (constants.isConstant(a)) keptFloat.constant++;
    else if (!weight || weight.dims.length !== 2) keptFloat.unsupported++;
    else if (weight.data.length < minElements) keptFloat.smallWeights++;
    else {
      let q = quantizedWeights.get(b);
      if (!q) {
        q = { weight: names.fresh(`${b}_int8`), scale: names.fresh(`${b}_scale`) };
        const { values, scales } = quantizeColumns(weight, qmax);
        newInitializers.push(
          {
            name: q.weight,
            dims: [...weight.dims],
            dataType: onnx.TensorProto.DataType.INT8,
            rawData: values,
          },
          {
            name: q.scale,
            dims: [weight.dims[1]!],
            dataType: onnx.TensorProto.DataType.FLOAT,
            rawData: new Uint8Array(scales.buffer),
          },
        );
        quantizedWeights.set(b, q);
      }
      rewritten.push(...int8MatMul(node, a, q, names));
      quantized++;
      continue;
    }
    rewritten.push(node);
  }

  const before = (graph.initializer ?? []).reduce((n, t) => n + tensorByteLength(t), 0);
  const live = pruneDeadNodes(rewritten, graph);
  const used = new Set(live.flatMap((n) => n.input ?? []));
  for (const o of graph.output ?? []) used.add(o.name ?? '');
  const initializer = [...(graph.initializer ?? []), ...newInitializers].filter((t) =>
    used.has(t.name ?? ''),
  );
  const after = initializer.reduce((n, t) => n + tensorByteLength(t), 0);

  const out = onnx.ModelProto.create({
    ...model,
    graph: onnx.GraphProto.create({ ...graph, node: live, initializer }),
  });
  return {
    model: out,
    report: {
      quantized,
      keptFloat,
      initializerBytesBefore: before,
      initializerBytesAfter: after,
    },
  };
}

/** Symmetric per-column int8: scale_n = max_k |W[k,n]| / qmax, W_q = round(W / scale). */
function quantizeColumns(w: Float32Value, qmax: number): { values: Uint8Array; scales: Float32Array } {
  const [k, n] = w.dims as [number, number];
  const scales = new Float32Array(n);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) scales[c] = Math.max(scales[c]!, Math.abs(w.data[r * n + c]!));
  }
  for (let c = 0; c < n; c++) scales[c] = scales[c]! > 0 ? scales[c]! / qmax : 1;
  const values = new Int8Array(k * n);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      const q = Math.round(w.data[r * n + c]! / scales[c]!);
      values[r * n + c] = Math.max(-qmax, Math.min(qmax, q));
    }
  }
  return { values: new Uint8Array(values.buffer), scales };
}

/** The five nodes that replace MatMul(a, W): same output name, names under the MatMul's own. */
function int8MatMul(
  node: INode,
  a: string,
  q: { weight: string; scale: string },
  names: UniqueNames,
): INode[] {
  const y = node.output![0]!;
  const base = node.name ?? y;
  const [aq, aScale, aZero, yInt, yFloat, scale] = [
    'a_q',
    'a_scale',
    'a_zero',
    'y_int32',
    'y_float',
    'scale',
  ].map((s) => names.fresh(`${y}_${s}`)) as [string, string, string, string, string, string];
  const T = onnx.AttributeProto.AttributeType;
  return [
    {
      name: `${base}/DynamicQuantizeLinear`,
      opType: 'DynamicQuantizeLinear',
      input: [a],
      output: [aq, aScale, aZero],
    },
    { name: `${base}/MatMulInteger`, opType: 'MatMulInteger', input: [aq, q.weight, aZero], output: [yInt] },
    {
      name: `${base}/Cast`,
      opType: 'Cast',
      input: [yInt],
      output: [yFloat],
      attribute: [{ name: 'to', type: T.INT, i: onnx.TensorProto.DataType.FLOAT }],
    },
    { name: `${base}/Scale`, opType: 'Mul', input: [aScale, q.scale], output: [scale] },
    { name: `${base}/Dequantize`, opType: 'Mul', input: [yFloat, scale], output: [y] },
  ];
}

function tensorByteLength(t: ITensor): number {
  if (t.rawData) return t.rawData.byteLength;
  const elements = (t.dims ?? []).reduce<number>((n, d) => n * Number(d), 1);
  const size =
    t.dataType === onnx.TensorProto.DataType.INT8 || t.dataType === onnx.TensorProto.DataType.UINT8 ? 1 : 4;
  return elements * (t.dataType === onnx.TensorProto.DataType.INT64 ? 8 : size);
}

/** Value names not yet used in the graph. */
class UniqueNames {
  private readonly used = new Set<string>();
  constructor(graph: onnxProto.onnx.IGraphProto) {
    for (const v of [...(graph.input ?? []), ...(graph.output ?? [])]) this.used.add(v.name ?? '');
    for (const t of graph.initializer ?? []) this.used.add(t.name ?? '');
    for (const n of graph.node ?? []) for (const o of n.output ?? []) this.used.add(o);
  }
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}
