// Fetching some outputs of a session: each comes back under its own name, whatever the order asked for.
// onnxruntime-node 1.23 mislabels a fetched subset (microsoft/onnxruntime#26865); session.ts corrects it.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { hostTensor } from '../core/host_tensor.js';
import { Graph } from '../graph/index.js';
import * as F from '../ops/index.js';
import { clearCompileCache, compile } from './compile.js';
import { fetchedByName } from './session.js';

describe('session outputs', () => {
  after(clearCompileCache);

  it('returns a fetched subset under the right names, in any order', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const session = await compile({ a: F.add(x, 1), b: F.add(x, 2), c: F.add(x, 3) });
    const feeds = { x: hostTensor('float32', [2], Float32Array.of(10, 20)) };
    const first = (r: Record<string, { data: unknown }>, k: string) => (r[k]!.data as Float32Array)[0];
    for (const fetch of [['c'], ['b'], ['c', 'a'], ['b', 'c'], ['a', 'b', 'c'], ['c', 'b', 'a']]) {
      const r = await session.run(feeds, fetch);
      assert.deepEqual(Object.keys(r).sort(), [...fetch].sort(), `keys for ${fetch}`);
      for (const k of fetch) assert.equal(first(r, k), 10 + ' abc'.indexOf(k), `${k} of ${fetch}`);
    }
  });

  it('takes the results by name when ONNX Runtime names them right, by position when it does not', () => {
    assert.deepEqual(fetchedByName(['b', 'c'], { b: 2, c: 3 }), [
      ['b', 2],
      ['c', 3],
    ]);
    // The bug's shape: the first output names as keys, the fetched values in order.
    assert.deepEqual(fetchedByName(['b', 'c'], { a: 2, b: 3 }), [
      ['b', 2],
      ['c', 3],
    ]);
    assert.throws(() => fetchedByName(['b'], { a: 1, b: 2 }), /returned 2 outputs for 1 fetched/);
  });
});
