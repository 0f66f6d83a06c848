// The package root exports the documented library API (README "Library"), built or from source.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as masam from '../src/index.js';

describe('package root', () => {
  it('exports the model API, the engine and the formats', () => {
    for (const name of [
      'loadMaSam',
      'segmentVolume',
      'grad',
      'compile',
      'parseNifti',
      'readPth',
      'writeSafetensors',
      'AdamW',
      'resolveConfig',
    ]) {
      assert.equal(typeof (masam as Record<string, unknown>)[name], 'function', name);
    }
    assert.deepEqual(Object.keys(masam.PRESETS).sort(), ['small', 'vit_b', 'vit_h', 'vit_l']);
  });
});
