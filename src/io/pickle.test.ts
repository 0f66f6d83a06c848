// Tests for the allowlisted unpickler and the opcode writer against bytes produced by CPython's pickle.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError } from '../core/errors.js';
import {
  type PickleValue,
  PickleWriter,
  PyDict,
  PyGlobal,
  PyTuple,
  SUPPORTED_OPCODES,
  unpickle,
} from './pickle.js';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!, (b) => Number.parseInt(b, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const noGlobals = {
  findGlobal: () => undefined,
  persistentLoad: () => {
    throw new Error('no persistent ids here');
  },
};
const read = (bytes: Uint8Array) => unpickle(bytes, 'test.pkl', noGlobals);

describe('unpickle', () => {
  it('reads a protocol-2 list, tuple, float, None, dict and bool as CPython wrote them', () => {
    // pickle.dumps([1, (2.5, None), {'a': True}], protocol=2)
    const v = read(hex('80025d7100284b014740040000000000004e8671017d710258010000006171038873652e'));
    assert.ok(Array.isArray(v));
    assert.equal(v[0], 1);
    assert.ok(v[1] instanceof PyTuple);
    assert.deepEqual(v[1].items, [2.5, null]);
    assert.ok(v[2] instanceof PyDict);
    assert.deepEqual([...v[2].entries], [['a', true]]);
  });

  it('reads protocol-4 framing, MEMOIZE and SHORT_BINUNICODE', () => {
    // pickle.dumps({'x': [1, 2, 3], 'y': (1, 2, 3, 4)}, protocol=4)
    const v = read(
      hex('80049522000000000000007d94288c0178945d94284b014b024b03658c017994284b014b024b034b047494752e'),
    );
    assert.ok(v instanceof PyDict);
    assert.deepEqual(v.entries.get('x'), [1, 2, 3]);
    assert.deepEqual((v.entries.get('y') as PyTuple).items, [1, 2, 3, 4]);
  });

  it('reads every int encoding CPython uses, with bigint past 2^53', () => {
    const cases: [string, number | bigint][] = [
      ['4bff', 255],
      ['4dffff', 65535],
      ['4affffffff', -1],
      ['8a050000008000', 2 ** 31],
      ['8a05ffffff7fff', -(2 ** 31) - 1],
      ['8a09000000000000008000', 2n ** 63n],
      ['8a080000000000000080', -(2n ** 63n)],
    ];
    for (const [body, want] of cases) assert.equal(read(hex(`8002${body}2e`)), want, body);
  });

  it('resolves globals only through the hooks and applies them on REDUCE', () => {
    const hooks = {
      findGlobal: (m: string, n: string) =>
        m === 'm' && n === 'f'
          ? new PyGlobal(m, n, (args: readonly PickleValue[]) => `f(${args.join(',')})`)
          : undefined,
      persistentLoad: (pid: PickleValue) => `storage:${String(pid)}`,
    };
    // GLOBAL m.f, (1, 2), REDUCE, then BINPERSID of 'k' as a second tuple item.
    const bytes = hex(
      `8002${toHex(new TextEncoder().encode('cm\nf\n'))}4b014b0286525801000000` + '6b' + '51862e',
    );
    const v = unpickle(bytes, 'h.pkl', hooks);
    assert.ok(v instanceof PyTuple);
    assert.deepEqual(v.items, ['f(1,2)', 'storage:k']);
  });

  it('names the source, opcode and byte offset of malformed input', () => {
    const cases: [string, RegExp][] = [
      ['8002', /ends at byte 2 without STOP/],
      ['8002680a2e', /BINGET at byte 2: memo entry 10 was never stored/],
      ['8002732e', /SETITEM at byte 2: stack underflow/],
      ['8002284b012e', /STOP at byte 5: a MARK is left open/],
      ['80024b014b0262', /BUILD at byte 6: cannot set state/],
      ['8006', /protocol 6/],
      ['8002580500000061622e', /needs 5 bytes/],
    ];
    for (const [body, pattern] of cases) {
      assert.throws(
        () => read(hex(body)),
        (err: unknown) =>
          err instanceof FormatError && err.message.startsWith('test.pkl: ') && pattern.test(err.message),
        body,
      );
    }
  });

  it('implements the opcodes state dicts need', () => {
    for (const op of [
      'GLOBAL',
      'REDUCE',
      'BUILD',
      'BINPERSID',
      'SETITEMS',
      'LONG_BINPUT',
      'LONG1',
      'BINFLOAT',
    ]) {
      assert.ok(SUPPORTED_OPCODES.includes(op), op);
    }
  });
});

describe('PickleWriter', () => {
  it('writes ints byte for byte as CPython protocol 2', () => {
    const cases: [number | bigint, string][] = [
      [0, '4b00'],
      [256, '4d0001'],
      [65536, '4a00000100'],
      [-129, '4a7fffffff'],
      [2 ** 31 - 1, '4affffff7f'],
      [2 ** 31, '8a050000008000'],
      [-(2 ** 31), '4a00000080'],
      [-(2 ** 31) - 1, '8a05ffffff7fff'],
      [2n ** 63n, '8a09000000000000008000'],
      [-(2n ** 63n), '8a080000000000000080'],
      [2n ** 70n, '8a09000000000000000040'],
    ];
    for (const [v, want] of cases) assert.equal(toHex(new PickleWriter().int(v).bytes()), want, String(v));
  });

  it('switches to LONG_BINPUT and LONG_BINGET past memo index 255 and reuses shared objects', () => {
    const w = new PickleWriter();
    for (let i = 0; i < 256; i++) w.op(0x4e).put();
    w.op(0x4e).put();
    w.get(256);
    w.shared('x', () => w.unicode('x'));
    w.shared('x', () => w.unicode('never'));
    const out = toHex(w.bytes());
    assert.ok(out.includes('4e7200010000'), 'LONG_BINPUT 256');
    assert.ok(out.endsWith('6a00010000' + '580100000078' + '7201010000' + '6a01010000'));
  });
});
