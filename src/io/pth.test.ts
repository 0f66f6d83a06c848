// Tests for the .pth reader/writer (spec 7.1, 7.4): the fixtures' official checkpoints, byte-identical
// rewriting, views and dtypes, refusals of foreign globals, unknown opcodes and broken archives.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deflateSync } from 'fflate';
import { FormatError } from '../core/errors.js';
import { float32, type HostTensor, hostTensor, toFloat64 } from '../core/host_tensor.js';
import { fixturePath } from '../../test/fixtures.js';
import { OP, PickleWriter } from './pickle.js';
import {
  PTH_ALLOWED_GLOBALS,
  pthArchiveName,
  readPth,
  readPthTensors,
  writePth,
  type PthTensor,
} from './pth.js';
import { readSafetensors } from './safetensors.js';
import { crc32, readZip, writeStoredZip } from './zip.js';

interface NamesJson {
  trainable: { shape: number[]; masam_key: string | null; sam_key: string | null }[];
  frozen: { shape: number[]; sam_key: string | null; loaded_via: string }[];
  buffers: { shape: number[]; masam_key: string | null; sam_key: string | null }[];
  sam_pth_keys: string[];
  masam_pth_keys: string[];
  sam_pth_keys_unused: string[];
}
interface ConfigJson {
  embed_dim: number;
  num_heads: number;
  out_chans: number;
  sam_ckpt_img_size: number;
  sam_ckpt_num_multimask_outputs: number;
  iou_head_hidden_dim: number;
}

const json = <T>(fixture: string, file: string): T =>
  JSON.parse(readFileSync(fixturePath(fixture, file), 'utf8')) as T;
const load = (fixture: string, file: string) =>
  readPthTensors(readFileSync(fixturePath(fixture, file)), file);

/** A zip holding `archive/data.pkl` = `pickle` and the given storage records, as torch.save lays it out. */
function pthWith(
  pickle: Uint8Array,
  storages: Record<string, Uint8Array> = {},
  folder = 'archive',
): Uint8Array {
  return writeStoredZip([
    { name: `${folder}/data.pkl`, data: pickle },
    ...Object.entries(storages).map(([k, data]) => ({ name: `${folder}/data/${k}`, data })),
    { name: `${folder}/version`, data: new TextEncoder().encode('3\n') },
  ]);
}

const bytesOf = (t: ArrayBufferView) => new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** `{'<key>': _rebuild_tensor_v2(storage '0' of `numel` floats, offset, size, stride, False, OrderedDict())}` pickles. */
function viewPickle(
  views: { key: string; offset: number; size: number[]; stride: number[] }[],
  numel: number,
  type = 'FloatStorage',
) {
  const w = new PickleWriter();
  w.op(OP.PROTO, 2, OP.EMPTY_DICT).put();
  w.mark();
  for (const v of views) {
    w.unicode(v.key).put();
    w.global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().unicode('storage').global('torch', type).unicode('0').unicode('cpu').int(numel).tuple(5);
    w.op(OP.BINPERSID).int(v.offset);
    for (const dims of [v.size, v.stride]) {
      if (dims.length > 3) w.mark();
      for (const d of dims) w.int(d);
      w.tuple(dims.length);
    }
    w.bool(false).global('collections', 'OrderedDict').op(OP.EMPTY_TUPLE, OP.REDUCE).tuple(6).op(OP.REDUCE);
  }
  w.op(OP.SETITEMS, OP.STOP);
  return w.bytes();
}

function assertFormatError(f: () => unknown, ...parts: (string | RegExp)[]) {
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof FormatError, `expected FormatError, got ${String(err)}`);
    for (const p of parts) {
      if (typeof p === 'string') assert.ok(err.message.includes(p), `'${err.message}' lacks '${p}'`);
      else assert.match(err.message, p);
    }
    return true;
  });
}

describe('readPth on the fixtures', () => {
  for (const fixture of ['tiny-a', 'tiny-b']) {
    it(`reads every key of ${fixture}/sam.pth in file order with the shapes names.json and config.json give`, () => {
      const names = json<NamesJson>(fixture, 'names.json');
      const config = json<ConfigJson>(fixture, 'config.json');
      const entries = load(fixture, 'sam.pth');
      assert.deepEqual(
        entries.map((e) => e.key),
        names.sam_pth_keys,
      );
      const s = config.sam_ckpt_img_size / 16;
      const p = config.out_chans;
      const tokens = config.sam_ckpt_num_multimask_outputs + 1;
      const shapes = new Map<string, number[]>();
      for (const t of names.trainable) if (t.sam_key) shapes.set(t.sam_key, t.shape);
      for (const b of names.buffers) if (b.sam_key) shapes.set(b.sam_key, b.shape);
      for (const f of names.frozen) {
        if (!f.sam_key) continue;
        if (f.loaded_via === 'copied') shapes.set(f.sam_key, f.shape);
        else if (f.sam_key.endsWith('pos_embed')) shapes.set(f.sam_key, [1, s, s, config.embed_dim]);
        else shapes.set(f.sam_key, [2 * s - 1, config.embed_dim / config.num_heads]);
      }
      shapes.set('mask_decoder.mask_tokens.weight', [tokens, p]);
      shapes.set('mask_decoder.iou_prediction_head.layers.2.weight', [tokens, config.iou_head_hidden_dim]);
      shapes.set('mask_decoder.iou_prediction_head.layers.2.bias', [tokens]);
      let checked = 0;
      for (const { key, tensor, parameter } of entries) {
        assert.equal(tensor.dtype, 'float32', key);
        assert.equal(parameter, undefined, key);
        assert.equal(
          tensor.data.length,
          tensor.shape.reduce((a, b) => a * b, 1),
          key,
        );
        const want = shapes.get(key);
        if (want) {
          assert.deepEqual(tensor.shape, want, key);
          checked++;
        } else {
          assert.ok(names.sam_pth_keys_unused.includes(key), `${key} has no shape to check`);
        }
      }
      assert.equal(checked, names.sam_pth_keys.length - names.sam_pth_keys_unused.length + 3);
    });

    it(`reads every key of ${fixture}/masam.pth with its shape, FacT cores as Parameters`, () => {
      const names = json<NamesJson>(fixture, 'names.json');
      const entries = load(fixture, 'masam.pth');
      assert.deepEqual(
        entries.map((e) => e.key),
        names.masam_pth_keys,
      );
      const shapes = new Map<string, number[]>();
      for (const t of [...names.trainable, ...names.buffers])
        if (t.masam_key) shapes.set(t.masam_key, t.shape);
      for (const { key, tensor, parameter } of entries) {
        const fact = /^[qv]_FacTs_\d{3}$/.test(key);
        assert.equal(parameter === true, fact, key);
        assert.deepEqual(tensor.shape, fact ? [8, 8] : shapes.get(key), key);
      }
    });

    it(`rewrites ${fixture}/masam.pth byte for byte as PyTorch 1.13 wrote it`, () => {
      const original = readFileSync(fixturePath(fixture, 'masam.pth'));
      const written = writePth(readPthTensors(original, 'masam.pth'), {
        archiveName: pthArchiveName('masam.pth'),
      });
      assert.equal(written.length, original.length);
      assert.ok(Buffer.from(written).equals(original), 'bytes differ');
    });
  }

  it('maps each tensor to its own storage record (values read independently with Python struct)', () => {
    const a = readPth(readFileSync(fixturePath('tiny-a', 'masam.pth')), 'masam.pth');
    const near = (t: HostTensor | undefined, want: number[]) => {
      for (const [i, v] of want.entries())
        assert.ok(Math.abs(Number(t!.data[i]) - v) < 1e-7, `${t!.data[i]} ≠ ${v}`);
    };
    near(a.get('q_FacTs_000'), [-0.31186920404434204, 0.0011646084021776915, -0.07914374023675919]);
    near(
      a.get('image_encoder.FacTu.weight'),
      [-0.041799552738666534, 0.0795011967420578, 0.1695394665002823],
    );
    const b = readPth(readFileSync(fixturePath('tiny-b', 'sam.pth')), 'sam.pth');
    near(
      b.get('image_encoder.patch_embed.proj.weight'),
      [-0.027746332809329033, -0.008934210985898972, 0.009615043178200722],
    );
  });

  it('gives tiny-a pos_embed and global rel_pos tables equal to the loaded tensors in expected.safetensors', () => {
    const sam = readPth(readFileSync(fixturePath('tiny-a', 'sam.pth')), 'sam.pth');
    const { tensors } = readSafetensors(
      readFileSync(fixturePath('tiny-a', 'expected.safetensors')),
      'expected',
    );
    const loaded = [...tensors.keys()].filter((k) => k.startsWith('loaded/'));
    assert.equal(loaded.length, 5);
    for (const k of loaded) {
      const key = k.slice('loaded/'.length);
      assert.deepEqual(sam.get(key)!.shape, tensors.get(k)!.shape, key);
      assert.deepEqual(sam.get(key)!.data, tensors.get(k)!.data, key);
    }
  });

  it('gives tiny-b pos_embed at the checkpoint size, not the resized loaded size', () => {
    const sam = readPth(readFileSync(fixturePath('tiny-b', 'sam.pth')), 'sam.pth');
    const { tensors } = readSafetensors(
      readFileSync(fixturePath('tiny-b', 'expected.safetensors')),
      'expected',
    );
    assert.deepEqual(sam.get('image_encoder.pos_embed')!.shape, [1, 16, 16, 96]);
    assert.deepEqual(tensors.get('loaded/image_encoder.pos_embed')!.shape, [1, 10, 10, 96]);
  });
});

describe('writePth', () => {
  const sample = (): PthTensor[] => [
    { key: 'q_FacTs_000', tensor: float32([2, 2], [1, 2, 3, 4]), parameter: true },
    { key: 'w.f64', tensor: hostTensor('float64', [3], Float64Array.from([0.1, -2, 1e300])) },
    { key: 'w.i64', tensor: hostTensor('int64', [2], BigInt64Array.from([-(2n ** 40n), 7n])) },
    { key: 'w.i32', tensor: hostTensor('int32', [1, 1, 1, 2], Int32Array.from([-5, 2 ** 31 - 1])) },
    { key: 'w.i16', tensor: hostTensor('int16', [2], Int16Array.from([-300, 300])) },
    { key: 'w.i8', tensor: hostTensor('int8', [2], Int8Array.from([-128, 127])) },
    { key: 'w.u8', tensor: hostTensor('uint8', [2], Uint8Array.from([0, 255])) },
    { key: 'w.bool', tensor: hostTensor('bool', [3], Uint8Array.from([1, 0, 1])) },
    { key: 'scalar', tensor: float32([], [3.5]) },
    { key: 'empty', tensor: float32([1, 0, 64], []) },
    ...Array.from({ length: 12 }, (_, i) => ({ key: `more.${i}`, tensor: float32([1], [i]) })),
  ];

  it('round-trips keys, order, dtypes, shapes, values and Parameter flags', () => {
    const tensors = sample();
    const back = readPthTensors(writePth(tensors), 'roundtrip.pth');
    assert.deepEqual(
      back.map((e) => [e.key, e.tensor.dtype, e.tensor.shape, e.parameter === true]),
      tensors.map((e) => [e.key, e.tensor.dtype, e.tensor.shape, e.parameter === true]),
    );
    for (const [i, e] of back.entries()) assert.deepEqual(e.tensor.data, tensors[i]!.tensor.data, e.key);
  });

  it('lays records out as torch.save does: folder, sorted storages, 64-byte aligned data, valid CRCs', () => {
    const bytes = writePth(sample(), { archiveName: pthArchiveName('/runs/epoch_19.pth') });
    const zip = readZip(bytes, 'written');
    const names = [...zip.entries.keys()];
    assert.equal(names[0], 'epoch_19/data.pkl');
    assert.equal(names.at(-1), 'epoch_19/version');
    assert.deepEqual(names.slice(1, 4), ['epoch_19/data/0', 'epoch_19/data/1', 'epoch_19/data/10']);
    const view = new DataView(bytes.buffer);
    for (const e of zip.entries.values()) {
      const start =
        e.localHeaderOffset +
        30 +
        view.getUint16(e.localHeaderOffset + 26, true) +
        view.getUint16(e.localHeaderOffset + 28, true);
      assert.equal(start % 64, 0, e.name);
      assert.equal(crc32(zip.read(e.name)), e.crc32, e.name);
    }
    assert.equal(new TextDecoder().decode(zip.read('epoch_19/version')), '3\n');
    assert.ok(readZip(writePth([]), 'empty').entries.has('archive/data.pkl'));
  });

  it('derives the archive folder from a file name as torch.save does', () => {
    assert.equal(pthArchiveName('C:\\ckpt\\sam_vit_b_01ec64.pth'), 'sam_vit_b_01ec64');
    assert.equal(pthArchiveName('a.b.pth'), 'a.b');
    assert.equal(pthArchiveName('.pth'), 'archive');
  });

  it('refuses duplicate keys, dtypes torch cannot store and bad folder names', () => {
    const t = float32([1], [0]);
    assert.throws(
      () =>
        writePth([
          { key: 'a', tensor: t },
          { key: 'a', tensor: t },
        ]),
      /duplicate key 'a'/,
    );
    assert.throws(() => writePth([{ key: 'u', tensor: hostTensor('uint16', [1]) }]), /uint16/);
    assert.throws(() => writePth([], { archiveName: 'a/b' }), /archive name/);
  });

  // $MASAM_PYTHON (e.g. Debian's /usr/bin/python3 with python3-torch) or python3.
  const python = process.env['MASAM_PYTHON'] ?? 'python3';
  const torchCheck = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  const torchMissing =
    torchCheck.status === 0
      ? false
      : `${python} cannot import torch here (${(torchCheck.stderr || String(torchCheck.error)).trim().split('\n').at(-1)}); CI may not have it`;

  it(
    'writes files that torch.load reads back to the same keys, dtypes, shapes, values and Parameters',
    { skip: torchMissing },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'masam-pth-'));
      try {
        const tensors = sample();
        const file = join(dir, 'epoch_0.pth');
        writeFileSync(file, writePth(tensors, { archiveName: pthArchiveName(file) }));
        // Plain torch.load: torch 1.13 (the fixtures' version) has no weights_only.
        const script = [
          'import json, sys, torch',
          "sd = torch.load(sys.argv[1], map_location='cpu')",
          'print(json.dumps([[k, str(v.dtype), list(v.shape), isinstance(v, torch.nn.Parameter), v.detach().flatten().tolist()] for k, v in sd.items()]))',
        ].join('\n');
        const run = spawnSync(python, ['-c', script, file], { encoding: 'utf8' });
        assert.equal(run.status, 0, run.stderr);
        const torchDtype = {
          float32: 'float32',
          float64: 'float64',
          int64: 'int64',
          int32: 'int32',
          int16: 'int16',
          int8: 'int8',
          uint8: 'uint8',
          bool: 'bool',
        } as Record<string, string>;
        const want = tensors.map(({ key, tensor, parameter }) => [
          key,
          `torch.${torchDtype[tensor.dtype]}`,
          tensor.shape,
          parameter === true,
          Array.from(tensor.data as ArrayLike<number | bigint>, (v) =>
            tensor.dtype === 'bool' ? v === 1 : Number(v),
          ),
        ]);
        assert.deepEqual(JSON.parse(run.stdout), want);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('readPth views and storages', () => {
  const storage = bytesOf(Float32Array.from({ length: 12 }, (_, i) => i));

  it('materialises offsets, non-contiguous strides and tensors sharing one storage without aliasing', () => {
    const views = [
      { key: 'whole', offset: 0, size: [3, 4], stride: [4, 1] },
      { key: 'transposed', offset: 0, size: [4, 3], stride: [1, 4] },
      { key: 'strided', offset: 2, size: [2], stride: [5] },
      { key: 'unit_dims', offset: 1, size: [1, 2, 1, 1], stride: [99, 1, 7, 0] },
      { key: 'broadcast', offset: 3, size: [2, 2], stride: [0, 1] },
      { key: 'again', offset: 0, size: [12], stride: [1] },
    ];
    const t = readPth(pthWith(viewPickle(views, 12), { '0': storage }, 'my-model'), 'views.pth');
    assert.deepEqual(
      [...t.keys()],
      views.map((v) => v.key),
    );
    assert.deepEqual(Array.from(toFloat64(t.get('whole')!)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual(Array.from(toFloat64(t.get('transposed')!)), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    assert.deepEqual(Array.from(toFloat64(t.get('strided')!)), [2, 7]);
    assert.deepEqual(Array.from(toFloat64(t.get('unit_dims')!)), [1, 2]);
    assert.deepEqual(Array.from(toFloat64(t.get('broadcast')!)), [3, 4, 3, 4]);
    (t.get('whole')!.data as Float32Array)[0] = 42;
    assert.equal(t.get('again')!.data[0], 0, 'two tensors share one array');
  });

  it('widens half and bfloat16 storages to float32', () => {
    const half = bytesOf(Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0xfc00]));
    const h = readPth(
      pthWith(viewPickle([{ key: 'h', offset: 0, size: [6], stride: [1] }], 6, 'HalfStorage'), { '0': half }),
      'h',
    );
    assert.deepEqual(Array.from(toFloat64(h.get('h')!)), [
      1,
      -2,
      0.5,
      65504,
      2 ** -24,
      Number.NEGATIVE_INFINITY,
    ]);
    const bf = bytesOf(Uint16Array.from([0x3f80, 0xc040]));
    const b = readPth(
      pthWith(viewPickle([{ key: 'b', offset: 0, size: [2], stride: [1] }], 2, 'BFloat16Storage'), {
        '0': bf,
      }),
      'b',
    );
    assert.equal(b.get('b')!.dtype, 'float32');
    assert.deepEqual(Array.from(toFloat64(b.get('b')!)), [1, -3]);
  });

  it('refuses a view reaching past its storage and a storage record of the wrong size', () => {
    const past = viewPickle([{ key: 'x', offset: 10, size: [3], stride: [1] }], 12);
    assertFormatError(
      () => readPth(pthWith(past, { '0': storage }), 'past.pth'),
      'past.pth',
      'REDUCE',
      "storage '0'",
    );
    const short = viewPickle([{ key: 'x', offset: 0, size: [12], stride: [1] }], 12);
    assertFormatError(
      () => readPth(pthWith(short, { '0': storage.subarray(4) }), 's.pth'),
      "'archive/data/0' has 44 bytes",
    );
    assertFormatError(() => readPth(pthWith(short), 'm.pth'), "'archive/data/0' is missing");
  });
});

describe('readPth refusals', () => {
  it('lists exactly the allowlisted globals', () => {
    assert.equal(PTH_ALLOWED_GLOBALS.length, 13);
    assert.ok(PTH_ALLOWED_GLOBALS.includes('torch.BoolStorage'));
  });

  it('refuses a foreign global (os.system through GLOBAL and REDUCE) naming file, global and offset', () => {
    // pickle.dumps of a __reduce__ returning (os.system, ('echo pwned',)), protocol 2
    const evil = Uint8Array.from([
      0x80,
      2,
      0x63,
      ...ascii('os\nsystem\n'),
      0x71,
      0,
      0x58,
      10,
      0,
      0,
      0,
      ...ascii('echo pwned'),
      0x85,
      0x52,
      0x2e,
    ]);
    assertFormatError(
      () => readPth(pthWith(evil), 'evil.pth'),
      'evil.pth',
      'archive/data.pkl',
      "'os.system'",
      'at byte 2',
      'GLOBAL',
    );
  });

  it('refuses a foreign global reached through STACK_GLOBAL (protocol 4)', () => {
    const evil = Uint8Array.from([
      0x80,
      4,
      0x8c,
      8,
      ...ascii('builtins'),
      0x8c,
      4,
      ...ascii('eval'),
      0x93,
      0x2e,
    ]);
    assertFormatError(() => readPth(pthWith(evil), 'e.pth'), "'builtins.eval'", 'STACK_GLOBAL at byte 18');
  });

  it('refuses unknown and unimplemented opcodes by name and offset', () => {
    assertFormatError(
      () => readPth(pthWith(Uint8Array.from([0x80, 2, 0x7d, 0xff])), 'u.pth'),
      'opcode 0xff at byte 3',
      'unknown opcode',
    );
    const inst = Uint8Array.from([0x80, 2, 0x28, 0x69, ...ascii('os\nsystem\n'), 0x2e]);
    assertFormatError(() => readPth(pthWith(inst), 'i.pth'), 'opcode INST at byte 3', 'not supported');
  });

  it('refuses calling a storage type, and a wrapped checkpoint, naming the key', () => {
    const call = Uint8Array.from([0x80, 2, 0x63, ...ascii('torch\nFloatStorage\n'), 0x29, 0x52, 0x2e]);
    assertFormatError(() => readPth(pthWith(call), 'c.pth'), 'REDUCE', 'only allowed inside a persistent id');
    const inner = viewPickle([{ key: 'w', offset: 0, size: [1], stride: [1] }], 1);
    // {'model': <inner dict>}: EMPTY_DICT, 'model', then the inner pickle without PROTO/STOP, SETITEM.
    const wrapped = Uint8Array.from([
      0x80,
      2,
      0x7d,
      0x58,
      5,
      0,
      0,
      0,
      ...ascii('model'),
      ...inner.subarray(2, -1),
      0x73,
      0x2e,
    ]);
    assertFormatError(
      () => readPth(pthWith(wrapped, { '0': bytesOf(Float32Array.of(1)) }), 'w.pth'),
      "'model' holds a dict",
    );
  });

  it('refuses truncated archives, non-zip bytes and archives without data.pkl', () => {
    const good = readFileSync(fixturePath('tiny-a', 'masam.pth'));
    for (const cut of [good.length - 1, good.length - 100, Math.floor(good.length / 2), 200]) {
      assertFormatError(() => readPth(good.subarray(0, cut), 'cut.pth'), 'cut.pth', 'zip');
    }
    // Central directory intact but the data region shortened: the last record's data runs past the end.
    const torn = writeStoredZip([{ name: 'archive/data.pkl', data: new Uint8Array(100) }]);
    const view = new DataView(torn.buffer);
    view.setUint32(torn.length - 22 - 20 - 56 - 46 - 16 + 20, 1_000_000, true);
    assertFormatError(() => readZip(torn, 'torn.pth').read('archive/data.pkl'), 'torn.pth', 'truncated');
    assertFormatError(() => readPth(Uint8Array.from([0x80, 2, 0x8a, 0x0a]), 'legacy.pth'), 'legacy');
    const other = writeStoredZip([{ name: 'x/other.bin', data: new Uint8Array(1) }]);
    assertFormatError(() => readPth(other, 'o.pth'), "'<folder>/data.pkl'", 'found 0');
  });

  it('refuses a checkpoint with one flipped bit in tensor data, naming the file and the entry (CRC-32)', () => {
    const bytes = Uint8Array.from(readFileSync(fixturePath('tiny-a', 'masam.pth')));
    const zip = readZip(bytes, 'masam.pth');
    // The largest storage record: surely tensor data, not the pickle or the version record.
    const entry = [...zip.entries.values()]
      .filter((e) => e.name.includes('/data/'))
      .sort((a, b) => b.size - a.size)[0]!;
    const data = zip.read(entry.name);
    const at = data.byteOffset + (data.length >> 1);
    bytes[at] = bytes[at]! ^ 0x40;
    assertFormatError(
      () => readPth(bytes, 'flipped.pth'),
      'flipped.pth',
      `entry '${entry.name}' is corrupt`,
      'CRC-32',
    );
  });

  it('refuses a deflated entry that inflates past its declared size, quickly (zip bomb)', () => {
    const bomb = deflateSync(new Uint8Array(64 << 20), { level: 9 }); // 64 MiB of zeros
    const zip = writeStoredZip([{ name: 'archive/data.pkl', data: bomb }]);
    const view = new DataView(zip.buffer);
    const central = zip.length - 22 - 20 - 56 - 46 - 'archive/data.pkl'.length;
    assert.equal(view.getUint32(central, true), 0x02014b50);
    view.setUint16(central + 10, 8, true); // method: deflate
    view.setUint32(central + 24, 100, true); // declared size 100 bytes
    const t0 = performance.now();
    assertFormatError(
      () => readZip(zip, 'bomb.pth').read('archive/data.pkl'),
      'bomb.pth',
      "entry 'archive/data.pkl' inflates past the 100 bytes its directory declares",
    );
    assert.ok(performance.now() - t0 < 200, `took ${(performance.now() - t0).toFixed(0)} ms`);
    view.setUint32(central + 24, 2 ** 31, true); // more than DEFLATE can expand from ~64 KiB
    assertFormatError(() => readZip(zip, 'big.pth').read('archive/data.pkl'), 'more than DEFLATE can expand');
  });
});
