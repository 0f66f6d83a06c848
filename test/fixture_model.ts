// A reference fixture's model and inputs (../shared/fixtures/<name>): its config with the official SAM and
// MA-SAM checkpoints applied, and its inputs.safetensors, as the model, export and rewrite tests use them.
import { readFileSync } from 'node:fs';
import { type MaSamModel, loadMaSam } from '../src/api/model.js';
import type { HostTensor } from '../src/core/index.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { fixturePath } from './fixtures.js';

/** The fixture's config.json. */
export function fixtureConfig(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(fixturePath(name, 'config.json'), 'utf8')) as Record<string, unknown>;
}

/** The fixture's model: config.json, sam.pth, then masam.pth. */
export function loadFixtureModel(name: string): Promise<MaSamModel> {
  return loadMaSam({
    config: fixtureConfig(name),
    samCheckpoint: fixturePath(name, 'sam.pth'),
    masamCheckpoint: fixturePath(name, 'masam.pth'),
  });
}

/** The fixture's inputs.safetensors tensors (image [b, d, 3, S, S], label …). */
export function fixtureInputs(name: string): Map<string, HostTensor> {
  return readSafetensors(readFileSync(fixturePath(name, 'inputs.safetensors')), 'inputs').tensors;
}
