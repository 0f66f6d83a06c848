// A small DICOMweb client (PS3.18): QIDO-RS series search (§10.6, answers in DICOM JSON, PS3.18 F.2),
// WADO-RS retrieval of a series' instances and metadata (§10.4) and STOW-RS storage (§10.5), over Node's
// fetch. Every failure is a ServeError 502 naming the URL, since to a masam serve client the PACS is the
// upstream server.
import { boundaryOf, buildMultipartRelated, parseMultipartRelated } from './dicomweb_multipart.js';
import { ServeError } from './serve_error.js';

/** A data set in DICOM JSON (PS3.18 F.2): tag 'GGGGEEEE' → { vr, Value }. */
export type DicomJson = Record<string, { vr?: string; Value?: unknown[] } | undefined>;

/** The first value of `tag` as a string, or undefined. */
export function jsonString(ds: DicomJson, tag: string): string | undefined {
  const v = ds[tag]?.Value?.[0];
  return v === undefined || v === null ? undefined : String(v);
}

/** The items of sequence `tag`. */
export function jsonItems(ds: DicomJson, tag: string): DicomJson[] {
  return (ds[tag]?.Value ?? []) as DicomJson[];
}

export const TAG = {
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SOPInstanceUID: '00080018',
  Modality: '00080060',
  SeriesDescription: '0008103E',
  NumberOfSeriesRelatedInstances: '00201209',
  ReferencedSeriesSequence: '00081115',
  FailedSOPSequence: '00081198',
  FailureReason: '00081197',
  ContentDate: '00080023',
  ContentTime: '00080033',
} as const;

const DICOM_JSON = 'application/dicom+json';
/** STOW-RS FailureReason of an instance the server already holds (PS3.7 C.5 "Duplicate SOP instance"). */
const DUPLICATE_SOP_INSTANCE = 0x0111;

export class DicomWebClient {
  /** `baseUrl`: the DICOMweb root, e.g. http://127.0.0.1:8042/dicom-web (Orthanc's plugin). */
  constructor(readonly baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** `path` fetched; an answer other than 2xx (or one of `alsoAccepted`) is a ServeError 502. */
  private async request(
    path: string,
    init: RequestInit,
    alsoAccepted: readonly number[] = [],
  ): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (err) {
      const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new ServeError(502, `DICOMweb server ${url}: ${cause}`);
    }
    if (!res.ok && !alsoAccepted.includes(res.status)) {
      const text = (await res.text().catch(() => '')).slice(0, 300);
      throw new ServeError(
        502,
        `DICOMweb server ${url}: HTTP ${res.status} ${res.statusText} ${text}`.trim(),
      );
    }
    return res;
  }

  private async json(path: string): Promise<DicomJson[]> {
    const res = await this.request(path, { headers: { accept: DICOM_JSON } });
    if (res.status === 204) return []; // QIDO-RS: no match
    const body = await res.json().catch(() => undefined);
    if (!Array.isArray(body))
      throw new ServeError(
        502,
        `DICOMweb server ${this.baseUrl}${path}: the answer is not a DICOM JSON array`,
      );
    return body as DicomJson[];
  }

  /** QIDO-RS `/series` with `filters` (attribute keyword or tag → value), asking for `includeFields` too. */
  searchSeries(
    filters: Record<string, string> = {},
    includeFields: readonly string[] = [],
  ): Promise<DicomJson[]> {
    const query = new URLSearchParams(filters);
    for (const f of includeFields) query.append('includefield', f);
    const qs = query.toString();
    return this.json(`/series${qs ? `?${qs}` : ''}`);
  }

  /** WADO-RS metadata of a series: one DICOM JSON data set per instance, without bulk data. */
  seriesMetadata(study: string, series: string): Promise<DicomJson[]> {
    return this.json(`/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/metadata`);
  }

  /** WADO-RS: every instance of a series, as Part 10 bytes (in the transfer syntax the server stored). */
  async retrieveSeries(study: string, series: string): Promise<Uint8Array[]> {
    const path = `/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}`;
    const res = await this.request(path, {
      headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
    });
    const what = `DICOMweb server ${this.baseUrl}${path}`;
    const boundary = boundaryOf(res.headers.get('content-type'), what);
    const body = new Uint8Array(await res.arrayBuffer());
    return parseMultipartRelated(body, boundary, what).map((p) => p.bytes);
  }

  /**
   * STOW-RS: stores Part 10 `instances`. An instance the server already holds counts as stored: Orthanc
   * answers 200 and lists it as stored again (keeping the first copy); a server that lists it in its
   * FailedSOPSequence as a duplicate (FailureReason 0111H, PS3.7 C.5), with 409 Conflict when nothing else
   * was stored, is taken the same way. @throws ServeError 502 when the server refuses any instance for
   * another reason (its FailedSOPSequence, with the reasons, PS3.18 §10.5.3) or answers another error
   */
  async store(instances: readonly Uint8Array[]): Promise<void> {
    const { contentType, body } = buildMultipartRelated(instances, 'application/dicom');
    const res = await this.request(
      '/studies',
      {
        method: 'POST',
        headers: { 'content-type': contentType, accept: DICOM_JSON },
        body: new Uint8Array(body),
      },
      [409],
    );
    const answer = (await res.json().catch(() => ({}))) as DicomJson;
    const refused = jsonItems(answer, TAG.FailedSOPSequence);
    if (res.status === 409 && refused.length === 0)
      throw new ServeError(
        502,
        `DICOMweb server ${this.baseUrl}/studies: HTTP 409 Conflict, no reason given`,
      );
    const failed = refused.filter((f) => Number(jsonString(f, TAG.FailureReason)) !== DUPLICATE_SOP_INSTANCE);
    if (failed.length > 0) {
      const reasons = failed.map(
        (f) => `${jsonString(f, '00081155')}: reason ${jsonString(f, TAG.FailureReason)}`,
      );
      throw new ServeError(
        502,
        `DICOMweb server ${this.baseUrl}/studies refused ${failed.length} instance(s): ${reasons.join('; ')}`,
      );
    }
  }
}
