// Structural mutations of a JSON document (prompts.json, dataset.json, ONNX metadata): byte mutations
// mostly give syntax errors, so half of the time a value deep in the tree is replaced by one of the wrong
// type, range or size, a key is dropped or renamed, or an array is emptied or grown, and the result is
// re-serialised. Deterministic for a given Rng.
import type { Rng } from '../../src/core/rng.js';
import { mutateBytes } from './mutate.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Replacement values of every JSON type and of awkward ranges. */
function oddValue(rng: Rng, like: Json): Json {
  const choices: (() => Json)[] = [
    () => null,
    () => true,
    () => 0,
    () => -1,
    () => 0.5,
    () => 1e308,
    () => -1e308,
    () => 2 ** 53 + 2,
    () => 4294967296,
    () => '',
    () => 'x'.repeat(1 + rng.int(300)),
    () => '1',
    () => 'NaN',
    () => '__proto__',
    () => [],
    () => [1, 2],
    () => Array.from({ length: 1 + rng.int(2000) }, (_, i) => i),
    () => ({}),
    () => JSON.parse('{"__proto__": {"polluted": true}}') as Json,
    () => ({ constructor: { prototype: { polluted: true } } }),
    () => [like, like],
    () => (typeof like === 'number' ? -like : like),
    () => (typeof like === 'number' ? like + 1 : like),
    () => (typeof like === 'number' ? like * 1e6 : like),
  ];
  return choices[rng.int(choices.length)]!();
}

/** Every container path in the tree, so a mutation can land anywhere. */
function paths(value: Json, at: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(at);
  if (Array.isArray(value)) for (const [i, v] of value.entries()) paths(v, [...at, i], out);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

function mutateTree(root: Json, rng: Rng): Json {
  const all = paths(root);
  const path = all[rng.int(all.length)]!;
  if (path.length === 0) return oddValue(rng, root);
  let parent = root as Record<string | number, Json>;
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, Json>;
  const key = path[path.length - 1]!;
  const action = rng.int(4);
  if (action === 0 && !Array.isArray(parent)) delete parent[key];
  else if (action === 1 && !Array.isArray(parent)) {
    parent[`${String(key)}_`] = parent[key]!;
    delete parent[key];
  } else parent[key] = oddValue(rng, parent[key]!);
  return root;
}

/**
 * A mutation of the JSON text `bytes` (UTF-8): structural (one to three tree edits) or byte-level.
 * Text that is not JSON gets byte mutations only.
 */
export function mutateJson(bytes: Uint8Array, rng: Rng, other: Uint8Array = bytes): Uint8Array {
  if (rng.uniform() < 0.3) return mutateBytes(bytes, rng, other);
  let tree: Json;
  try {
    tree = JSON.parse(new TextDecoder().decode(bytes)) as Json;
  } catch {
    return mutateBytes(bytes, rng, other);
  }
  for (let k = 1 + rng.int(3); k > 0; k--) tree = mutateTree(tree, rng);
  return new TextEncoder().encode(JSON.stringify(tree));
}
