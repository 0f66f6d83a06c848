// Where the shared reference fixtures live: ../shared/fixtures beside the repository (also in CI).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = resolve(REPO_ROOT, '..', 'shared', 'fixtures');

/** Absolute path of a fixture file; throws a clear error when the shared folder is missing. */
export function fixturePath(...parts: string[]): string {
  const p = join(FIXTURES, ...parts);
  if (!existsSync(p))
    throw new Error(`fixture not found: ${p} (expected ../shared/fixtures beside the repo)`);
  return p;
}
