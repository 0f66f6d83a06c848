// PyTorch checkpoint files (`torch.save` zip format, masam-spec 7.1 and 7.4): reads a state dict through an
// allowlisted unpickler into host tensors, and writes MA-SAM's save format as PyTorch 1.13 writes it.
import { type DType, type TypedArray, allocate } from '../core/dtype.js';
import { FormatError, MasamError } from '../core/errors.js';
import { type HostTensor, hostTensor } from '../core/host_tensor.js';
import { formatShape, numel } from '../core/shape.js';
import {
  describe,
  OP,
  type PickleValue,
  PickleWriter,
  PyDict,
  PyGlobal,
  PyOpaque,
  PyTuple,
  unpickle,
} from './pickle.js';
import { widenHalf } from './safetensors.js';
import { readZip, writeStoredZip, type ZipRecord } from './zip.js';

/** One checkpoint entry: its key, its tensor, and whether it was (or is to be) pickled as a Parameter. */
export interface PthTensor {
  readonly key: string;
  readonly tensor: HostTensor;
  /** Pickled through `torch._utils._rebuild_parameter` (MA-SAM's FacT cores, spec 7.1). */
  readonly parameter?: boolean;
}

export interface WritePthOptions {
  /** Top folder inside the zip. torch.save uses the file stem (see `pthArchiveName`); default 'archive'. */
  readonly archiveName?: string;
}

interface StorageKind {
  readonly dtype: DType;
  readonly bytes: number;
  /** Half-precision storages are widened to float32: HostTensor has no 16-bit float type. */
  readonly widen?: 'F16' | 'BF16';
}

const STORAGE_KINDS: Readonly<Record<string, StorageKind>> = {
  FloatStorage: { dtype: 'float32', bytes: 4 },
  DoubleStorage: { dtype: 'float64', bytes: 8 },
  HalfStorage: { dtype: 'float32', bytes: 2, widen: 'F16' },
  BFloat16Storage: { dtype: 'float32', bytes: 2, widen: 'BF16' },
  LongStorage: { dtype: 'int64', bytes: 8 },
  IntStorage: { dtype: 'int32', bytes: 4 },
  ShortStorage: { dtype: 'int16', bytes: 2 },
  CharStorage: { dtype: 'int8', bytes: 1 },
  ByteStorage: { dtype: 'uint8', bytes: 1 },
  BoolStorage: { dtype: 'bool', bytes: 1 },
};

const STORAGE_FOR_DTYPE: Readonly<Partial<Record<DType, string>>> = {
  float32: 'FloatStorage',
  float64: 'DoubleStorage',
  int64: 'LongStorage',
  int32: 'IntStorage',
  int16: 'ShortStorage',
  int8: 'CharStorage',
  uint8: 'ByteStorage',
  bool: 'BoolStorage',
};

/** Every global a checkpoint pickle may name; anything else is refused. */
export const PTH_ALLOWED_GLOBALS: readonly string[] = [
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  ...Object.keys(STORAGE_KINDS).map((s) => `torch.${s}`),
];

/** A storage record, decoded once and shared by every tensor that views it. */
class StorageRef extends PyOpaque {
  readonly typeName = 'torch storage';
  /** Set once a tensor took `data` itself; later views copy so no two tensors alias. */
  claimed = false;
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly data: TypedArray,
  ) {
    super();
  }
}

class TensorRef extends PyOpaque {
  readonly typeName: string;
  constructor(
    readonly tensor: HostTensor,
    readonly parameter: boolean,
  ) {
    super();
    this.typeName = parameter ? 'torch.nn.Parameter' : 'torch.Tensor';
  }
}

/** Copies record bytes into a fresh, aligned typed array (platform little-endian, as every JS engine runs). */
function decodeStorage(raw: Uint8Array, kind: StorageKind): TypedArray {
  if (kind.widen) return widenHalf(raw, kind.widen);
  const copy = new Uint8Array(raw); // a copy even when raw is a Node Buffer (whose slice is a view)
  switch (kind.dtype) {
    case 'float32':
      return new Float32Array(copy.buffer);
    case 'float64':
      return new Float64Array(copy.buffer);
    case 'int64':
      return new BigInt64Array(copy.buffer);
    case 'int32':
      return new Int32Array(copy.buffer);
    case 'int16':
      return new Int16Array(copy.buffer);
    case 'int8':
      return new Int8Array(copy.buffer);
    default:
      return copy;
  }
}

function intTuple(v: PickleValue, what: string): number[] {
  if (!(v instanceof PyTuple)) throw new Error(`${what} must be a tuple, found ${describe(v)}`);
  return v.items.map((x) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) {
      throw new Error(`${what} must hold non-negative ints, found ${String(x)}`);
    }
    return x;
  });
}

/** Elements of `storage` that a (offset, size, stride) view selects, as a new row-major array. */
function materialize(storage: StorageRef, offset: number, size: number[], stride: number[]): HostTensor {
  const n = numel(size);
  const src = storage.data;
  if (size.length !== stride.length) {
    throw new Error(`size ${formatShape(size)} and stride ${formatShape(stride)} differ in rank`);
  }
  if (n > 0) {
    const last = size.reduce((s, d, i) => s + (d - 1) * stride[i]!, offset);
    if (last >= src.length) {
      throw new Error(
        `view (offset ${offset}, size ${formatShape(size)}, stride ${formatShape(stride)}) reaches element ${last} of storage '${storage.key}' with ${src.length}`,
      );
    }
  }
  // Contiguous means row-major strides; dimensions of size 1 may carry any stride (as in torch).
  let expected = 1;
  let contiguous = true;
  for (let i = size.length - 1; i >= 0; i--) {
    if (size[i] !== 1 && stride[i] !== expected) contiguous = false;
    expected *= size[i]!;
  }
  if (contiguous) {
    if (offset === 0 && n === src.length && !storage.claimed) {
      storage.claimed = true;
      return hostTensor(storage.dtype, size, src);
    }
    return hostTensor(storage.dtype, size, src.slice(offset, offset + n));
  }
  // Strided gather: an odometer over the index, row-major.
  const index = new Array<number>(size.length).fill(0);
  const positions = new Float64Array(n);
  let at = offset;
  for (let k = 0; k < n; k++) {
    positions[k] = at;
    for (let d = size.length - 1; d >= 0; d--) {
      index[d]!++;
      at += stride[d]!;
      if (index[d]! < size[d]!) break;
      at -= index[d]! * stride[d]!;
      index[d] = 0;
    }
  }
  if (src instanceof BigInt64Array) {
    const out = new BigInt64Array(n);
    for (let k = 0; k < n; k++) out[k] = src[positions[k]!]!;
    return hostTensor(storage.dtype, size, out);
  }
  const out = allocate(storage.dtype, n) as Exclude<TypedArray, BigInt64Array>;
  for (let k = 0; k < n; k++) out[k] = src[positions[k]!]!;
  return hostTensor(storage.dtype, size, out);
}

/**
 * Reads every tensor of a `torch.save` checkpoint, in file order, with its Parameter flag.
 * The top level must be a dict or OrderedDict of string keys to tensors; a wrapping dict such as
 * `{'model': {...}}` is refused (naming the key) rather than guessed through, since neither SAM releases nor
 * MA-SAM's `save_parameters` wrap, and guessing the right sub-dict is how loaders load the wrong weights.
 * Half and bfloat16 storages are widened to float32; views (offset, strides, shared storages) are
 * materialised so each returned tensor owns its data.
 */
export function readPthTensors(bytes: Uint8Array, source: string): PthTensor[] {
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new FormatError(
      source,
      'not a zip-format PyTorch checkpoint (the legacy pre-1.6 torch.save format is not read; re-save it with a current PyTorch)',
    );
  }
  const zip = readZip(bytes, source);
  const pickles = [...zip.entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    const seen = [...zip.entries.keys()].slice(0, 5).join(', ');
    throw new FormatError(
      source,
      `expected one '<folder>/data.pkl' record, found ${pickles.length} (entries: ${seen}…)`,
    );
  }
  const prefix = pickles[0]!.slice(0, -'data.pkl'.length);
  for (const name of [`${prefix}.data/version`, `${prefix}version`]) {
    if (!zip.entries.has(name)) continue;
    const text = new TextDecoder().decode(zip.read(name)).trim();
    if (!/^[1-9][0-9]*$/.test(text)) {
      throw new FormatError(source, `'${name}' holds '${text}', not a format version`);
    }
    break;
  }
  if (zip.entries.has(`${prefix}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim();
    if (order !== 'little') throw new FormatError(source, `byte order '${order}' is not supported`);
  }

  const storages = new Map<string, StorageRef>();
  const globals = new Map<string, PyGlobal>();
  const define = (module: string, name: string, call: (args: readonly PickleValue[]) => PickleValue) =>
    globals.set(`${module}.${name}`, new PyGlobal(module, name, call));
  define('collections', 'OrderedDict', (args) => {
    if (args.length > 0) throw new Error('OrderedDict is only rebuilt empty (items follow as SETITEMS)');
    return new PyDict('collections.OrderedDict');
  });
  define('torch._utils', '_rebuild_tensor_v2', (args) => {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (args.length !== 6 && args.length !== 7) {
      throw new Error(`_rebuild_tensor_v2 takes 6 or 7 arguments, got ${args.length}`);
    }
    const [storage, offset] = args;
    if (!(storage instanceof StorageRef)) {
      throw new Error(`_rebuild_tensor_v2 needs a storage, got ${describe(storage!)}`);
    }
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) {
      throw new Error(`storage offset must be a non-negative int, got ${String(offset)}`);
    }
    const tensor = materialize(storage, offset, intTuple(args[2]!, 'size'), intTuple(args[3]!, 'stride'));
    return new TensorRef(tensor, false);
  });
  define('torch._utils', '_rebuild_parameter', (args) => {
    // (data, requires_grad, backward_hooks)
    const data = args[0];
    if (args.length !== 3 || !(data instanceof TensorRef)) {
      throw new Error('_rebuild_parameter takes (tensor, requires_grad, hooks)');
    }
    return new TensorRef(data.tensor, true);
  });
  for (const name of Object.keys(STORAGE_KINDS)) {
    define('torch', name, () => {
      throw new Error(`torch.${name} is only allowed inside a persistent id`);
    });
  }

  const pickleName = `${prefix}data.pkl`;
  const root = unpickle(zip.read(pickleName), `${source} (${pickleName})`, {
    findGlobal: (module, name) => globals.get(`${module}.${name}`),
    persistentLoad: (pid) => {
      // ('storage', torch.<Type>Storage, key, location, numel); location ('cpu', 'cuda:0') is ignored.
      const items = pid instanceof PyTuple ? pid.items : [];
      const [tag, type, key, , count] = items;
      if (items.length !== 5 || tag !== 'storage' || !(type instanceof PyGlobal) || typeof key !== 'string') {
        throw new Error(
          `persistent id must be ('storage', type, key, location, numel), got ${describe(pid)}`,
        );
      }
      const kind = type.module === 'torch' ? STORAGE_KINDS[type.name] : undefined;
      if (!kind) throw new Error(`${type.module}.${type.name} is not a storage type`);
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
        throw new Error(`bad numel ${String(count)}`);
      }
      const cached = storages.get(key);
      if (cached) {
        if (cached.dtype !== kind.dtype || cached.data.length !== count) {
          throw new Error(`storage '${key}' is named again with another type or size`);
        }
        return cached;
      }
      const record = `${prefix}data/${key}`;
      if (!zip.entries.has(record)) throw new Error(`storage record '${record}' is missing`);
      const raw = zip.read(record);
      if (raw.length !== count * kind.bytes) {
        throw new Error(
          `storage record '${record}' has ${raw.length} bytes, expected ${count} × ${kind.bytes}`,
        );
      }
      const ref = new StorageRef(key, kind.dtype, decodeStorage(raw, kind));
      storages.set(key, ref);
      return ref;
    },
  });

  if (!(root instanceof PyDict)) {
    throw new FormatError(source, `top level is a ${describe(root)}, not a state dict`);
  }
  const out: PthTensor[] = [];
  for (const [key, value] of root.entries) {
    if (typeof key !== 'string') {
      throw new FormatError(source, `state dict key ${String(key)} is not a string`);
    }
    if (!(value instanceof TensorRef)) {
      throw new FormatError(
        source,
        `'${key}' holds a ${describe(value)}, not a tensor (nested checkpoints are not read)`,
      );
    }
    out.push(
      value.parameter ? { key, tensor: value.tensor, parameter: true } : { key, tensor: value.tensor },
    );
  }
  return out;
}

/** Reads a `torch.save` state dict (spec 7.1) into host tensors in file order; see `readPthTensors`. */
export function readPth(bytes: Uint8Array, source: string): Map<string, HostTensor> {
  return new Map(readPthTensors(bytes, source).map((e) => [e.key, e.tensor]));
}

/** The zip's top folder torch.save derives from a file name: its base name without the last extension. */
export function pthArchiveName(fileName: string): string {
  const base = fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  const stem = dot >= 0 ? base.slice(0, dot) : base;
  return stem || 'archive';
}

/** Contiguous strides as torch computes them: sizes of 0 count as 1, so [1, 0, 64] has strides [64, 64, 1]. */
function torchStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= Math.max(shape[i]!, 1);
  }
  return strides;
}

/**
 * Writes `tensors` as `torch.save` writes a plain dict of them (spec 7.4): pickle protocol 2 with Python's
 * memo numbering, one storage per tensor (`data/0`, `data/1`, … stored in string order), location 'cpu',
 * Parameters through `_rebuild_parameter(tensor, True, OrderedDict())`, then a `version` record of 3,
 * in a stored zip whose records start on 64-byte boundaries. With the keys, tensors and archive name of an
 * official MA-SAM checkpoint the output equals PyTorch 1.13's file byte for byte.
 *
 * @example writePth([{ key: 'q_FacTs_000', tensor, parameter: true }], { archiveName: pthArchiveName('epoch_19.pth') })
 */
export function writePth(tensors: readonly PthTensor[], options: WritePthOptions = {}): Uint8Array {
  const archive = options.archiveName ?? 'archive';
  if (archive === '' || /[/\\]/.test(archive)) {
    throw new MasamError(`writePth: bad archive name '${archive}'`);
  }
  const seen = new Set<string>();
  for (const { key, tensor } of tensors) {
    if (seen.has(key)) throw new MasamError(`writePth: duplicate key '${key}'`);
    seen.add(key);
    if (!STORAGE_FOR_DTYPE[tensor.dtype]) {
      throw new MasamError(`writePth: '${key}' has dtype ${tensor.dtype}, which torch cannot store`);
    }
    if (tensor.data.length !== numel(tensor.shape)) {
      throw new MasamError(
        `writePth: '${key}' has ${tensor.data.length} elements for shape ${formatShape(tensor.shape)}`,
      );
    }
  }

  const w = new PickleWriter();
  w.op(OP.PROTO, 2, OP.EMPTY_DICT).put();
  const saveTensor = (tensor: HostTensor, storageKey: string) => {
    w.shared('g:_rebuild_tensor_v2', () => w.global('torch._utils', '_rebuild_tensor_v2'));
    w.mark();
    // Persistent id ('storage', torch.FloatStorage, key, 'cpu', numel), then BINPERSID.
    w.mark();
    w.shared('s:storage', () => w.unicode('storage'));
    const storageType = STORAGE_FOR_DTYPE[tensor.dtype]!;
    w.shared(`g:${storageType}`, () => w.global('torch', storageType));
    w.unicode(storageKey).put();
    w.shared('s:cpu', () => w.unicode('cpu'));
    w.int(tensor.data.length).tuple(5).op(OP.BINPERSID);
    w.int(0);
    for (const dims of [tensor.shape, torchStrides(tensor.shape)]) {
      if (dims.length > 3) w.mark();
      for (const d of dims) w.int(d);
      w.tuple(dims.length);
    }
    w.bool(false);
    saveEmptyOrderedDict();
    w.tuple(6).op(OP.REDUCE).put();
  };
  const saveEmptyOrderedDict = () => {
    w.shared('g:OrderedDict', () => w.global('collections', 'OrderedDict'));
    w.op(OP.EMPTY_TUPLE, OP.REDUCE).put();
  };

  // Python's _batch_setitems: batches of 1000, a lone item as SETITEM.
  const BATCH = 1000;
  for (let start = 0; start < tensors.length; start += BATCH) {
    const batch = tensors.slice(start, start + BATCH);
    if (batch.length > 1) w.mark();
    batch.forEach(({ key, tensor, parameter }, j) => {
      w.unicode(key).put();
      const storageKey = String(start + j);
      if (parameter) {
        w.shared('g:_rebuild_parameter', () => w.global('torch._utils', '_rebuild_parameter'));
        saveTensor(tensor, storageKey);
        w.bool(true);
        saveEmptyOrderedDict();
        w.tuple(3).op(OP.REDUCE).put();
      } else {
        saveTensor(tensor, storageKey);
      }
    });
    w.op(batch.length > 1 ? OP.SETITEMS : OP.SETITEM);
  }
  w.op(OP.STOP);

  const storages: ZipRecord[] = tensors.map(({ tensor }, i) => ({
    name: `${archive}/data/${i}`,
    data: new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
  }));
  storages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return writeStoredZip([
    { name: `${archive}/data.pkl`, data: w.bytes() },
    ...storages,
    { name: `${archive}/version`, data: new TextEncoder().encode('3\n') },
  ]);
}
