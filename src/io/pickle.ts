// Allowlisted pickle reader and a small opcode writer for PyTorch's data.pkl (masam-spec 7.1).
// The reader never executes code: GLOBAL resolves only through the caller's table of plain functions,
// and every opcode outside the protocol-2 state-dict subset (plus protocol-4 framing) is refused.
import { FormatError } from '../core/errors.js';

/** Python values as the reader builds them. Ints are numbers (bigint past 2^53); lists are arrays. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PyTuple
  | PyDict
  | PyGlobal
  | PyOpaque;

/** Hashable values usable as dict keys here (tuple keys are refused). */
export type PickleKey = string | number | bigint | boolean | null;

/** A Python tuple (arrays stand for lists). */
export class PyTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** A Python dict or OrderedDict (`className` tells which), in insertion order. */
export class PyDict {
  readonly entries = new Map<PickleKey, PickleValue>();
  constructor(readonly className = 'dict') {}
}

/** A global the caller allowed; REDUCE calls `call` with the argument tuple's items. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly call: (args: readonly PickleValue[]) => PickleValue,
  ) {}
}

/** Base of the caller's own objects (storages, tensor descriptors) that travel through the stack. */
export abstract class PyOpaque {
  abstract readonly typeName: string;
}

/** What the caller supplies: the allowlist and the persistent-id resolver. */
export interface UnpickleHooks {
  /** The allowed global `module.name`, or undefined to refuse it. */
  findGlobal(module: string, name: string): PyGlobal | undefined;
  /** Resolves a BINPERSID id (PyTorch: a storage tuple); throw an Error to refuse it. */
  persistentLoad(pid: PickleValue): PickleValue;
}

/** Parses 'hex NAME' pairs (pickletools' names) into a code → name table. */
function opcodeTable(pairs: string): Record<number, string> {
  const table: Record<number, string> = {};
  for (const pair of pairs.trim().split(/\s*,\s*/)) {
    const [code, name] = pair.split(' ');
    table[Number.parseInt(code!, 16)] = name!;
  }
  return table;
}

/** Opcodes this reader implements: protocol 2's state-dict subset, a few of protocols 3-4 (framing, bytes). */
const OP_NAMES = opcodeTable(`
  80 PROTO, 95 FRAME, 2e STOP, 28 MARK, 30 POP, 31 POP_MARK, 32 DUP, 4e NONE, 88 NEWTRUE, 89 NEWFALSE,
  4a BININT, 4b BININT1, 4d BININT2, 8a LONG1, 8b LONG4, 47 BINFLOAT, 58 BINUNICODE, 8c SHORT_BINUNICODE,
  8d BINUNICODE8, 42 BINBYTES, 43 SHORT_BINBYTES, 7d EMPTY_DICT, 5d EMPTY_LIST, 29 EMPTY_TUPLE, 74 TUPLE,
  85 TUPLE1, 86 TUPLE2, 87 TUPLE3, 6c LIST, 64 DICT, 61 APPEND, 65 APPENDS, 73 SETITEM, 75 SETITEMS,
  71 BINPUT, 72 LONG_BINPUT, 94 MEMOIZE, 68 BINGET, 6a LONG_BINGET, 63 GLOBAL, 93 STACK_GLOBAL, 52 REDUCE,
  62 BUILD, 51 BINPERSID`);

/** Opcodes recognised but deliberately not implemented (text protocol 0, object construction, sets, buffers). */
const REFUSED = opcodeTable(`
  49 INT, 4c LONG, 53 STRING, 54 BINSTRING, 55 SHORT_BINSTRING, 56 UNICODE, 46 FLOAT, 67 GET, 70 PUT,
  50 PERSID, 69 INST, 6f OBJ, 81 NEWOBJ, 92 NEWOBJ_EX, 82 EXT1, 83 EXT2, 84 EXT4, 8e BINBYTES8, 8f EMPTY_SET,
  90 ADDITEMS, 91 FROZENSET, 96 BYTEARRAY8, 97 NEXT_BUFFER, 98 READONLY_BUFFER`);

/** Names of every opcode the reader implements (documentation and tests). */
export const SUPPORTED_OPCODES: readonly string[] = Object.values(OP_NAMES);

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isKey(v: PickleValue): v is PickleKey {
  const t = typeof v;
  return v === null || t === 'string' || t === 'number' || t === 'bigint' || t === 'boolean';
}

/** Python's repr-ish description of a value's type, for error messages. */
export function describe(v: PickleValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyTuple) return `tuple of ${v.items.length}`;
  if (v instanceof PyDict) return v.className;
  if (v instanceof PyGlobal) return `${v.module}.${v.name}`;
  if (v instanceof PyOpaque) return v.typeName;
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint' || Number.isInteger(v)) return 'int';
  return 'float';
}

/**
 * Reads one pickle from `bytes`. Errors are `FormatError`s naming `source`, the opcode and its byte offset;
 * errors thrown by the hooks or by a global's `call` are wrapped the same way.
 */
export function unpickle(bytes: Uint8Array, source: string, hooks: UnpickleHooks): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: PickleValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;
  let opAt = 0;
  let op = 0;
  function fail(problem: string): never {
    const name = OP_NAMES[op] ?? REFUSED[op] ?? `0x${op.toString(16).padStart(2, '0')}`;
    throw new FormatError(source, `pickle opcode ${name} at byte ${opAt}: ${problem}`);
  }
  const need = (n: number): number => {
    if (pos + n > bytes.length) fail(`needs ${n} bytes but the pickle ends at byte ${bytes.length}`);
    const at = pos;
    pos += n;
    return at;
  };
  // As in Python's unpickler, a MARK starts a new frame: pop and top never reach below it.
  const floor = () => (marks.length > 0 ? marks[marks.length - 1]! : 0);
  const pop = (): PickleValue => {
    if (stack.length <= floor()) fail('stack underflow');
    return stack.pop()!;
  };
  const top = (): PickleValue => {
    if (stack.length <= floor()) fail('stack underflow');
    return stack[stack.length - 1]!;
  };
  const popMark = (): PickleValue[] => {
    if (marks.length === 0) fail('no MARK on the stack');
    return stack.splice(marks.pop()!);
  };
  const readLine = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated line');
    const at = pos;
    pos = end + 1;
    try {
      return utf8.decode(bytes.subarray(at, end));
    } catch {
      fail('invalid UTF-8');
    }
  };
  const readString = (n: number): string => {
    const at = need(n);
    try {
      return utf8.decode(bytes.subarray(at, at + n));
    } catch {
      fail('invalid UTF-8');
    }
  };
  const put = (index: number) => memo.set(index, top());
  const get = (index: number): PickleValue => {
    if (!memo.has(index)) fail(`memo entry ${index} was never stored`);
    return memo.get(index)!;
  };
  const setItems = (dict: PickleValue, items: PickleValue[]) => {
    if (!(dict instanceof PyDict)) fail(`expects a dict, found ${describe(dict)}`);
    if (items.length % 2 !== 0) fail('odd number of items');
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i]!;
      if (!isKey(k)) fail(`dict key of type ${describe(k)} is not supported`);
      dict.entries.set(k, items[i + 1]!);
    }
  };
  const resolveGlobal = (module: string, name: string): PyGlobal => {
    const g = hooks.findGlobal(module, name);
    if (!g) fail(`global '${module}.${name}' is not allowed`);
    return g;
  };
  const guarded = <T>(f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (err instanceof FormatError) throw err;
      fail((err as Error).message);
    }
  };

  for (;;) {
    if (pos >= bytes.length) throw new FormatError(source, `pickle ends at byte ${pos} without STOP`);
    opAt = need(1);
    op = bytes[opAt]!;
    switch (op) {
      case 0x80: {
        // PROTO: protocols 0-5 share the opcodes read here; higher ones are unknown.
        const proto = bytes[need(1)]!;
        if (proto > 5) fail(`protocol ${proto} is not supported`);
        break;
      }
      case 0x95: // FRAME: an 8-byte frame length, a hint only.
        need(8);
        break;
      case 0x2e: {
        if (marks.length > 0) fail('a MARK is left open');
        if (stack.length !== 1) fail(`${stack.length} values on the stack, expected 1`);
        return stack[0]!;
      }
      case 0x28:
        marks.push(stack.length);
        break;
      case 0x30:
        pop();
        break;
      case 0x31:
        popMark();
        break;
      case 0x32:
        stack.push(top());
        break;
      case 0x4e:
        stack.push(null);
        break;
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x4a:
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b:
        stack.push(bytes[need(1)]!);
        break;
      case 0x4d:
        stack.push(view.getUint16(need(2), true));
        break;
      case 0x8a:
      case 0x8b: {
        // LONG1 / LONG4: little-endian two's complement of n bytes.
        const n = op === 0x8a ? bytes[need(1)]! : view.getInt32(need(4), true);
        if (n < 0) fail('negative length');
        const at = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]!);
        if (n > 0 && bytes[at + n - 1]! >= 0x80) v -= 1n << BigInt(8 * n);
        const small = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
        stack.push(small ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT is big-endian.
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58:
        stack.push(readString(view.getUint32(need(4), true)));
        break;
      case 0x8c:
        stack.push(readString(bytes[need(1)]!));
        break;
      case 0x8d: {
        const n = Number(view.getBigUint64(need(8), true));
        stack.push(readString(n));
        break;
      }
      case 0x42:
      case 0x43: {
        const n = op === 0x42 ? view.getUint32(need(4), true) : bytes[need(1)]!;
        const at = need(n);
        stack.push(new Uint8Array(bytes.subarray(at, at + n)));
        break;
      }
      case 0x7d:
        stack.push(new PyDict());
        break;
      case 0x5d:
        stack.push([]);
        break;
      case 0x29:
        stack.push(new PyTuple([]));
        break;
      case 0x74:
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        const n = op - 0x84;
        const items: PickleValue[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        stack.push(new PyTuple(items));
        break;
      }
      case 0x6c:
        stack.push(popMark());
        break;
      case 0x64: {
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x61: {
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail(`expects a list, found ${describe(list)}`);
        list.push(v);
        break;
      }
      case 0x65: {
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail(`expects a list, found ${describe(list)}`);
        list.push(...items);
        break;
      }
      case 0x73: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71:
        put(bytes[need(1)]!);
        break;
      case 0x72:
        put(view.getUint32(need(4), true));
        break;
      case 0x94:
        put(memo.size);
        break;
      case 0x68:
        stack.push(get(bytes[need(1)]!));
        break;
      case 0x6a:
        stack.push(get(view.getUint32(need(4), true)));
        break;
      case 0x63: {
        const module = readLine();
        const name = readLine();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('module and name must be strings');
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x52: {
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PyGlobal)) fail(`cannot call a ${describe(callable)}`);
        if (!(args instanceof PyTuple)) fail(`arguments must be a tuple, found ${describe(args)}`);
        stack.push(guarded(() => callable.call(args.items)));
        break;
      }
      case 0x62: {
        // BUILD sets object state. Only dicts take it (OrderedDict's `_metadata` attribute): ignored.
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict)) fail(`cannot set state (${describe(state)}) on a ${describe(obj)}`);
        break;
      }
      case 0x51: {
        const pid = pop();
        stack.push(guarded(() => hooks.persistentLoad(pid)));
        break;
      }
      default:
        fail(REFUSED[op] ? 'not supported by this reader' : 'unknown opcode');
    }
  }
}

/**
 * Emits protocol-2 opcodes with a memo numbered as Python's pickler numbers it, so a caller that saves
 * values in Python's order reproduces `pickle.dumps` byte for byte.
 */
export class PickleWriter {
  private buf = new Uint8Array(1024);
  private length = 0;
  private memoSize = 0;
  private readonly sharedMemo = new Map<string, number>();
  private readonly encoder = new TextEncoder();

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }

  /** Raw opcode byte(s). */
  op(...codes: number[]): this {
    this.reserve(codes.length);
    for (const c of codes) this.buf[this.length++] = c;
    return this;
  }

  private u32(v: number): this {
    this.reserve(4);
    new DataView(this.buf.buffer).setUint32(this.length, v, true);
    this.length += 4;
    return this;
  }

  /** Memoizes the top of the stack (BINPUT / LONG_BINPUT) and returns its memo index. */
  put(): number {
    const i = this.memoSize++;
    if (i < 256) this.op(0x71, i);
    else this.op(0x72).u32(i);
    return i;
  }

  /** Pushes memo entry `i` (BINGET / LONG_BINGET). */
  get(i: number): this {
    return i < 256 ? this.op(0x68, i) : this.op(0x6a).u32(i);
  }

  /**
   * Saves one shared Python object: emitted and memoized the first time, BINGET afterwards (Python memoizes
   * by object identity, so e.g. the literal 'storage' or a class is written once per pickle).
   */
  shared(key: string, emit: () => void): this {
    const i = this.sharedMemo.get(key);
    if (i !== undefined) return this.get(i);
    emit();
    this.sharedMemo.set(key, this.put());
    return this;
  }

  /** BINUNICODE (protocol 2 has no short form). */
  unicode(s: string): this {
    const b = this.encoder.encode(s);
    this.op(0x58).u32(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /** GLOBAL `module\nname\n`. */
  global(module: string, name: string): this {
    const b = this.encoder.encode(`${module}\n${name}\n`);
    this.op(0x63);
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /** An int the way Python's save_long writes it (BININT1/2, BININT, else LONG1). */
  int(v: number | bigint): this {
    const n = BigInt(v);
    if (n >= 0n && n <= 0xffn) return this.op(0x4b, Number(n));
    if (n >= 0n && n <= 0xffffn) return this.op(0x4d, Number(n) & 0xff, Number(n) >> 8);
    if (n >= -0x80000000n && n <= 0x7fffffffn) return this.op(0x4a).u32(Number(BigInt.asUintN(32, n)));
    // encode_long: minimal two's complement, little-endian.
    const bytes: number[] = [];
    let x = n;
    do {
      bytes.push(Number(BigInt.asUintN(8, x)));
      x >>= 8n;
    } while (
      !((x === 0n && bytes[bytes.length - 1]! < 0x80) || (x === -1n && bytes[bytes.length - 1]! >= 0x80))
    );
    if (bytes.length > 255) throw new RangeError('PickleWriter: int too large for LONG1');
    return this.op(0x8a, bytes.length, ...bytes);
  }

  bool(v: boolean): this {
    return this.op(v ? 0x88 : 0x89);
  }

  mark(): this {
    return this.op(0x28);
  }

  /**
   * Closes a tuple of `n` saved items as save_tuple does: EMPTY_TUPLE (not memoized) for none, TUPLE1-3,
   * else TUPLE after the MARK the caller wrote before the items; then memoizes it.
   */
  tuple(n: number): this {
    if (n === 0) return this.op(0x29);
    this.op(n <= 3 ? 0x84 + n : 0x74);
    this.put();
    return this;
  }

  /** The pickle so far. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Opcode bytes the writer's callers use by name. */
export const OP = {
  PROTO: 0x80,
  STOP: 0x2e,
  EMPTY_DICT: 0x7d,
  EMPTY_TUPLE: 0x29,
  REDUCE: 0x52,
  BINPERSID: 0x51,
  SETITEM: 0x73,
  SETITEMS: 0x75,
} as const;
