// NRRD ("nearly raw raster data", teem's .nrrd) ↔ Volume, for the 3D label maps and images exchanged with
// 3D Slicer and OHIF's MONAI Label mode. Attached headers only; encodings raw, gzip and ascii; the scalar
// types int8 … uint32, float and double; geometry from `space` + `space directions` + `space origin`,
// converted to and from the RAS+ affine of a Volume. The format: http://teem.sourceforge.net/nrrd/format.html
//
// Geometry. NRRD's per-axis `space directions` are the columns of the affine's 3×3 part (spacing
// included) and `space origin` its translation, both in the named space. LPS (what Slicer and ITK write)
// becomes RAS by negating x and y, LAS by negating x. Files without a named space are read as ITK reads
// them, so a volume lands where Slicer shows it: `space dimension: 3` alone means LPS coordinates; no space
// at all means voxel axes along L, P, S with `spacings` (else 1 mm) and the origin at 0.
import type { DType, TypedArray } from '../core/dtype.js';
import { FormatError, MasamError } from '../core/errors.js';
import { affineProblem, checkAffine, voxelSizes } from './geometry.js';
import { DEFAULT_MAX_INFLATED_BYTES, gunzipPrefix, gzip } from './gzip.js';
import type { Affine, Volume } from './volume.js';

/** The scalar types read and written, by their canonical NRRD names. */
export type NrrdType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float' | 'double';

interface TypeInfo {
  readonly bytes: number;
  /** The Volume dtype the values load into (uint32 as float64, which holds every uint32 exactly, as NIfTI). */
  readonly dtype: DType;
  /** Integer value range; undefined for float and double. */
  readonly range?: readonly [number, number];
}

const TYPES: Readonly<Record<NrrdType, TypeInfo>> = {
  int8: { bytes: 1, dtype: 'int8', range: [-128, 127] },
  uint8: { bytes: 1, dtype: 'uint8', range: [0, 255] },
  int16: { bytes: 2, dtype: 'int16', range: [-32768, 32767] },
  uint16: { bytes: 2, dtype: 'uint16', range: [0, 65535] },
  int32: { bytes: 4, dtype: 'int32', range: [-(2 ** 31), 2 ** 31 - 1] },
  uint32: { bytes: 4, dtype: 'float64', range: [0, 2 ** 32 - 1] },
  float: { bytes: 4, dtype: 'float32' },
  double: { bytes: 8, dtype: 'float64' },
};

/** Every spelling of a type teem accepts (lower case, single spaces) → its canonical name. */
const TYPE_SPELLINGS: Readonly<Record<string, NrrdType>> = {
  'signed char': 'int8',
  int8: 'int8',
  int8_t: 'int8',
  uchar: 'uint8',
  'unsigned char': 'uint8',
  uint8: 'uint8',
  uint8_t: 'uint8',
  short: 'int16',
  'short int': 'int16',
  'signed short': 'int16',
  'signed short int': 'int16',
  int16: 'int16',
  int16_t: 'int16',
  ushort: 'uint16',
  'unsigned short': 'uint16',
  'unsigned short int': 'uint16',
  uint16: 'uint16',
  uint16_t: 'uint16',
  int: 'int32',
  'signed int': 'int32',
  int32: 'int32',
  int32_t: 'int32',
  uint: 'uint32',
  'unsigned int': 'uint32',
  uint32: 'uint32',
  uint32_t: 'uint32',
  float: 'float',
  double: 'double',
};

/** Field identifiers of NRRD0005 (teem's alternate spellings mapped to these in `canonicalField`). */
const FIELDS = new Set([
  'dimension',
  'type',
  'block size',
  'encoding',
  'endian',
  'content',
  'min',
  'max',
  'old min',
  'old max',
  'data file',
  'line skip',
  'byte skip',
  'number',
  'sample units',
  'sizes',
  'spacings',
  'thicknesses',
  'axis mins',
  'axis maxs',
  'centers',
  'labels',
  'units',
  'kinds',
  'space',
  'space dimension',
  'space units',
  'space origin',
  'space directions',
  'measurement frame',
]);

const ALTERNATE_FIELDS: Readonly<Record<string, string>> = {
  blocksize: 'block size',
  oldmin: 'old min',
  oldmax: 'old max',
  datafile: 'data file',
  lineskip: 'line skip',
  byteskip: 'byte skip',
  axismins: 'axis mins',
  axismaxs: 'axis maxs',
  centerings: 'centers',
};

/** Named spaces read, with the signs that turn their coordinates into RAS. */
const SPACE_TO_RAS: Readonly<Record<string, readonly [number, number, number]>> = {
  'right-anterior-superior': [1, 1, 1],
  ras: [1, 1, 1],
  'left-anterior-superior': [-1, 1, 1],
  las: [-1, 1, 1],
  'left-posterior-superior': [-1, -1, 1],
  lps: [-1, -1, 1],
};
const LPS_TO_RAS = SPACE_TO_RAS['lps']!;

/** Per-axis kinds that describe a sampled spatial axis; any other (vector, RGB-color, …) is refused. */
const SPATIAL_KINDS = new Set(['domain', 'space', 'none', '???']);

/** Largest header scanned for the blank line that ends it (Slicer's segmentation headers are some KiB). */
export const NRRD_MAX_HEADER_BYTES = 4 * 1024 ** 2;

/**
 * Decompressed bytes tolerated after the declared data of a gzip-encoded file (ignored); more means wrong
 * sizes or a decompression bomb, refused after inflating only the declared data plus this.
 */
export const NRRD_TRAILING_SLACK = 64 * 1024;

const PLATFORM_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A parsed header: field descriptors by canonical identifier, key/value pairs, where the data starts. */
interface NrrdHeader {
  readonly version: number;
  readonly fields: ReadonlyMap<string, string>;
  readonly keys: ReadonlyMap<string, string>;
  /** Byte offset of the attached data (after the blank line); undefined when the header is not ended. */
  readonly dataOffset: number | undefined;
}

/** The end of the header text and the start of the data: the first empty line (LF LF or LF CR LF). */
function findHeaderEnd(bytes: Uint8Array, limit: number) {
  for (let i = 0; i < limit; i++) {
    if (bytes[i] !== 10) continue;
    if (bytes[i + 1] === 10) return { textEnd: i, dataOffset: i + 2 };
    if (bytes[i + 1] === 13 && bytes[i + 2] === 10) return { textEnd: i, dataOffset: i + 3 };
  }
  return undefined;
}

/** File text quoted in an error message, cut to 64 characters (a hostile line can be megabytes). */
function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

function canonicalField(name: string): string {
  const lower = name.trim().toLowerCase().replace(/\s+/g, ' ');
  return ALTERNATE_FIELDS[lower] ?? lower;
}

/** A key/value pair's value with NRRD's two escapes (`\\` and `\n`) undone. */
function unescapeValue(value: string): string {
  return value.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

function parseHeader(bytes: Uint8Array, source: string): NrrdHeader {
  const magic = new TextDecoder('latin1').decode(bytes.subarray(0, 8));
  if (!/^NRRD\d{4}$/.test(magic)) {
    throw new FormatError(source, `not an NRRD file (starts with ${JSON.stringify(magic)}, not NRRD000X)`);
  }
  const version = Number(magic.slice(4));
  if (version < 1 || version > 5) {
    throw new FormatError(source, `NRRD version ${magic} is not read (NRRD0001 to NRRD0005 are)`);
  }
  const limit = Math.min(bytes.length, NRRD_MAX_HEADER_BYTES);
  const end = findHeaderEnd(bytes, limit);
  if (end === undefined && bytes.length > NRRD_MAX_HEADER_BYTES) {
    throw new FormatError(
      source,
      `no blank line ends the header within its first ${NRRD_MAX_HEADER_BYTES} bytes`,
    );
  }
  const text = new TextDecoder().decode(bytes.subarray(0, end?.textEnd ?? limit));
  const lines = text.split('\n').map((l) => l.trimEnd());
  if (lines[0] !== magic) {
    throw new FormatError(source, `the magic line is ${JSON.stringify(lines[0])}, not ${magic} alone`);
  }
  const fields = new Map<string, string>();
  const keys = new Map<string, string>();
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.startsWith('#') || line === '') continue;
    const field = line.indexOf(': ');
    const key = line.indexOf(':=');
    if (key >= 0 && (field < 0 || key < field)) {
      keys.set(line.slice(0, key), unescapeValue(line.slice(key + 2)));
      continue;
    }
    if (field < 0) {
      throw new FormatError(
        source,
        `header line ${n + 1} is neither "field: value" nor "key:=value": ${JSON.stringify(clip(line))}`,
      );
    }
    const name = canonicalField(line.slice(0, field));
    if (!FIELDS.has(name)) {
      throw new FormatError(source, `unknown header field '${clip(line.slice(0, field))}' (line ${n + 1})`);
    }
    if (fields.has(name)) throw new FormatError(source, `header field '${name}' is given twice`);
    fields.set(name, line.slice(field + 2).trim());
  }
  return { version, fields, keys, dataOffset: end?.dataOffset };
}

function parseInteger(text: string, what: string, source: string): number {
  const n = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new FormatError(source, `${what} '${clip(text)}' is not an integer`);
  return n;
}

/** A float as NRRD writes it (a decimal number, or nan / inf / -inf in any case), else a FormatError. */
function parseFloatField(text: string, what: string, source: string): number {
  const lower = text.toLowerCase();
  if (/^[+-]?nan$/.test(lower)) return Number.NaN;
  if (/^\+?inf$/.test(lower)) return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/.test(lower)) {
    throw new FormatError(source, `${what} '${clip(text)}' is not a number`);
  }
  return Number(lower);
}

/** A "(x,y,z)" vector of `length` numbers, or null for "none". */
function parseVector(text: string, length: number, what: string, source: string): number[] | null {
  if (text === 'none') return null;
  const m = /^\(([^()]*)\)$/.exec(text);
  const parts = m?.[1]?.split(',').map((p) => p.trim());
  if (parts === undefined || parts.length !== length) {
    throw new FormatError(
      source,
      `${what} '${clip(text)}' is not a vector of ${length} numbers like (1,0,0)`,
    );
  }
  return parts.map((p) => {
    const v = parseFloatField(p, what, source);
    if (!Number.isFinite(v)) throw new FormatError(source, `${what} '${clip(text)}' has a non-finite entry`);
    return v;
  });
}

/** The whitespace-separated items of a per-axis field, exactly `dimension` of them. */
function perAxis(fields: ReadonlyMap<string, string>, name: string, dimension: number, source: string) {
  const text = fields.get(name);
  if (text === undefined) return undefined;
  const items = name === 'space directions' ? (text.match(/\([^()]*\)|[^\s()]+/g) ?? []) : text.split(/\s+/);
  if (items.length !== dimension || items.join('').replace(/\s/g, '') !== text.replace(/\s/g, '')) {
    throw new FormatError(
      source,
      `'${name}: ${clip(text)}' does not give one item for each of the ${dimension} axes`,
    );
  }
  return items;
}

function requireField(fields: ReadonlyMap<string, string>, name: string, source: string): string {
  const value = fields.get(name);
  if (value === undefined) throw new FormatError(source, `the header has no '${name}' field`);
  return value;
}

/** The voxel → RAS+ affine of a 3D NRRD's space fields (module comment: what files without a space mean). */
function nrrdAffine(fields: ReadonlyMap<string, string>, source: string): Affine {
  const space = fields.get('space');
  const spaceDimension = fields.get('space dimension');
  let toRas: readonly [number, number, number];
  if (space !== undefined && spaceDimension !== undefined) {
    throw new FormatError(source, "the header gives both 'space' and 'space dimension' (one or the other)");
  } else if (space !== undefined) {
    const signs = SPACE_TO_RAS[space.toLowerCase()];
    if (signs === undefined) {
      throw new FormatError(
        source,
        `space '${clip(space)}' is not read (only right-anterior-superior, left-anterior-superior and left-posterior-superior)`,
      );
    }
    toRas = signs;
  } else if (spaceDimension !== undefined) {
    const d = parseInteger(spaceDimension, 'space dimension', source);
    if (d !== 3) throw new FormatError(source, `space dimension ${d} is not read (only 3)`);
    toRas = LPS_TO_RAS;
  } else {
    for (const name of ['space directions', 'space origin']) {
      if (fields.has(name)) throw new FormatError(source, `'${name}' without 'space' or 'space dimension'`);
    }
    toRas = LPS_TO_RAS;
  }
  const directionItems = perAxis(fields, 'space directions', 3, source);
  let columns: number[][];
  if (directionItems !== undefined) {
    columns = directionItems.map((item, axis) => {
      const v = parseVector(item, 3, 'space direction', source);
      if (v === null) {
        throw new FormatError(
          source,
          `space direction of axis ${axis} is 'none': all 3 axes must be spatial`,
        );
      }
      return v;
    });
  } else {
    const spacings = (perAxis(fields, 'spacings', 3, source) ?? ['nan', 'nan', 'nan']).map((s) => {
      const v = parseFloatField(s, 'spacing', source);
      // NaN is NRRD's "not known": 1 mm, as for a missing field.
      if (Number.isNaN(v)) return 1;
      if (!Number.isFinite(v) || v === 0)
        throw new FormatError(source, `spacing '${clip(s)}' is not a voxel size`);
      return v;
    });
    columns = spacings.map((s, axis) => [0, 1, 2].map((r) => (r === axis ? s : 0)));
  }
  const originText = fields.get('space origin');
  const origin = originText === undefined ? null : parseVector(originText, 3, 'space origin', source);
  const row = (r: number): [number, number, number, number] => {
    const sign = toRas[r]!;
    const at = (v: number) => sign * v + 0; // `+ 0` turns the -0 of a negated zero into 0
    return [at(columns[0]![r]!), at(columns[1]![r]!), at(columns[2]![r]!), at(origin?.[r] ?? 0)];
  };
  return checkAffine([row(0), row(1), row(2), [0, 0, 0, 1]], source, 'space directions');
}

function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let at = 0; at < bytes.length; at += width) bytes.subarray(at, at + width).reverse();
}

/** `count` binary values of `type` at the start of `region`, copied into the Volume dtype. */
function binaryValues(region: Uint8Array, type: NrrdType, count: number, littleEndian: boolean): TypedArray {
  const width = TYPES[type].bytes;
  // A fresh, aligned copy (a Node Buffer's slice is a view into its pool, maybe unaligned).
  const buf = new Uint8Array(count * width);
  buf.set(region.subarray(0, count * width));
  if (littleEndian !== PLATFORM_LE) swapBytes(buf, width);
  const ab = buf.buffer;
  switch (type) {
    case 'int8':
      return new Int8Array(ab);
    case 'uint8':
      return buf;
    case 'int16':
      return new Int16Array(ab);
    case 'uint16':
      return new Uint16Array(ab);
    case 'int32':
      return new Int32Array(ab);
    case 'uint32':
      return Float64Array.from(new Uint32Array(ab));
    case 'float':
      return new Float32Array(ab);
    case 'double':
      return new Float64Array(ab);
  }
}

/** A new zeroed typed array of `count` elements for `dtype` (the numeric dtypes TYPES load into). */
function allocate(dtype: DType, count: number): Exclude<TypedArray, BigInt64Array> {
  switch (dtype) {
    case 'int8':
      return new Int8Array(count);
    case 'int16':
      return new Int16Array(count);
    case 'uint16':
      return new Uint16Array(count);
    case 'int32':
      return new Int32Array(count);
    case 'float32':
      return new Float32Array(count);
    case 'float64':
      return new Float64Array(count);
    default:
      return new Uint8Array(count);
  }
}

/** `count` whitespace-separated values of `type` (the ascii/text encoding). */
function asciiValues(region: Uint8Array, type: NrrdType, count: number, source: string): TypedArray {
  // Each value takes a character and a separator: a region too short is refused before allocating.
  if (count > Math.ceil(region.length / 2)) {
    throw new FormatError(
      source,
      `truncated: ${count} ascii values cannot fit in ${region.length} bytes of data`,
    );
  }
  const info = TYPES[type];
  const out = allocate(info.dtype, count);
  const text = new TextDecoder('latin1').decode(region);
  const tokens = /\S+/g;
  for (let i = 0; i < count; i++) {
    const m = tokens.exec(text);
    if (m === null)
      throw new FormatError(source, `truncated: ${i} ascii values where the sizes need ${count}`);
    const token = m[0];
    let v: number;
    if (info.range !== undefined) {
      v = /^[+-]?\d+$/.test(token) ? Number(token) : Number.NaN;
      if (!(v >= info.range[0] && v <= info.range[1])) {
        throw new FormatError(
          source,
          `ascii value ${i} '${clip(token)}' is not a ${type} (integers ${info.range[0]}..${info.range[1]})`,
        );
      }
    } else {
      v = parseFloatField(token, `ascii value ${i}`, source);
    }
    out[i] = v;
  }
  return out;
}

/** Options of parseNrrd. */
export interface NrrdReadOptions {
  /**
   * Largest image data (sizes × bytes per value on disk) accepted, default DEFAULT_MAX_INFLATED_BYTES
   * (4 GiB). A header declaring more is refused before anything is decompressed or allocated.
   */
  readonly maxBytes?: number;
}

/**
 * Parses a .nrrd file with an attached header into a 3D Volume.
 *
 * Values keep their type (int8, uint8, int16, uint16, int32, float32, float64) except uint32, read as
 * float64. The affine is RAS+ (see the module comment for LPS/LAS and files without a space); `spacing`
 * is the length of each space direction. `source.header` holds the header's fields and key/value pairs
 * (Slicer's segment names and colours are keys).
 *
 * @param source file name used in error messages.
 * @throws FormatError naming `source` for a wrong magic, a detached header (`data file:`), a malformed or
 *   unknown field, a dimension other than 3, a non-spatial axis kind, an unsupported type, encoding or
 *   space, a non-zero line or byte skip, sizes past `options.maxBytes`, truncated data, or gzip data
 *   decompressing past what the sizes declare.
 */
export function parseNrrd(bytes: Uint8Array, source: string, options: NrrdReadOptions = {}): Volume {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_INFLATED_BYTES;
  const header = parseHeader(bytes, source);
  const { fields } = header;
  if (fields.has('data file')) {
    throw new FormatError(
      source,
      `detached header (data file: ${clip(fields.get('data file') ?? '')}): only .nrrd files with the data attached are read`,
    );
  }
  const dimension = parseInteger(requireField(fields, 'dimension', source), 'dimension', source);
  if (dimension !== 3) throw new FormatError(source, `dimension ${dimension}: only 3D volumes are read`);
  const shape = perAxis(fields, 'sizes', 3, source);
  if (shape === undefined) throw new FormatError(source, "the header has no 'sizes' field");
  const sizes = shape.map((s) => {
    const n = parseInteger(s, 'size', source);
    if (n < 1) throw new FormatError(source, `size ${n} is not a positive axis length`);
    return n;
  });
  (perAxis(fields, 'kinds', 3, source) ?? []).forEach((kind, axis) => {
    if (!SPATIAL_KINDS.has(kind.toLowerCase())) {
      throw new FormatError(source, `axis ${axis} has kind '${clip(kind)}': only scalar 3D volumes are read`);
    }
  });
  const typeText = requireField(fields, 'type', source);
  const type = TYPE_SPELLINGS[typeText.toLowerCase().replace(/\s+/g, ' ')];
  if (type === undefined) {
    throw new FormatError(
      source,
      `type '${clip(typeText)}' is not read (only 8-, 16- and 32-bit integers, float and double)`,
    );
  }
  const info = TYPES[type];
  const encodingText = requireField(fields, 'encoding', source).toLowerCase();
  const encoding =
    encodingText === 'raw'
      ? 'raw'
      : encodingText === 'gzip' || encodingText === 'gz'
        ? 'gzip'
        : encodingText === 'ascii' || encodingText === 'text' || encodingText === 'txt'
          ? 'ascii'
          : undefined;
  if (encoding === undefined) {
    throw new FormatError(source, `encoding '${clip(encodingText)}' is not read (only raw, gzip and ascii)`);
  }
  const endian = fields.get('endian')?.toLowerCase();
  if (endian !== undefined && endian !== 'little' && endian !== 'big') {
    throw new FormatError(source, `endian '${clip(fields.get('endian') ?? '')}' is neither little nor big`);
  }
  if (endian === undefined && info.bytes > 1 && encoding !== 'ascii') {
    throw new FormatError(source, `the header has no 'endian' field, needed for ${type} ${encoding} data`);
  }
  for (const skip of ['line skip', 'byte skip']) {
    const text = fields.get(skip);
    if (text !== undefined && parseInteger(text, skip, source) !== 0) {
      throw new FormatError(
        source,
        `${skip} ${clip(text)} is not read (only 0: the data right after the header)`,
      );
    }
  }
  const affine = nrrdAffine(fields, source);

  const count = sizes[0]! * sizes[1]! * sizes[2]!;
  const need = count * info.bytes;
  if (!Number.isSafeInteger(need) || need > maxBytes) {
    throw new FormatError(
      source,
      `sizes [${sizes.join(', ')}] of ${type} declare ${need} bytes, more than the ${maxBytes}-byte limit (maxBytes)`,
    );
  }
  if (header.dataOffset === undefined) {
    throw new FormatError(source, 'no blank line ends the header: the file has no attached data');
  }
  const region = bytes.subarray(header.dataOffset);
  let data: TypedArray;
  if (encoding === 'ascii') {
    data = asciiValues(region, type, count, source);
  } else {
    let raw = region;
    if (encoding === 'gzip') {
      const inflated = gunzipPrefix(region, need + NRRD_TRAILING_SLACK, source);
      if (!inflated.complete) {
        throw new FormatError(
          source,
          `gzip data decompresses past the ${need} bytes the sizes declare (more than ${NRRD_TRAILING_SLACK} extra): wrong sizes or a decompression bomb`,
        );
      }
      raw = inflated.data;
    }
    if (raw.length < need) {
      throw new FormatError(
        source,
        `truncated: sizes [${sizes.join(', ')}] of ${type} need ${need} bytes of ${encoding} data, the file has ${raw.length}`,
      );
    }
    data = binaryValues(raw, type, count, endian !== 'big');
  }
  return {
    data,
    dtype: info.dtype,
    shape: sizes,
    spacing: voxelSizes(affine),
    affine,
    source: {
      format: 'nrrd',
      header: {
        version: header.version,
        fields: Object.fromEntries(fields),
        keys: Object.fromEntries(header.keys),
      },
    },
  };
}

/** Options of serializeNrrd. */
export interface NrrdWriteOptions {
  /** 'raw' (default; what OHIF's nrrd-js reads) or 'gzip'. */
  readonly encoding?: 'raw' | 'gzip';
  /** The stored type; default the volume's own (uint8 for bool, float for float32, double for float64). */
  readonly type?: NrrdType;
}

/** The NRRD type a Volume dtype is written as when no type is asked for (int64 has none: ask for one). */
const DEFAULT_TYPE: Readonly<Partial<Record<DType, NrrdType>>> = {
  bool: 'uint8',
  uint8: 'uint8',
  int8: 'int8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  float32: 'float',
  float64: 'double',
};

/** A typed array of `type` holding `data`'s values, or a MasamError naming the first one it cannot hold. */
function storedValues(data: TypedArray, dtype: DType, type: NrrdType, shape: readonly number[]) {
  if (DEFAULT_TYPE[dtype] === type && !(data instanceof BigInt64Array)) return data;
  const info = TYPES[type];
  const out = type === 'uint32' ? new Uint32Array(data.length) : allocate(info.dtype, data.length);
  const [nx = 1, ny = 1] = shape;
  for (let i = 0; i < data.length; i++) {
    const raw = data[i]!;
    const v = Number(raw);
    const fits =
      info.range !== undefined
        ? Number.isInteger(v) && v >= info.range[0] && v <= info.range[1]
        : type === 'float'
          ? Number.isNaN(v) || Math.fround(v) === v
          : typeof raw !== 'bigint' || BigInt(v) === raw;
    if (!fits) {
      const at = `(${i % nx}, ${Math.floor(i / nx) % ny}, ${Math.floor(i / (nx * ny))})`;
      const can = info.range !== undefined ? `integers ${info.range[0]}..${info.range[1]}` : `${type} values`;
      throw new MasamError(
        `serializeNrrd: value ${String(raw)} at voxel ${at} cannot be stored as ${type} (${can})`,
      );
    }
    out[i] = v;
  }
  return out;
}

/** A number as the header writes it: the shortest decimal that reads back to the same double. */
function formatNumber(x: number): string {
  return Object.is(x, -0) ? '0' : String(x);
}

/**
 * Serializes a 3D Volume as a .nrrd file with an attached header (NRRD0004): the given type, 3 domain
 * axes, little-endian data, and the affine as `space: left-posterior-superior` directions and origin —
 * the form 3D Slicer writes and OHIF's nrrd-js reads.
 *
 * @throws MasamError when the volume is not 3D, its data does not fill its shape, its affine is
 *   impossible, it is int64 without an explicit `options.type`, or a value cannot be stored in the type
 *   (e.g. label 300 or -1 as uint8, 0.1 as float): the message names the value and its voxel.
 */
export function serializeNrrd(volume: Volume, options: NrrdWriteOptions = {}): Uint8Array {
  const { shape, data, dtype, affine } = volume;
  if (shape.length !== 3 || shape.some((d) => !(Number.isInteger(d) && d >= 1))) {
    throw new MasamError(`serializeNrrd: shape [${shape.join(', ')}] is not a 3D volume (3 axes, each ≥ 1)`);
  }
  if (data.length !== shape[0]! * shape[1]! * shape[2]!) {
    throw new MasamError(`serializeNrrd: ${data.length} values do not fill shape [${shape.join(', ')}]`);
  }
  const problem = affineProblem(affine);
  if (problem !== undefined) {
    throw new MasamError(`serializeNrrd: the volume's affine ${problem}; impossible geometry is not written`);
  }
  const type = options.type ?? DEFAULT_TYPE[dtype];
  if (type === undefined || TYPES[type] === undefined) {
    throw new MasamError(
      `serializeNrrd: no NRRD type for ${options.type ?? dtype} values (pass options.type: ${Object.keys(TYPES).join(', ')})`,
    );
  }
  const encoding = options.encoding ?? 'raw';
  if (encoding !== 'raw' && encoding !== 'gzip') {
    throw new MasamError(`serializeNrrd: encoding '${encoding}' is not written (raw or gzip)`);
  }
  const values = storedValues(data, dtype, type, shape);
  const body = new Uint8Array(values.byteLength);
  body.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  if (!PLATFORM_LE) swapBytes(body, TYPES[type].bytes);

  // LPS = RAS with x and y negated; a direction is a column of the affine's 3×3 part.
  const lps = (r: number, c: number) => LPS_TO_RAS[r]! * affine[r]![c]!;
  const vector = (c: number) => `(${[0, 1, 2].map((r) => formatNumber(lps(r, c))).join(',')})`;
  const lines = [
    'NRRD0004',
    '# written by masam',
    `type: ${type}`,
    'dimension: 3',
    'space: left-posterior-superior',
    `sizes: ${shape.join(' ')}`,
    `space directions: ${vector(0)} ${vector(1)} ${vector(2)}`,
    'kinds: domain domain domain',
    ...(TYPES[type].bytes > 1 ? ['endian: little'] : []),
    `encoding: ${encoding}`,
    `space origin: ${vector(3)}`,
    '',
    '',
  ];
  const head = new TextEncoder().encode(lines.join('\n'));
  const payload = encoding === 'gzip' ? gzip(body) : body;
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}
