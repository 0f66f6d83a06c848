// Tests for safetensors read/write: the fixtures' inputs and expected files, byte-identical rewriting,
// round trips of every dtype, and refusal of malformed headers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FormatError } from '../core/errors.js';
import { float32, type HostTensor, hostTensor, toFloat64 } from '../core/host_tensor.js';
import { fixturePath } from '../../test/fixtures.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';

/** A file with a hand-written header (padded to 8) and `dataLen` zero data bytes. */
function build(header: unknown, dataLen: number, data?: Uint8Array): Uint8Array {
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - (text.length % 8)) % 8);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  if (data) out.set(data, 8 + json.length);
  return out;
}

function assertRefused(bytes: Uint8Array, pattern: RegExp) {
  assert.throws(
    () => readSafetensors(bytes, 'bad.safetensors'),
    (err: unknown) =>
      err instanceof FormatError &&
      err.message.startsWith('bad.safetensors: safetensors: ') &&
      pattern.test(err.message),
  );
}

const f32 = (shape: number[], begin: number) => ({
  dtype: 'F32',
  shape,
  data_offsets: [begin, begin + 4 * shape.reduce((a, b) => a * b, 1)],
});

describe('readSafetensors on the fixtures', () => {
  it('reads tiny-a inputs: image float32 [1, 5, 3, 128, 128], label int32 with every class, metadata', () => {
    const { tensors, metadata } = readSafetensors(
      readFileSync(fixturePath('tiny-a', 'inputs.safetensors')),
      'inputs',
    );
    assert.deepEqual([...tensors.keys()], ['image', 'label']);
    const image = tensors.get('image')!;
    const label = tensors.get('label')!;
    assert.equal(image.dtype, 'float32');
    assert.deepEqual(image.shape, [1, 5, 3, 128, 128]);
    assert.ok(Array.from(image.data as Float32Array).every((v) => v >= 0 && v <= 1));
    assert.equal(label.dtype, 'int32');
    assert.deepEqual(label.shape, [5, 128, 128]);
    assert.deepEqual([...new Set(label.data as Int32Array)].sort(), [0, 1, 2, 3]);
    assert.deepEqual(metadata, { fixture: 'tiny-a', format: 'pt' });
  });

  it('reads tiny-a expected: the zero-size sparse_embeddings, scalar losses and every gradient', () => {
    const { tensors } = readSafetensors(
      readFileSync(fixturePath('tiny-a', 'expected.safetensors')),
      'expected',
    );
    const sparse = tensors.get('sparse_embeddings')!;
    assert.deepEqual(sparse.shape, [1, 0, 64]);
    assert.equal(sparse.data.length, 0);
    for (const k of ['loss', 'loss_ce', 'loss_dice']) {
      assert.deepEqual(tensors.get(k)!.shape, [], k);
      assert.equal(tensors.get(k)!.data.length, 1, k);
    }
    const loss = tensors.get('loss')!.data[0]!;
    const mix =
      0.2 * Number(tensors.get('loss_ce')!.data[0]) + 0.8 * Number(tensors.get('loss_dice')!.data[0]);
    assert.ok(Math.abs(Number(loss) - mix) < 1e-5, 'loss = 0.2 ce + 0.8 dice');
    assert.equal([...tensors.keys()].filter((k) => k.startsWith('grad/')).length, 202);
    assert.deepEqual(tensors.get('masks')!.data, tensors.get('low_res_logits')!.data);
  });

  for (const fixture of ['tiny-a', 'tiny-b']) {
    for (const file of ['inputs.safetensors', 'expected.safetensors']) {
      it(`rewrites ${fixture}/${file} byte for byte`, () => {
        const original = readFileSync(fixturePath(fixture, file));
        const { tensors, metadata } = readSafetensors(original, file);
        assert.ok(Buffer.from(writeSafetensors(tensors, metadata)).equals(original));
      });
    }
  }
});

describe('writeSafetensors', () => {
  it('round-trips every dtype, scalars, zero-size tensors and integer-like names in order', () => {
    const tensors: [string, HostTensor][] = [
      ['10', float32([2], [1.5, -2])],
      ['2', hostTensor('float64', [], Float64Array.of(Math.PI))],
      ['i64', hostTensor('int64', [2], BigInt64Array.from([-(2n ** 62n), 3n]))],
      ['empty', float32([0, 3], [])],
      ['i32', hostTensor('int32', [1, 2], Int32Array.from([-7, 7]))],
      ['u8', hostTensor('uint8', [3], Uint8Array.from([0, 128, 255]))],
      ['bool', hostTensor('bool', [2], Uint8Array.from([1, 0]))],
      ['i8', hostTensor('int8', [1], Int8Array.of(-128))],
      ['i16', hostTensor('int16', [1], Int16Array.of(-30000))],
      ['u16', hostTensor('uint16', [1], Uint16Array.of(65535))],
    ];
    const bytes = writeSafetensors(tensors, { note: 'x' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(headerLen % 8, 0);
    const { tensors: back, metadata } = readSafetensors(bytes, 'rt');
    assert.deepEqual(metadata, { note: 'x' });
    assert.deepEqual(
      [...back.keys()],
      tensors.map(([k]) => k),
    );
    for (const [k, t] of tensors) {
      assert.equal(back.get(k)!.dtype, t.dtype, k);
      assert.deepEqual(back.get(k)!.shape, t.shape, k);
      assert.deepEqual(back.get(k)!.data, t.data, k);
    }
  });

  it('writes a subarray view with its own offset, not its whole buffer', () => {
    const big = Float32Array.from([9, 1, 2, 9]);
    const { tensors } = readSafetensors(writeSafetensors([['v', float32([2], big.subarray(1, 3))]]), 'v');
    assert.deepEqual(Array.from(toFloat64(tensors.get('v')!)), [1, 2]);
  });

  it('refuses the metadata name, duplicates and data that does not fill the shape', () => {
    const t = float32([1], [0]);
    assert.throws(() => writeSafetensors([['__metadata__', t]]), /__metadata__/);
    assert.throws(
      () =>
        writeSafetensors([
          ['a', t],
          ['a', t],
        ]),
      /duplicate/,
    );
    assert.throws(
      () => writeSafetensors([['a', { dtype: 'float32', shape: [2], data: new Float32Array(1) }]]),
      /1 elements/,
    );
  });
});

describe('readSafetensors widening', () => {
  it('widens F16 and BF16 to float32', () => {
    const data = new Uint8Array(Uint16Array.from([0x3c00, 0xc000, 0x3f80, 0xc040]).buffer);
    const bytes = build(
      {
        h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
        b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] },
      },
      8,
      data,
    );
    const { tensors } = readSafetensors(bytes, 'half');
    assert.deepEqual(Array.from(toFloat64(tensors.get('h')!)), [1, -2]);
    assert.deepEqual(Array.from(toFloat64(tensors.get('b')!)), [1, -3]);
  });
});

describe('readSafetensors refusals', () => {
  it('refuses overlapping offsets', () => {
    assertRefused(
      build({ a: f32([2], 0), b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12),
      /'b' \(bytes 4\.\.12\) overlaps/,
    );
  });

  it('refuses offsets past the data section', () => {
    assertRefused(build({ a: f32([4], 0) }, 8), /'a' \(bytes 0\.\.16\) runs past the 8-byte data section/);
  });

  it('refuses gaps and trailing bytes', () => {
    assertRefused(build({ a: f32([1], 4) }, 8), /gap before 'a'/);
    assertRefused(build({ a: f32([1], 0) }, 8), /cover 4 bytes but the data section has 8/);
  });

  it('refuses sizes that do not match shape × dtype, unknown dtypes and bad shapes', () => {
    assertRefused(
      build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8),
      /spans 8 bytes but F32 \[3\] needs 12/,
    );
    assertRefused(
      build({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, 1),
      /unsupported dtype "F8_E4M3"/,
    );
    assertRefused(build({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, 0), /invalid shape/);
    assertRefused(
      build({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4),
      /invalid data_offsets/,
    );
  });

  it('refuses a header length beyond the file, non-JSON headers and non-string metadata', () => {
    const b = build({}, 0);
    new DataView(b.buffer).setBigUint64(0, 1000n, true);
    assertRefused(b, /header length 1000 exceeds/);
    assertRefused(Uint8Array.of(1, 2, 3), /shorter than the 8-byte header length/);
    const junk = new Uint8Array(16);
    new DataView(junk.buffer).setBigUint64(0, 8n, true);
    junk.set(new TextEncoder().encode('{"a": [ '), 8);
    assertRefused(junk, /not UTF-8 JSON/);
    assertRefused(build([1, 2], 0), /not a JSON object/);
    assertRefused(build({ __metadata__: { n: 1 } }, 0), /__metadata__\.n is not a string/);
  });
});
