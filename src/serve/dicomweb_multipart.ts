// multipart/related bodies (RFC 2387 on RFC 2046 §5.1) as DICOMweb uses them (PS3.18 §8.6.1.2): WADO-RS
// answers a series as one application/dicom part per instance, STOW-RS takes instances the same way.
// Parts are byte ranges of the body (DICOM is binary: nothing is decoded as text but the part headers).
import { randomBytes } from 'node:crypto';
import { ServeError } from './serve_error.js';

/** One part: its headers (names lower-cased) and its bytes. */
export interface RelatedPart {
  readonly headers: Readonly<Record<string, string>>;
  readonly bytes: Uint8Array;
}

/**
 * The `boundary` parameter of a multipart Content-Type (quoted or not).
 * @throws ServeError 502 naming `what` when the type is not multipart or has no boundary
 */
export function boundaryOf(contentType: string | null, what: string): string {
  const type = contentType ?? '';
  if (!/^\s*multipart\//i.test(type))
    throw new ServeError(502, `${what}: expected a multipart answer, got '${type}'`);
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw new ServeError(502, `${what}: multipart answer without a boundary ('${type}')`);
  return boundary;
}

/**
 * The parts of a multipart body. A part ends at CRLF + "--boundary" (RFC 2046 §5.1.1: that CRLF belongs to
 * the delimiter); the body ends at "--boundary--".
 * @throws ServeError 502 naming `what` for a body without its delimiters or a part without its header end
 */
export function parseMultipartRelated(body: Uint8Array, boundary: string, what: string): RelatedPart[] {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: RelatedPart[] = [];
  let at = buf.indexOf(delimiter);
  if (at < 0) throw new ServeError(502, `${what}: multipart body without its boundary '${boundary}'`);
  for (;;) {
    let start = at + delimiter.length;
    if (buf[start] === 0x2d && buf[start + 1] === 0x2d) return parts; // "--boundary--": the end
    const lineEnd = buf.indexOf('\r\n', start);
    if (lineEnd < 0) break;
    start = lineEnd + 2;
    const next = buf.indexOf(Buffer.from(`\r\n--${boundary}`), start);
    if (next < 0) break;
    const headerEnd = buf.indexOf('\r\n\r\n', start);
    // A part with no headers starts with the blank line itself.
    const [head, content] =
      buf[start] === 0x0d && buf[start + 1] === 0x0a
        ? ['', start + 2]
        : headerEnd >= 0 && headerEnd < next
          ? [buf.toString('latin1', start, headerEnd), headerEnd + 4]
          : [undefined, 0];
    if (head === undefined)
      throw new ServeError(502, `${what}: part ${parts.length + 1} has no end of headers`);
    const headers: Record<string, string> = {};
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, bytes: new Uint8Array(buf.subarray(content, next)) });
    at = next + 2;
  }
  throw new ServeError(502, `${what}: multipart body ends before its closing boundary '--${boundary}--'`);
}

/** A multipart/related body of `parts`, each of Content-Type `type`, and its Content-Type header. */
export function buildMultipartRelated(
  parts: readonly Uint8Array[],
  type: string,
): { contentType: string; body: Buffer } {
  // A random boundary: 32 hex digits cannot plausibly occur inside the instances.
  const boundary = `masam-${randomBytes(16).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${type}\r\n\r\n`));
    chunks.push(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    contentType: `multipart/related; type="${type}"; boundary=${boundary}`,
    body: Buffer.concat(chunks),
  };
}
