// Element types shared by host tensors, graph values and ONNX tensors (onnx.proto TensorProto.DataType).

/** Element types masam handles. Graph math uses float32/float64; the rest carry indices, masks and voxels. */
export type DType =
  | 'float32'
  | 'float64'
  | 'int32'
  | 'int64'
  | 'bool'
  | 'uint8'
  | 'int8'
  | 'int16'
  | 'uint16';

/** Typed array backing each dtype (int64 as BigInt64Array, bool as Uint8Array of 0/1). */
export interface TypedArrayOf {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
  uint8: Uint8Array;
  int8: Int8Array;
  int16: Int16Array;
  uint16: Uint16Array;
}

export type TypedArray = TypedArrayOf[DType];

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE: Readonly<Record<DType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
};

export const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = {
  float32: 4,
  float64: 8,
  int32: 4,
  int64: 8,
  bool: 1,
  uint8: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
};

const CONSTRUCTORS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
} as const;

/** A zero-filled typed array of `n` elements of `dtype`. */
export function allocate<D extends DType>(dtype: D, n: number): TypedArrayOf[D] {
  return new CONSTRUCTORS[dtype](n) as TypedArrayOf[D];
}

export function isFloat(dtype: DType): dtype is 'float32' | 'float64' {
  return dtype === 'float32' || dtype === 'float64';
}

/** The dtype whose typed array `data` is; bool cannot be told from uint8 and is reported as uint8. */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  return 'uint8';
}
