// Reads an .onnx file back: its input/output signature and metadata (for sessions from files, the viewer
// and tests of exported models).
import type onnxProto from 'onnx-proto';
import { FormatError } from '../core/errors.js';
import type { TensorSpec } from './export.js';
import { dtypeFromOnnx, onnx } from './proto.js';

export interface ModelSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly opset: number;
  readonly nodeCount: number;
}

export function inspectModel(bytes: Uint8Array, source: string): ModelSignature {
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new FormatError(source, `not an ONNX model (${(err as Error).message})`);
  }
  const graph = model.graph;
  if (!graph) throw new FormatError(source, 'ONNX model has no graph');
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const spec = (v: onnxProto.onnx.IValueInfoProto): TensorSpec => {
    const t = v.type?.tensorType;
    if (!t) throw new FormatError(source, `value '${v.name}' is not a tensor`);
    const dims = (t.shape?.dim ?? []).map((d) => {
      if (d.dimValue === null || d.dimValue === undefined)
        throw new FormatError(source, `'${v.name}' has a symbolic dimension`);
      const n = Number(d.dimValue);
      if (!Number.isSafeInteger(n) || n < 0)
        throw new FormatError(source, `'${v.name}' has dimension ${String(d.dimValue)}`);
      return n;
    });
    const code = t.elemType ?? 0;
    let dtype: TensorSpec['dtype'];
    try {
      dtype = dtypeFromOnnx(code);
    } catch {
      throw new FormatError(source, `'${v.name}' has element type ${code}, which masam does not read`);
    }
    return { name: v.name ?? '', dtype, shape: dims };
  };
  return {
    inputs: (graph.input ?? []).filter((v) => !initializers.has(v.name)).map(spec),
    outputs: (graph.output ?? []).map(spec),
    metadata: Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
    opset: Number(model.opsetImport?.find((o) => !o.domain)?.version ?? 0),
    nodeCount: graph.node?.length ?? 0,
  };
}
