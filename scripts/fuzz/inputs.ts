// The i-th input of a fuzz run, a pure function of (run seed, parser, i): the first inputs are the seeds
// themselves, the rest mutations of them. The child process and the parent (saving a finding after a
// hang or crash) derive the same bytes from these three numbers.
import { Rng } from '../../src/core/rng.js';
import type { FuzzTarget } from './targets.js';

const seedCache = new Map<string, Uint8Array[]>();

/** The target's seeds, generated once per process. */
export function seedsOf(target: FuzzTarget): Uint8Array[] {
  let s = seedCache.get(target.name);
  if (!s) {
    // Plain copies: a Node Buffer's slice() is a view, and a mutation must never write into a seed.
    s = target.seeds().map((b) => new Uint8Array(b));
    seedCache.set(target.name, s);
  }
  return s;
}

/** FNV-1a over the text, as a 32-bit Rng seed. */
function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Input `index` of the run seeded `runSeed` for `target`. */
export function fuzzInput(target: FuzzTarget, runSeed: number, index: number): Uint8Array {
  const seeds = seedsOf(target);
  if (index < seeds.length) return seeds[index]!;
  const rng = new Rng(hashSeed(`${runSeed}/${target.name}/${index}`));
  const seed = seeds[rng.int(seeds.length)]!;
  return target.mutate(seed, rng, seeds[rng.int(seeds.length)]!);
}
