// The fuzzer's memory: every input it once found a problem with (scripts/fuzz/corpus/<parser>/) must now end
// in a typed error or a valid result, in bounded time and memory; malicious pickles of every calling opcode
// are refused without running anything (and, where Python is available, are shown to be live exploits);
// a fuzz input is a pure function of its seed, so `npm run fuzz -- --replay` reproduces findings; and model
// metadata values the fuzzer showed were accepted unchecked are refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MasamError } from '../src/core/errors.js';
import { modelInfoFromMetadata } from '../src/infer/model_info.js';
import { readPthTensors } from '../src/io/pth.js';
import { inspectModel } from '../src/onnx/inspect.js';
import { onnx } from '../src/onnx/proto.js';
import { fuzzInput } from '../scripts/fuzz/inputs.js';
import { asCheckpoint, maliciousPickles } from '../scripts/fuzz/malicious_pickles.js';
import { allocationAllowance } from '../scripts/fuzz/outcome.js';
import { startPeakMeasure } from '../scripts/fuzz/peak_memory.js';
import { onnxSeeds, promptedModelMetadata } from '../scripts/fuzz/seeds.js';
import { TARGETS, targetNamed } from '../scripts/fuzz/targets.js';

const CORPUS = new URL('../scripts/fuzz/corpus/', import.meta.url).pathname;
/** Per input: far above any corpus entry's time now (on a loaded machine), below what the bombs once took. */
const TIME_LIMIT_MS = 15_000;

describe('fuzz regression corpus', () => {
  for (const parser of readdirSync(CORPUS).sort()) {
    for (const file of readdirSync(join(CORPUS, parser)).sort()) {
      it(`${parser}/${file} ends in a typed error or a valid result`, async () => {
        const input = new Uint8Array(readFileSync(join(CORPUS, parser, file)));
        const target = targetNamed(parser);
        const peakGrowth = startPeakMeasure();
        const t0 = performance.now();
        try {
          await target.run(input);
        } catch (err) {
          assert.ok(err instanceof MasamError, `untyped: ${(err as Error)?.stack ?? String(err)}`);
        }
        const ms = performance.now() - t0;
        assert.ok(ms < TIME_LIMIT_MS, `took ${ms.toFixed(0)} ms`);
        const growth = peakGrowth();
        // Results are not kept, so output size does not count; -1 = not measurable here.
        const allowance = allocationAllowance(input.length, 0, target.declaredBytes);
        assert.ok(growth <= allowance, `peak memory grew ${(growth / 1024 ** 2).toFixed(1)} MiB`);
      });
    }
  }
});

describe('malicious pickles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'masam-pickles-'));
  const marker = (i: number) => join(dir, `ran-${i}`);
  const pickles = maliciousPickles(marker);
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('are refused inside a .pth, each with a FormatError naming the file, and none runs', () => {
    const accepted: string[] = [];
    for (const p of pickles) {
      try {
        readPthTensors(asCheckpoint(p.pickle), 'evil.pth');
        accepted.push(p.name);
      } catch (err) {
        if (!(err instanceof MasamError && err.message.startsWith('evil.pth')))
          accepted.push(`${p.name}: ${err}`);
      }
    }
    assert.deepEqual(accepted, []);
    assert.deepEqual(readdirSync(dir), [], 'no payload ran');
    assert.ok(pickles.length >= 500, `${pickles.length} pickles`);
  });

  const python = process.env['MASAM_PYTHON'] ?? '/usr/bin/python3';
  it(
    'are live exploits: Python running each creates its marker',
    { skip: existsSync(python) ? false : `no Python at ${python} (set MASAM_PYTHON)` },
    async () => {
      const pyDir = mkdtempSync(join(tmpdir(), 'masam-pickles-py-'));
      try {
        pickles.forEach((p, i) => {
          writeFileSync(join(pyDir, `${i}.pkl`), p.pickle);
        });
        const script = [
          'import pickle, sys, os, glob, gc',
          'for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.pkl"))):',
          '    try: pickle.loads(open(f, "rb").read())',
          '    except Exception as e: print(f, repr(e), file=sys.stderr)',
          'gc.collect()',
        ].join('\n');
        const r = spawnSync(python, ['-c', script, pyDir], { encoding: 'utf8', timeout: 300_000 });
        assert.equal(r.status, 0, r.stderr);
        const missing = () => pickles.filter((_, i) => !existsSync(marker(i))).map((p) => p.name);
        // Popen'd children may still be starting when Python exits.
        for (let waited = 0; missing().length > 0 && waited < 5000; waited += 100) await sleep(100);
        assert.deepEqual(missing(), [], r.stderr);
      } finally {
        rmSync(pyDir, { recursive: true, force: true });
      }
    },
  );
});

describe('fuzz inputs', () => {
  it('are a pure function of (run seed, parser, index), so findings replay', () => {
    for (const target of TARGETS.filter((t) => ['nifti', 'prompts', 'onnx'].includes(t.name))) {
      for (const index of [0, 50, 51, 999]) {
        assert.deepEqual(
          fuzzInput(target, 7, index),
          fuzzInput(target, 7, index),
          `${target.name} #${index}`,
        );
      }
      assert.notDeepEqual(fuzzInput(target, 7, 50), fuzzInput(target, 8, 50));
    }
  });
});

describe('model metadata the fuzzer found accepted', () => {
  const [plain, prompted] = onnxSeeds() as [Uint8Array, Uint8Array];
  const withMetadata = (key: string, value: string) => ({ ...promptedModelMetadata(), [key]: value });

  it('a negative or unsupported tensor dimension or element type is a FormatError naming the value', () => {
    const model = onnx.ModelProto.decode(plain);
    const tensorType = model.graph?.input?.[0]?.type?.tensorType;
    const dim = tensorType?.shape?.dim?.[1];
    assert.ok(tensorType && dim);
    dim.dimValue = -5;
    assert.throws(
      () => inspectModel(onnx.ModelProto.encode(model).finish(), 'm.onnx'),
      /m\.onnx: 'image' has dimension -5/,
    );
    dim.dimValue = 5;
    tensorType.elemType = 99;
    assert.throws(
      () => inspectModel(onnx.ModelProto.encode(model).finish(), 'm.onnx'),
      /m\.onnx: 'image' has element type 99/,
    );
    assert.equal(inspectModel(prompted, 'm.onnx').inputs.length, 3);
  });

  it('ill-typed config, class names, window and slices are MasamErrors naming the file', () => {
    const config = JSON.parse(promptedModelMetadata()['masam.config']!);
    for (const [key, value] of [
      ['masam.config', JSON.stringify({ ...config, img_size: 'big' })],
      ['masam.config', JSON.stringify({ ...config, num_classes: 2.5 })],
      ['masam.class_names', '[1, 2, 3, 4]'],
      ['masam.preprocessing', '{"modality": "ct", "window": ["a", "b"]}'],
      ['masam.preprocessing', '{"modality": "ct", "window": [250, -200]}'],
      ['masam.preprocessing', '"ct"'],
      ['masam.slices', '-3'],
      ['masam.slices', '"5"'],
    ] as const) {
      assert.throws(
        () => modelInfoFromMetadata(withMetadata(key, value), 'm.onnx'),
        (e) => e instanceof MasamError && e.message.startsWith('m.onnx: '),
        `${key} = ${value}`,
      );
    }
    assert.equal(modelInfoFromMetadata(promptedModelMetadata(), 'm.onnx').slices, 5);
  });
});
