// Malicious pickles, as an attacker would put them in a checkpoint's data.pkl: a call of os.system,
// subprocess, builtins.eval/exec/open, runpy, … reached through each opcode that can call (GLOBAL or
// STACK_GLOBAL + REDUCE, INST, OBJ, a BUILD state, an allowed global's argument, a memoised callable,
// protocol 0 text), at the top level or inside a state dict. Each one, unpickled by Python, creates the file `marker` — so a test can check in
// Python that they are live exploits, and in masam that every one is refused and none runs.
import { writeStoredZip } from '../../src/io/zip.js';

export interface MaliciousPickle {
  /** e.g. 'os.system via INST, inside a state dict'. */
  readonly name: string;
  readonly pickle: Uint8Array;
}

/** A call whose effect is creating `marker`: the callable and its arguments (strings or a list of them). */
interface Payload {
  readonly module: string;
  readonly callable: string;
  readonly args: (marker: string) => readonly (string | readonly string[] | Record<string, never>)[];
}

const shell = (m: string) => [`touch '${m}'`];
const argv = (m: string) => [['touch', m]];
const python = (m: string) => [`open(${JSON.stringify(m)}, 'w').close()`];

const PAYLOADS: readonly Payload[] = [
  { module: 'os', callable: 'system', args: shell },
  { module: 'posix', callable: 'system', args: shell },
  { module: 'os', callable: 'popen', args: shell },
  { module: 'subprocess', callable: 'getoutput', args: shell },
  { module: 'subprocess', callable: 'getstatusoutput', args: shell },
  { module: 'subprocess', callable: 'Popen', args: argv },
  { module: 'subprocess', callable: 'call', args: argv },
  { module: 'subprocess', callable: 'run', args: argv },
  { module: 'subprocess', callable: 'check_call', args: argv },
  { module: 'subprocess', callable: 'check_output', args: argv },
  { module: 'builtins', callable: 'eval', args: python },
  { module: 'builtins', callable: 'exec', args: python },
  { module: 'builtins', callable: 'open', args: (m) => [m, 'w'] },
  { module: '__builtin__', callable: 'eval', args: python }, // Python 2's name; protocol < 3 maps it
  { module: 'runpy', callable: '_run_code', args: (m) => [python(m)[0]!, {}] },
];

/** Pickle bytes, opcode by opcode. */
class Ops {
  private readonly parts: number[] = [];
  constructor(private readonly longStrings: boolean) {}
  op(...codes: number[]): this {
    this.parts.push(...codes);
    return this;
  }
  ascii(text: string): this {
    return this.op(...new TextEncoder().encode(text));
  }
  /** A str: SHORT_BINUNICODE or BINUNICODE. */
  str(text: string): this {
    const b = new TextEncoder().encode(text);
    if (this.longStrings) this.op(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, 0);
    else this.op(0x8c, b.length);
    return this.op(...b);
  }
  value(v: string | readonly string[] | Record<string, never>): this {
    if (typeof v === 'string') return this.str(v);
    if (Array.isArray(v)) {
      this.op(0x5d, 0x28); // EMPTY_LIST MARK
      for (const s of v) this.str(s);
      return this.op(0x65); // APPENDS
    }
    return this.op(0x7d); // EMPTY_DICT
  }
  /** MARK args TUPLE */
  tuple(args: readonly (string | readonly string[] | Record<string, never>)[]): this {
    this.op(0x28);
    for (const a of args) this.value(a);
    return this.op(0x74);
  }
  global(module: string, name: string): this {
    return this.op(0x63).ascii(`${module}\n${name}\n`);
  }
  bytes(): Uint8Array {
    return Uint8Array.from([...this.parts, 0x2e]); // STOP
  }
}

/** How the call is reached: writes opcodes that leave the call's result on the stack. */
type Style = (o: Ops, p: Payload, marker: string) => void;

const STYLES: Readonly<Record<string, Style>> = {
  'GLOBAL + REDUCE': (o, p, m) => o.global(p.module, p.callable).tuple(p.args(m)).op(0x52),
  'STACK_GLOBAL + REDUCE': (o, p, m) => o.str(p.module).str(p.callable).op(0x93).tuple(p.args(m)).op(0x52),
  INST: (o, p, m) => {
    o.op(0x28);
    for (const a of p.args(m)) o.value(a);
    o.op(0x69).ascii(`${p.module}\n${p.callable}\n`);
  },
  OBJ: (o, p, m) => {
    o.op(0x28).global(p.module, p.callable);
    for (const a of p.args(m)) o.value(a);
    o.op(0x6f);
  },
  'BUILD state of an OrderedDict': (o, p, m) => {
    o.global('collections', 'OrderedDict').op(0x29, 0x52); // OrderedDict()
    o.op(0x7d).str('_metadata'); // state {'_metadata': <call>}
    STYLES['GLOBAL + REDUCE']!(o, p, m);
    o.op(0x73, 0x62); // SETITEM BUILD
  },
  'argument of an allowed global (OrderedDict)': (o, p, m) => {
    o.global('collections', 'OrderedDict').op(0x28);
    STYLES['GLOBAL + REDUCE']!(o, p, m);
    o.op(0x74, 0x52); // TUPLE REDUCE: OrderedDict(<call>)
  },
  'memoised callable (BINPUT, POP, BINGET)': (o, p, m) =>
    o
      .global(p.module, p.callable)
      .op(0x71, 7, 0x30, 0x68, 7) // BINPUT 7, POP, BINGET 7
      .tuple(p.args(m))
      .op(0x52),
  'protocol 4 FRAME + STACK_GLOBAL': (o, p, m) => {
    const inner = new Ops(false);
    STYLES['STACK_GLOBAL + REDUCE']!(inner, p, m);
    const body = inner.bytes().subarray(0, -1);
    o.op(0x95, body.length & 0xff, (body.length >> 8) & 0xff, 0, 0, 0, 0, 0, 0).op(...body);
  },
  'protocol 0 text (MARK, UNICODE, TUPLE, REDUCE)': (o, p, m) => {
    o.global(p.module, p.callable).op(0x28);
    for (const a of p.args(m)) {
      if (typeof a === 'string') o.op(0x56).ascii(`${a}\n`);
      else o.value(a);
    }
    o.op(0x74, 0x52);
  },
};

/**
 * Every payload × style × string encoding × placement (top level, or the value of a state-dict entry);
 * `marker(i)` names the file pickle i creates when Python unpickles it.
 */
export function maliciousPickles(marker: (i: number) => string): MaliciousPickle[] {
  const out: MaliciousPickle[] = [];
  for (const p of PAYLOADS) {
    for (const [styleName, style] of Object.entries(STYLES)) {
      for (const longStrings of [false, true]) {
        for (const nested of [false, true]) {
          const o = new Ops(longStrings);
          // Protocol 2 except where the style needs 4; `__builtin__` is only mapped for protocol < 3.
          o.op(0x80, styleName.includes('STACK_GLOBAL') && p.module !== '__builtin__' ? 4 : 2);
          if (nested) o.op(0x7d).str('image_encoder.pos_embed');
          style(o, p, marker(out.length));
          if (nested) o.op(0x73); // SETITEM
          out.push({
            name: `${p.module}.${p.callable} via ${styleName}, ${longStrings ? 'BINUNICODE' : 'SHORT_BINUNICODE'}${nested ? ', inside a state dict' : ''}`,
            pickle: o.bytes(),
          });
        }
      }
    }
  }
  return out;
}

/** A pickle as the data.pkl of a .pth checkpoint (what a user would be handed). */
export function asCheckpoint(pickle: Uint8Array): Uint8Array {
  return writeStoredZip([
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
  ]);
}
