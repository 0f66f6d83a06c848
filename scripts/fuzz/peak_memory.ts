// Peak resident memory of a stretch of work, on Linux: reset the process's high-water mark (VmHWM) through
// /proc/self/clear_refs, run, read it back. Counts typed arrays too, which live outside the V8 heap.
import { readFileSync, writeFileSync } from 'node:fs';

function statusBytes(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : -1;
}

/**
 * Starts a measurement; the returned function gives the growth of peak RSS since, in bytes, or -1 where
 * /proc does not allow resetting the mark (not Linux).
 */
export function startPeakMeasure(): () => number {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    return () => -1;
  }
  const before = statusBytes('VmRSS');
  return () => statusBytes('VmHWM') - before;
}
