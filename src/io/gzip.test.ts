// Tests for the gzip adapter: round trips, multi-member streams and damaged input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError } from '../core/errors.js';
import { gunzip, gunzipPrefix, gzip, isGzip } from './gzip.js';

/** 3 MiB of patterned bytes: the decoder emits them in several output chunks. */
const DATA = Uint8Array.from({ length: 3 << 20 }, (_, i) => (i * 7919) % 251);

describe('gzip adapter', () => {
  it('round-trips data larger than one decoder piece', () => {
    const z = gzip(DATA);
    assert.ok(isGzip(z));
    assert.ok(z.length < DATA.length);
    assert.deepEqual(gunzip(z), DATA);
  });

  it('round-trips incompressible data whose gzip spans several 1 MiB input pieces', () => {
    let s = 12345;
    const noise = Uint8Array.from({ length: 2.5 * (1 << 20) }, () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s >>> 24;
    });
    const z = gzip(noise, 1);
    assert.ok(z.length > 2 << 20);
    assert.deepEqual(gunzip(z), noise);
  });

  it('concatenates every member of a multi-member stream', () => {
    const a = new TextEncoder().encode('first member, ');
    const b = new TextEncoder().encode('second member');
    const za = gzip(a);
    const zb = gzip(b);
    const both = new Uint8Array(za.length + zb.length);
    both.set(za);
    both.set(zb, za.length);
    assert.equal(new TextDecoder().decode(gunzip(both)), 'first member, second member');
  });

  it('round-trips empty input', () => {
    assert.equal(gunzip(gzip(new Uint8Array(0))).length, 0);
  });

  it('reports truncated and non-gzip input as FormatError naming the source', () => {
    const z = gzip(DATA);
    assert.throws(
      () => gunzip(z.subarray(0, z.length >> 1), 'scan.nii.gz'),
      (e: unknown) => e instanceof FormatError && /^scan\.nii\.gz: corrupt or truncated gzip/.test(e.message),
    );
    assert.throws(() => gunzip(new Uint8Array([1, 2, 3]), 'x'), /x: not gzip data/);
    assert.equal(isGzip(new Uint8Array([0x1f])), false);
  });

  it('inflates no more than asked of a stream that holds far more (a decompression bomb)', () => {
    const zeros = gzip(new Uint8Array(64 << 20), 9); // 64 MiB of zeros in ~64 KiB
    const t0 = performance.now();
    const head = gunzipPrefix(zeros, 1000, 'bomb.gz');
    assert.ok(performance.now() - t0 < 200, 'the prefix is read without inflating the rest');
    assert.equal(head.data.length, 1000);
    assert.equal(head.complete, false);
    const all = gunzipPrefix(gzip(DATA), DATA.length, 'exact.gz');
    assert.equal(all.complete, true);
    assert.deepEqual(all.data, DATA);
    assert.throws(
      () => gunzip(zeros, 'bomb.gz', 1 << 20),
      (e: unknown) =>
        e instanceof FormatError && /^bomb\.gz: decompresses past the 1048576-byte limit/.test(e.message),
    );
  });
});
