// Graph → ONNX ModelProto bytes. Emits only the nodes the requested outputs need (dead-code elimination),
// in recorded (topological) order, through each primitive's `emit`. Constants become initializers; past
// 2 GB of weights (protobuf's limit) large initializers move to external data.
import type { DType } from '../core/dtype.js';
import { MasamError } from '../core/errors.js';
import { hostTensor } from '../core/host_tensor.js';
import type { Graph, Node, Value } from '../graph/index.js';
import type { Emitter, OnnxAttr } from '../ops/def.js';
import { primitiveOf } from '../ops/registry.js';
import { IR_VERSION, OPSET, attributeProto, onnx, tensorProto, valueInfo } from './proto.js';
import type onnxProto from 'onnx-proto';

export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export interface ExportOptions {
  /** Graph outputs by name. */
  readonly outputs: Readonly<Record<string, Value>>;
  /** Extra metadata_props (config, class names, preprocessing …). */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly graphName?: string;
  /** Initializer bytes above which tensors go to external data (default 1.9 GiB; 0 forces it). */
  readonly externalDataThreshold?: number;
  /** File name external data is referenced by, relative to the model file. */
  readonly externalDataLocation?: string;
}

export interface ExportedModel {
  readonly model: Uint8Array;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Present when initializers were moved out of the protobuf. */
  readonly externalData?: {
    readonly location: string;
    readonly chunks: readonly Uint8Array[];
    readonly byteLength: number;
  };
}

const DEFAULT_EXTERNAL_THRESHOLD = 1.9 * 2 ** 30;
const EXTERNAL_MIN_TENSOR_BYTES = 1024;
const EXTERNAL_ALIGN = 4096;

/** The nodes the outputs depend on, in graph order. */
function liveNodes(graph: Graph, outputs: readonly Value[]): Node[] {
  const live = new Set<Node>();
  const stack = outputs.map((v) => v.node).filter((n): n is Node => n !== null);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (live.has(node)) continue;
    live.add(node);
    for (const x of node.inputs) if (x.node) stack.push(x.node);
  }
  return graph.nodes.filter((n) => live.has(n));
}

export function exportModel(graph: Graph, options: ExportOptions): ExportedModel {
  const outputEntries = Object.entries(options.outputs);
  if (outputEntries.length === 0) throw new MasamError('exportModel: no outputs');
  const nodes = liveNodes(
    graph,
    outputEntries.map(([, v]) => v),
  );

  // Names: inputs and constants keep theirs; a node output that is a graph output (once) takes that name.
  const names = new Map<Value, string>();
  for (const v of graph.inputs) names.set(v, (v.source as { name: string }).name);
  for (const v of graph.constants.keys()) names.set(v, (v.source as { name: string }).name);
  const outputUses = new Map<Value, number>();
  for (const [, v] of outputEntries) outputUses.set(v, (outputUses.get(v) ?? 0) + 1);
  const renamed = new Set<string>();
  for (const [name, v] of outputEntries) {
    if (v.node && outputUses.get(v) === 1) {
      names.set(v, name);
      renamed.add(name);
    }
  }
  const nameOf = (v: Value): string => {
    let n = names.get(v);
    if (n === undefined) {
      n = `v${v.id}`;
      names.set(v, n);
    }
    return n;
  };

  const onnxNodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const usedConstants = new Set<Value>();
  const int64Cache = new Map<string, string>();
  let tempId = 0;
  let currentNode = '';
  const emitter: Emitter = {
    node(opType, inputs, outputs, attrs?: Record<string, OnnxAttr>) {
      onnxNodes.push({
        name: `${currentNode}#${onnxNodes.length}`,
        opType,
        input: [...inputs],
        output: [...outputs],
        attribute: Object.entries(attrs ?? {}).map(([k, a]) => attributeProto(k, a)),
      });
    },
    int64(values) {
      const key = values.join(',');
      let name = int64Cache.get(key);
      if (!name) {
        name = `i64_${int64Cache.size}`;
        int64Cache.set(key, name);
        initializers.push(
          tensorProto(name, hostTensor('int64', [values.length], BigInt64Array.from(values, BigInt))),
        );
      }
      return name;
    },
    scalar(value, dtype) {
      const name = `scalar_${tempId++}`;
      const t = hostTensor(dtype, []);
      if (t.data instanceof BigInt64Array) t.data[0] = BigInt(value);
      else t.data[0] = value;
      initializers.push(tensorProto(name, t));
      return name;
    },
    temp: () => `t${tempId++}`,
  };

  for (const node of nodes) {
    for (const x of node.inputs) if (graph.constants.has(x)) usedConstants.add(x);
    currentNode = `${node.scope ? `${node.scope}/` : ''}${node.op}_${node.id}`;
    primitiveOf(node.op).emit(emitter, {
      inputs: node.inputs.map(nameOf),
      outputs: node.outputs.map(nameOf),
      attrs: node.attrs,
      inputTypes: node.inputs,
      outputTypes: node.outputs,
    });
  }
  // Outputs that are inputs, constants or repeated values get an Identity node under their own name.
  for (const [name, v] of outputEntries) {
    if (renamed.has(name)) continue;
    if (graph.constants.has(v)) usedConstants.add(v);
    currentNode = `output_${name}`;
    emitter.node('Identity', [nameOf(v)], [name]);
  }

  const usedInputs = new Set<Value>();
  for (const node of nodes) for (const x of node.inputs) if (x.source.kind === 'input') usedInputs.add(x);
  for (const [, v] of outputEntries) if (v.source.kind === 'input') usedInputs.add(v);
  const inputs = graph.inputs
    .filter((v) => usedInputs.has(v))
    .map((v) => ({ name: nameOf(v), dtype: v.dtype, shape: v.shape }));
  const outputs = outputEntries.map(([name, v]) => ({ name, dtype: v.dtype, shape: v.shape }));

  for (const v of usedConstants) initializers.push(tensorProto(nameOf(v), graph.constants.get(v)!));
  const externalData = moveToExternalData(initializers, options);

  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'masam',
    graph: {
      name: options.graphName ?? 'masam',
      node: onnxNodes,
      initializer: initializers,
      input: inputs.map((s) => valueInfo(s.name, s.dtype, s.shape)),
      output: outputs.map((s) => valueInfo(s.name, s.dtype, s.shape)),
    },
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  return { model: bytes, inputs, outputs, ...(externalData ? { externalData } : {}) };
}

function moveToExternalData(
  initializers: onnxProto.onnx.ITensorProto[],
  options: ExportOptions,
): ExportedModel['externalData'] | undefined {
  const total = initializers.reduce((n, t) => n + (t.rawData?.byteLength ?? 0), 0);
  if (total <= (options.externalDataThreshold ?? DEFAULT_EXTERNAL_THRESHOLD)) return undefined;
  const location = options.externalDataLocation ?? 'model.onnx.data';
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of initializers) {
    const raw = t.rawData;
    if (!raw || raw.byteLength < EXTERNAL_MIN_TENSOR_BYTES) continue;
    const padding = (EXTERNAL_ALIGN - (offset % EXTERNAL_ALIGN)) % EXTERNAL_ALIGN;
    if (padding > 0) chunks.push(new Uint8Array(padding));
    offset += padding;
    chunks.push(raw);
    t.rawData = null;
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.byteLength) },
    ];
    offset += raw.byteLength;
  }
  return { location, chunks, byteLength: offset };
}
