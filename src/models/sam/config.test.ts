// Config validation: presets resolve, and a config the model cannot build is refused with what is wrong.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from './config.js';

describe('resolveConfig', () => {
  it('resolves a preset with overrides', () => {
    const c = resolveConfig({ preset: 'small', img_size: 192, num_classes: 13 });
    assert.equal(c.img_size, 192);
    assert.equal(c.patch_size, 16);
  });

  it('refuses patch sizes the mask decoder cannot upscale back to the input, before anything is built', () => {
    // patch 8 at 128 px: the decoder's masks would be 256 px against 128 px labels.
    assert.throws(
      () => resolveConfig({ preset: 'small', patch_size: 8 }),
      /invalid config: patch_size 8: MA-SAM's mask decoder upscales the token grid 16×, so it must be 16/,
    );
    assert.throws(
      () => resolveConfig({ preset: 'small', img_size: 120 }),
      /img_size 120 is not a multiple of patch_size 16/,
    );
  });
});
