// ONNX protobuf types and constructors from the onnx-proto package (protobufjs-generated, ONNX schema),
// with the few conversions masam needs: host tensor ↔ TensorProto, typed attributes.
import onnxProto from 'onnx-proto';
import { type DType, ONNX_DTYPE } from '../core/dtype.js';
import { FormatError, MasamError } from '../core/errors.js';
import type { HostTensor } from '../core/host_tensor.js';
import type { OnnxAttr } from '../ops/def.js';

export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.ModelProto;

/** The ONNX operator set masam emits; supported by onnxruntime-node and onnxruntime-web alike. */
export const OPSET = 17;
/** IR version 8 is the first that allows opset 17. */
export const IR_VERSION = 8;

const DTYPE_OF_CODE = new Map<number, DType>(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as DType]));

export function dtypeFromOnnx(code: number): DType {
  const d = DTYPE_OF_CODE.get(code);
  if (!d) throw new MasamError(`ONNX element type ${code} is not supported by masam`);
  return d;
}

/** Little-endian bytes of a host tensor (a view when possible: typed arrays are little-endian here). */
export function tensorBytes(t: HostTensor): Uint8Array {
  const d = t.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

export function tensorProto(name: string, t: HostTensor): onnxProto.onnx.ITensorProto {
  return { name, dims: [...t.shape], dataType: ONNX_DTYPE[t.dtype], rawData: tensorBytes(t) };
}

export function attributeProto(name: string, a: OnnxAttr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in a) return { name, type: T.INT, i: a.int };
  if ('float' in a) return { name, type: T.FLOAT, f: a.float };
  if ('ints' in a) return { name, type: T.INTS, ints: [...a.ints] };
  if ('floats' in a) return { name, type: T.FLOATS, floats: [...a.floats] };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.string) };
}

export function valueInfo(
  name: string,
  dtype: DType,
  shape: readonly number[],
): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: { elemType: ONNX_DTYPE[dtype], shape: { dim: shape.map((d) => ({ dimValue: d })) } },
    },
  };
}

/** The values of a FLOAT tensor whose data is inside the model (raw_data or float_data), as a copy. */
export function float32Values(t: onnxProto.onnx.ITensorProto): Float32Array {
  if (t.rawData && t.rawData.byteLength > 0) {
    // raw_data may sit at any offset of the decoded buffer (and Buffer.slice is a view): copy to align.
    return new Float32Array(new Uint8Array(t.rawData).buffer);
  }
  return Float32Array.from(t.floatData ?? []);
}

/** Throws when an initializer's data lives in an external file: graph rewrites need the bytes. */
export function requireInlineData(model: ModelProto, source: string, purpose: string): void {
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const location = t.externalData?.find((e) => e.key === 'location')?.value ?? '?';
      throw new FormatError(
        source,
        `initializer '${t.name}' is stored in external data '${location}'; ${purpose} needs the weights inside the model (load them first)`,
      );
    }
  }
}
