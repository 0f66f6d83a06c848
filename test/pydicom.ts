// Optional oracle for DICOM tests: another tool's reading (or writing) of a file, by Python's pydicom. The
// interpreter is looked for once; tests using it skip, with the reason, where none has pydicom and numpy
// (CI need not have Python).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The interpreters to try, in order: $MASAM_PYTHON when set (an empty value counts as unset), else python3,
 * else Debian's /usr/bin/python3 (python3-pydicom), which a pyenv python3 first on PATH may hide.
 */
function candidates(): string[] {
  const chosen = process.env['MASAM_PYTHON'];
  return chosen ? [chosen] : ['python3', '/usr/bin/python3'];
}

let found: { python: string } | { reason: string } | undefined;

function findPydicom(): { python: string } | { reason: string } {
  if (found === undefined) {
    const failures: string[] = [];
    for (const python of candidates()) {
      const r = spawnSync(python, ['-c', 'import pydicom, numpy'], { encoding: 'utf8' });
      if (r.status === 0) {
        found = { python };
        return found;
      }
      failures.push(
        r.error !== undefined
          ? `${python} is not available (${r.error.message})`
          : `${python} cannot import pydicom, numpy`,
      );
    }
    found = {
      reason: `no Python with pydicom and numpy: ${failures.join('; ')} (Debian: python3-pydicom); set MASAM_PYTHON to one that has them`,
    };
  }
  return found;
}

/** Why pydicom tests must skip, naming the interpreters tried, or undefined when one can run them. */
export function pydicomSkipReason(): string | undefined {
  const f = findPydicom();
  return 'reason' in f ? f.reason : undefined;
}

/**
 * Runs `python -c script ...args` with the interpreter found and returns its stdout; fails the test, with
 * Python's stderr, unless it exits 0. `what` completes "pydicom could not …", e.g. `read ${path}`.
 */
export function runPydicom(script: string, args: string[], what: string): string {
  const f = findPydicom();
  if ('reason' in f) throw new Error(`pydicom could not ${what}: ${f.reason}`);
  const r = spawnSync(f.python, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, `pydicom could not ${what} (${f.python}): ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

/** runPydicom on `bytes` (e.g. an instance retrieved from a PACS), saved to a temporary file: sys.argv[1]. */
export function runPydicomOnBytes(bytes: Uint8Array, script: string, what: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'masam-pydicom-'));
  try {
    const path = join(dir, 'instance.dcm');
    writeFileSync(path, bytes);
    return runPydicom(script, [path], what);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
