// multipart/related as DICOMweb sends it: a round trip of binary parts (CRLF and boundary-like bytes inside),
// bodies as servers write them (preamble, quoted boundary, a part without headers), and truncated bodies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundaryOf, buildMultipartRelated, parseMultipartRelated } from './dicomweb_multipart.js';
import { ServeError } from './serve_error.js';

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('multipart/related (DICOMweb)', () => {
  it('parses what it builds, binary bytes intact', () => {
    const parts = [bytes('DICM\r\n\r\n--not-the-boundary\r\n\0\xff'), new Uint8Array(0), bytes('x')];
    const { contentType, body } = buildMultipartRelated(parts, 'application/dicom');
    assert.match(contentType, /^multipart\/related; type="application\/dicom"; boundary=masam-[0-9a-f]{32}$/);
    const parsed = parseMultipartRelated(body, boundaryOf(contentType, 't'), 't');
    assert.deepEqual(
      parsed.map((p) => p.bytes),
      parts,
    );
    assert.equal(parsed[0]!.headers['content-type'], 'application/dicom');
  });

  it('reads a server body: preamble, quoted boundary, headers in any case, a part without headers', () => {
    const type = 'multipart/related; type="application/dicom"; boundary="b 1"';
    const body = bytes(
      'preamble\r\n--b 1\r\nCONTENT-TYPE: application/dicom\r\nContent-Length: 3\r\n\r\nabc\r\n--b 1\r\n\r\nde\r\n--b 1--\r\nepilogue',
    );
    const parts = parseMultipartRelated(body, boundaryOf(type, 't'), 't');
    assert.deepEqual(
      parts.map((p) => Buffer.from(p.bytes).toString()),
      ['abc', 'de'],
    );
    assert.deepEqual(parts[0]!.headers, { 'content-type': 'application/dicom', 'content-length': '3' });
    assert.deepEqual(parts[1]!.headers, {});
  });

  it('refuses a non-multipart type, a truncated body and a part without its header end', () => {
    const refused = (f: () => unknown, detail: RegExp) =>
      assert.throws(
        f,
        (e: unknown) => e instanceof ServeError && e.statusCode === 502 && detail.test(e.message),
      );
    refused(() => boundaryOf('application/dicom+json', 'srv'), /srv: expected a multipart answer/);
    refused(() => boundaryOf('multipart/related; type="application/dicom"', 'srv'), /without a boundary/);
    refused(
      () => parseMultipartRelated(bytes('--b\r\n\r\nabc'), 'b', 'srv'),
      /ends before its closing boundary/,
    );
    refused(() => parseMultipartRelated(bytes('nothing here'), 'b', 'srv'), /without its boundary/);
    refused(
      () => parseMultipartRelated(bytes('--b\r\nContent-Type: x\r\nabc\r\n--b--'), 'b', 'srv'),
      /part 1 has no end of headers/,
    );
  });
});
