// contentUids: the same seed gives the same UIDs, any change of a part or of how the parts split gives
// others, and every UID is a valid 2.25 UID (PS3.5 B.2, at most 64 characters) of a version-8 UUID.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentUids } from './content_uids.js';

const three = (uid: () => string) => [uid(), uid(), uid()];

describe('contentUids', () => {
  const seed = ['1.2.3', 'model', new Uint8Array([0, 1, 2])];

  it('gives the same UIDs for the same seed, each different from the next', () => {
    const a = three(contentUids(seed));
    assert.deepEqual(three(contentUids(seed)), a);
    assert.equal(new Set(a).size, 3);
  });

  it('gives other UIDs when a part changes or the parts split differently', () => {
    const a = three(contentUids(seed))[0];
    assert.notEqual(contentUids(['1.2.3', 'model', new Uint8Array([0, 1, 3])])(), a);
    assert.notEqual(contentUids(['1.2.3', 'label:final', new Uint8Array([0, 1, 2])])(), a);
    assert.notEqual(contentUids(['ab', 'c'])(), contentUids(['a', 'bc'])());
  });

  it('writes valid 2.25 UIDs of version-8 UUIDs', () => {
    for (const uid of three(contentUids(seed))) {
      assert.match(uid, /^2\.25\.[1-9]\d*$/);
      assert.ok(uid.length <= 64, uid);
      const hex = BigInt(uid.slice(5)).toString(16).padStart(32, '0');
      assert.equal(hex.length, 32);
      assert.equal(hex[12], '8', 'version 8');
      assert.ok('89ab'.includes(hex[16]!), 'RFC 9562 variant');
    }
  });
});
