// The spec table: every primitive with input shapes, input domains, dtype and tolerances (JAX's
// LAX_GRAD_OPS). ops.test.ts runs three checks per entry: shape rule = ORT's output shape, ORT forward ≈
// the float64 reference kernel, and a random-direction finite-difference check of the VJP.
import type { Value } from '../src/graph/index.js';
import * as F from '../src/ops/index.js';
import type { PrimitiveName } from '../src/ops/index.js';

/** How input values are drawn: a uniform range, away from zero (kinks), or integer indices. */
export type Domain =
  | 'any'
  | 'positive'
  | 'awayFromZero'
  | 'unit'
  | { readonly int: readonly [number, number] }
  | 'bool';

export interface InputSpec {
  readonly shape: readonly number[];
  readonly domain?: Domain;
  /** Excluded from the VJP check (indices, conditions, …). */
  readonly noGrad?: boolean;
}

export interface OpSpec {
  readonly name: string;
  readonly primitive: PrimitiveName;
  readonly inputs: readonly InputSpec[];
  /** Applies exactly one `primitive` node to the graph inputs (constants allowed). */
  readonly build: (xs: readonly Value[]) => Value | readonly Value[];
  /** float64 unless ORT's CPU kernel only exists in float32. */
  readonly dtype?: 'float32' | 'float64';
  /** Not differentiable: the VJP must give no gradient to any input (instead of the finite-difference check). */
  readonly noVjp?: boolean;
  /** Finite-difference step and tolerance where the dtype's defaults do not fit (e.g. a float32 output). */
  readonly vjpCheck?: { readonly epsilon: number; readonly tol: number };
}

/** ORT CPU has no float64 kernel for Erf, Sin, Cos, Conv, ConvTranspose, Resize (found by probing onnxruntime-node 1.23.2). */
const F32 = 'float32' as const;

export const OP_SPECS: readonly OpSpec[] = [
  // elementwise, with broadcasting in both directions
  {
    name: 'Add broadcasts [2,3,4] + [3,1]',
    primitive: 'Add',
    inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }],
    build: ([a, b]) => F.add(a!, b!),
  },
  {
    name: 'Sub broadcasts [4] - [2,1,4]',
    primitive: 'Sub',
    inputs: [{ shape: [4] }, { shape: [2, 1, 4] }],
    build: ([a, b]) => F.sub(a!, b!),
  },
  {
    name: 'Mul broadcasts [2,1,5] * [3,1]',
    primitive: 'Mul',
    inputs: [{ shape: [2, 1, 5] }, { shape: [3, 1] }],
    build: ([a, b]) => F.mul(a!, b!),
  },
  {
    name: 'Div by values away from zero',
    primitive: 'Div',
    inputs: [{ shape: [3, 4] }, { shape: [4], domain: 'awayFromZero' }],
    build: ([a, b]) => F.div(a!, b!),
  },
  { name: 'Neg', primitive: 'Neg', inputs: [{ shape: [2, 3] }], build: ([a]) => F.neg(a!) },
  { name: 'Exp', primitive: 'Exp', inputs: [{ shape: [2, 3] }], build: ([a]) => F.exp(a!) },
  {
    name: 'Log of positive values',
    primitive: 'Log',
    inputs: [{ shape: [2, 3], domain: 'positive' }],
    build: ([a]) => F.log(a!),
  },
  {
    name: 'Sqrt of positive values',
    primitive: 'Sqrt',
    inputs: [{ shape: [2, 3], domain: 'positive' }],
    build: ([a]) => F.sqrt(a!),
  },
  {
    name: 'Pow with positive base and broadcast exponent',
    primitive: 'Pow',
    inputs: [{ shape: [2, 3], domain: 'positive' }, { shape: [3] }],
    build: ([a, b]) => F.pow(a!, b!),
  },
  { name: 'Erf', primitive: 'Erf', inputs: [{ shape: [3, 5] }], build: ([a]) => F.erf(a!), dtype: F32 },
  { name: 'Sin', primitive: 'Sin', inputs: [{ shape: [3, 5] }], build: ([a]) => F.sin(a!), dtype: F32 },
  { name: 'Cos', primitive: 'Cos', inputs: [{ shape: [3, 5] }], build: ([a]) => F.cos(a!), dtype: F32 },
  { name: 'Tanh', primitive: 'Tanh', inputs: [{ shape: [3, 5] }], build: ([a]) => F.tanh(a!) },
  { name: 'Sigmoid', primitive: 'Sigmoid', inputs: [{ shape: [3, 5] }], build: ([a]) => F.sigmoid(a!) },
  {
    name: 'Relu away from the kink',
    primitive: 'Relu',
    inputs: [{ shape: [3, 5], domain: 'awayFromZero' }],
    build: ([a]) => F.relu(a!),
  },
  {
    name: 'Max broadcasts',
    primitive: 'Max',
    inputs: [{ shape: [3, 4] }, { shape: [4] }],
    build: ([a, b]) => F.maximum(a!, b!),
  },
  {
    name: 'Min broadcasts',
    primitive: 'Min',
    inputs: [{ shape: [3, 1] }, { shape: [3, 4] }],
    build: ([a, b]) => F.minimum(a!, b!),
  },
  {
    name: 'Where broadcasts condition and branches',
    primitive: 'Where',
    inputs: [{ shape: [3, 4], domain: 'bool', noGrad: true }, { shape: [4] }, { shape: [3, 4] }],
    build: ([c, a, b]) => F.where(c!, a!, b!),
  },
  // float → float casts are differentiable (the VJP casts back); casts to integers are not.
  {
    name: 'Cast float32 to float64',
    primitive: 'Cast',
    inputs: [{ shape: [2, 3] }],
    build: ([a]) => F.cast(a!, 'float64'),
    dtype: F32,
  },
  {
    name: 'Cast float64 to float32',
    primitive: 'Cast',
    inputs: [{ shape: [2, 3] }],
    build: ([a]) => F.cast(a!, 'float32'),
    // float32 outputs: the float64 step would only measure float32 rounding.
    vjpCheck: { epsilon: 1e-2, tol: 1e-5 },
  },
  {
    name: 'Cast float64 to int64',
    primitive: 'Cast',
    inputs: [{ shape: [2, 3], domain: 'positive' }],
    build: ([a]) => F.cast(a!, 'int64'),
    noVjp: true,
  },
  {
    name: 'Equal of integers',
    primitive: 'Equal',
    inputs: [
      { shape: [3, 4], domain: { int: [0, 3] } },
      { shape: [4], domain: { int: [0, 3] } },
    ],
    build: ([a, b]) => F.equal(a!, b!),
    noVjp: true,
  },
  {
    name: 'Less',
    primitive: 'Less',
    inputs: [{ shape: [3, 4] }, { shape: [3, 1] }],
    build: ([a, b]) => F.less(a!, b!),
    noVjp: true,
  },
  {
    name: 'Greater',
    primitive: 'Greater',
    inputs: [{ shape: [3, 4] }, { shape: [4] }],
    build: ([a, b]) => F.greater(a!, b!),
    noVjp: true,
  },
  { name: 'Identity', primitive: 'Identity', inputs: [{ shape: [2, 3] }], build: ([a]) => F.identity(a!) },
  // reductions
  {
    name: 'ReduceSum over axes 0 and 2',
    primitive: 'ReduceSum',
    inputs: [{ shape: [2, 3, 4] }],
    build: ([a]) => F.sum(a!, [0, 2]),
  },
  {
    name: 'ReduceSum keepdims',
    primitive: 'ReduceSum',
    inputs: [{ shape: [2, 3, 4] }],
    build: ([a]) => F.sum(a!, [1], true),
  },
  {
    name: 'ReduceMean over the last axis',
    primitive: 'ReduceMean',
    inputs: [{ shape: [2, 3, 4] }],
    build: ([a]) => F.mean(a!, [-1]),
  },
  {
    name: 'ReduceMax keepdims',
    primitive: 'ReduceMax',
    inputs: [{ shape: [3, 5] }],
    build: ([a]) => F.max(a!, [1], true),
  },
  // matmul
  {
    name: 'MatMul 2-D',
    primitive: 'MatMul',
    inputs: [{ shape: [3, 4] }, { shape: [4, 5] }],
    build: ([a, b]) => F.matmul(a!, b!),
  },
  {
    name: 'MatMul broadcasts batch dims',
    primitive: 'MatMul',
    inputs: [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }],
    build: ([a, b]) => F.matmul(a!, b!),
  },
  // movement
  {
    name: 'Reshape',
    primitive: 'Reshape',
    inputs: [{ shape: [2, 3, 4] }],
    build: ([a]) => F.reshape(a!, [6, 4]),
  },
  {
    name: 'Transpose',
    primitive: 'Transpose',
    inputs: [{ shape: [2, 3, 4] }],
    build: ([a]) => F.transpose(a!, [2, 0, 1]),
  },
  {
    name: 'Expand',
    primitive: 'Expand',
    inputs: [{ shape: [3, 1] }],
    build: ([a]) => F.expand(a!, [2, 3, 4]),
  },
  {
    name: 'Slice with offsets',
    primitive: 'Slice',
    inputs: [{ shape: [5, 6] }],
    build: ([a]) => F.slice(a!, [1, 2], [4, 5]),
  },
  {
    name: 'Slice with steps 2 and 3',
    primitive: 'Slice',
    inputs: [{ shape: [7, 8] }],
    build: ([a]) => F.slice(a!, [1, 0], [6, 8], [2, 3]),
  },
  {
    name: 'Pad with a constant',
    primitive: 'Pad',
    inputs: [{ shape: [2, 3] }],
    build: ([a]) => F.pad(a!, [1, 0, 2, 3], 0.5),
  },
  {
    name: 'Concat along axis 1',
    primitive: 'Concat',
    inputs: [{ shape: [2, 3] }, { shape: [2, 1] }, { shape: [2, 2] }],
    build: (xs) => F.concat(xs, 1),
  },
  {
    name: 'Split into three',
    primitive: 'Split',
    inputs: [{ shape: [2, 6] }],
    build: ([a]) => F.split(a!, [1, 2, 3], 1),
  },
  {
    name: 'Gather rows with repeats',
    primitive: 'Gather',
    inputs: [{ shape: [5, 3] }, { shape: [2, 3], domain: { int: [0, 5] }, noGrad: true }],
    build: ([a, i]) => F.gather(a!, i!, 0),
  },
  {
    name: 'Gather along axis 1',
    primitive: 'Gather',
    inputs: [{ shape: [2, 4, 3] }, { shape: [5], domain: { int: [0, 4] }, noGrad: true }],
    build: ([a, i]) => F.gather(a!, i!, 1),
  },
  // convolution
  {
    name: 'Conv1d with stride, padding and dilation',
    primitive: 'Conv',
    dtype: F32,
    inputs: [{ shape: [2, 3, 11] }, { shape: [4, 3, 3] }, { shape: [4] }],
    build: ([x, w, b]) => F.conv(x!, w!, b!, { strides: [2], pads: [1, 2], dilations: [2] }),
  },
  {
    name: 'Conv2d grouped with stride 2',
    primitive: 'Conv',
    dtype: F32,
    inputs: [{ shape: [2, 4, 7, 6] }, { shape: [6, 2, 3, 3] }],
    build: ([x, w]) => F.conv(x!, w!, null, { strides: [2, 2], pads: [1, 1, 1, 1], group: 2 }),
  },
  {
    name: 'Conv2d 1x1',
    primitive: 'Conv',
    dtype: F32,
    inputs: [{ shape: [1, 5, 4, 4] }, { shape: [3, 5, 1, 1] }, { shape: [3] }],
    build: ([x, w, b]) => F.conv(x!, w!, b!),
  },
  {
    name: 'Conv3d depth kernel 3x1x1 with depth padding (the MA-SAM adapter)',
    primitive: 'Conv',
    dtype: F32,
    inputs: [{ shape: [2, 4, 5, 3, 3] }, { shape: [4, 4, 3, 1, 1] }, { shape: [4] }],
    build: ([x, w, b]) => F.conv(x!, w!, b!, { pads: [1, 0, 0, 1, 0, 0] }),
  },
  {
    name: 'Conv3d 3x3x3 strided',
    primitive: 'Conv',
    dtype: F32,
    inputs: [{ shape: [1, 2, 6, 5, 6] }, { shape: [3, 2, 3, 3, 3] }],
    build: ([x, w]) => F.conv(x!, w!, null, { strides: [2, 1, 2], pads: [1, 1, 1, 1, 1, 1] }),
  },
  {
    name: 'ConvTranspose2d 2x2 stride 2 (SAM upscaling)',
    primitive: 'ConvTranspose',
    dtype: F32,
    inputs: [{ shape: [2, 4, 3, 3] }, { shape: [4, 3, 2, 2] }, { shape: [3] }],
    build: ([x, w, b]) => F.convTranspose(x!, w!, b!, { strides: [2, 2] }),
  },
  {
    name: 'ConvTranspose2d 3x3 stride 2 with padding and output padding',
    primitive: 'ConvTranspose',
    dtype: F32,
    inputs: [{ shape: [1, 2, 4, 3] }, { shape: [2, 3, 3, 3] }],
    build: ([x, w]) =>
      F.convTranspose(x!, w!, null, { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 0] }),
  },
  {
    name: 'ConvTranspose1d grouped with dilation',
    primitive: 'ConvTranspose',
    dtype: F32,
    inputs: [{ shape: [2, 4, 5] }, { shape: [4, 3, 2] }],
    build: ([x, w]) => F.convTranspose(x!, w!, null, { strides: [3], dilations: [2], group: 2 }),
  },
  // resize
  {
    name: 'Resize bilinear up (align_corners=False)',
    primitive: 'Resize',
    dtype: F32,
    inputs: [{ shape: [1, 2, 4, 5] }],
    build: ([x]) => F.resize(x!, [1, 2, 8, 7], 'linear'),
  },
  {
    name: 'Resize bilinear down',
    primitive: 'Resize',
    dtype: F32,
    inputs: [{ shape: [1, 1, 9, 8] }],
    build: ([x]) => F.resize(x!, [1, 1, 4, 3], 'linear'),
  },
  {
    name: 'Resize nearest',
    primitive: 'Resize',
    dtype: F32,
    inputs: [{ shape: [1, 2, 3, 5] }],
    build: ([x]) => F.resize(x!, [1, 2, 7, 4], 'nearest'),
  },
  // normalisation
  {
    name: 'Softmax over the last axis',
    primitive: 'Softmax',
    inputs: [{ shape: [3, 6] }],
    build: ([x]) => F.softmax(x!, -1),
  },
  {
    name: 'Softmax over axis 1 of 4',
    primitive: 'Softmax',
    inputs: [{ shape: [2, 4, 3] }],
    build: ([x]) => F.softmax(x!, 1),
  },
  {
    name: 'LogSoftmax over axis 1',
    primitive: 'LogSoftmax',
    inputs: [{ shape: [2, 5, 3] }],
    build: ([x]) => F.logSoftmax(x!, 1),
  },
  {
    name: 'LayerNormalization over the last axis',
    primitive: 'LayerNormalization',
    inputs: [{ shape: [3, 8] }, { shape: [8] }, { shape: [8] }],
    build: ([x, s, b]) => F.layerNormalization(x!, s!, b!, 1e-6),
  },
  {
    name: 'LayerNormalization over the last two axes',
    primitive: 'LayerNormalization',
    inputs: [{ shape: [2, 3, 4] }, { shape: [3, 4] }, { shape: [3, 4] }],
    build: ([x, s, b]) => F.layerNormalization(x!, s!, b!, 1e-5, 1),
  },
];
