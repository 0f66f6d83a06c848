// Device names: cpu, cuda and cuda:N carry their GPU index through the runtime; anything else is refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cudaIndex, parseDevice } from './session.js';

describe('devices', () => {
  it('parses cpu, cuda and cuda:N and keeps the index', () => {
    assert.equal(parseDevice('cpu'), 'cpu');
    assert.equal(cudaIndex(parseDevice('cpu')), null);
    assert.equal(cudaIndex(parseDevice('cuda')), 0);
    assert.equal(parseDevice('cuda:3'), 'cuda:3');
    assert.equal(cudaIndex(parseDevice('cuda:3')), 3);
  });

  it('refuses other names, naming them', () => {
    for (const bad of ['gpu', 'cuda:', 'cuda:x', 'cuda:-1', 'CPU', 'cuda:1,cuda:2'])
      assert.throws(() => parseDevice(bad), new RegExp(`unknown device '${bad}'`));
  });
});
