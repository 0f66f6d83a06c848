// The datastore of `masam serve --studies <DICOMweb URL>`: the images are the series of a PACS, listed
// through QIDO-RS and read through WADO-RS, each named by its SeriesInstanceUID (a UID is a valid id: digits
// and dots). A result stored with output=dicom_seg goes back through STOW-RS as a DICOM-SEG of its series
// (io/dicom_seg.ts, as `masam segment --output x.dcm` writes), in the same study, and so does a label a user
// saves (PUT /datastore/label), its tag in the SeriesDescription ('masam label final'). The listing shows
// each image's SEGs, found through their ReferencedSeriesSequence: a saved label under its tag, a model's
// result under 'original' (MONAI Label's tag for it); GET /datastore/label answers the newest SEG of a tag
// as a label NIfTI on the series' grid. A SEG's UIDs derive from its content
// (content_uids.ts), so storing the same result twice leaves one instance in the PACS. Uploading images is
// not done here: a PACS takes DICOM from its own senders.
import type { DicomSegOptions, DicomSeriesInfo } from '../io/dicom_seg.js';
import { serializeDicomSeg } from '../io/dicom_seg.js';
import { parseDicomSeg, segToLabelVolume } from '../io/dicom_seg_read.js';
import { serializeNifti } from '../io/nifti.js';
import type { Volume } from '../io/volume.js';
import {
  type Datastore,
  type DatastoreObject,
  type DatastoreStatus,
  checkId,
  statusOf,
} from './datastore.js';
import { contentUids } from './content_uids.js';
import { type DicomJson, DicomWebClient, TAG, jsonItems, jsonString } from './dicomweb_client.js';
import { ServeError } from './serve_error.js';

/** The tag of the SEGs the server stored (a model's result). */
export const RESULT_TAG = 'original';
const SEG_MODALITY = 'SEG';
/** The SeriesDescription of a saved label: this, then its tag. */
const LABEL_DESCRIPTION = 'masam label ';
/** SeriesDescription is an LO of 64 characters, which must hold the tag whole. */
const MAX_TAG = 64 - LABEL_DESCRIPTION.length;
/** Series read recently, kept for the SEG writer (a result is stored right after its series was read). */
const KEPT_SERIES = 8;

/** A SEG series in the PACS: where it is, its datastore tag, the series it segments, when it was made. */
interface SegSeries {
  readonly study: string;
  readonly series: string;
  readonly tag: string;
  readonly references: ReadonlySet<string>;
  /** ContentDate + ContentTime (YYYYMMDDHHMMSS…), compared as text; '' when absent. */
  readonly created: string;
}

export interface StoredSeg {
  readonly bytes: Uint8Array;
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
}

export class DicomWebDatastore implements Datastore {
  readonly client: DicomWebClient;
  private readonly kept = new Map<string, DicomSeriesInfo>();

  constructor(
    baseUrl: string,
    /** Shown in the SEG's SoftwareVersions. */
    private readonly softwareVersion: string,
  ) {
    this.client = new DicomWebClient(baseUrl);
  }

  /** The QIDO-RS entry of series `id`. @throws ServeError 404 when the server has no such series */
  private async series(id: string): Promise<DicomJson> {
    checkId(id, 'image');
    const [found] = await this.client.searchSeries({ SeriesInstanceUID: id }, [
      TAG.NumberOfSeriesRelatedInstances,
    ]);
    if (!found || jsonString(found, TAG.StudyInstanceUID) === undefined)
      throw new ServeError(404, `image '${id}': no such series on ${this.client.baseUrl}`);
    return found;
  }

  async imageKey(id: string): Promise<string> {
    const s = await this.series(id);
    // A series that gains instances is a new image for the segmenter cache.
    return `dicomweb:${id}:${jsonString(s, TAG.NumberOfSeriesRelatedInstances) ?? '?'}`;
  }

  async readImage(id: string): Promise<Volume> {
    const study = jsonString(await this.series(id), TAG.StudyInstanceUID)!;
    const instances = await this.client.retrieveSeries(study, id);
    const dicom = await import('../io/dicom.js'); // codecs load only when DICOM is read
    const source = `${this.client.baseUrl} series ${id}`;
    const slices = [];
    for (const [i, bytes] of instances.entries())
      slices.push(await dicom.parseDicomAsync(bytes, `${source} instance ${i + 1}`));
    const volume = dicom.dicomSeriesToVolume(slices, source);
    if (volume.source?.dicom) {
      this.kept.delete(id);
      this.kept.set(id, volume.source.dicom);
      if (this.kept.size > KEPT_SERIES) this.kept.delete(this.kept.keys().next().value!);
    }
    return volume;
  }

  async imageFile(id: string): Promise<{ name: string; bytes: Uint8Array }> {
    return { name: `${id}.nii.gz`, bytes: serializeNifti(await this.readImage(id), { gzip: true }) };
  }

  /**
   * The newest SEG of series `id` under `tag` (by its ContentDate/Time), painted onto the series' grid as a
   * label NIfTI (io/dicom_seg_read.ts). @throws ServeError 404 when the series has none under `tag`, 502
   * when the PACS's SEG cannot be read onto the series
   */
  async labelFile(id: string, tag: string): Promise<{ name: string; bytes: Uint8Array }> {
    checkId(id, 'image');
    checkId(tag, 'tag');
    const candidates = (await this.scan()).segs
      .filter((g) => g.tag === tag && g.references.has(id))
      .sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : 0));
    const newest = candidates.at(-1);
    if (!newest) throw new ServeError(404, `image '${id}' has no label tagged '${tag}' in the PACS`);
    const [bytes] = await this.client.retrieveSeries(newest.study, newest.series);
    if (!bytes) throw new ServeError(502, `SEG series ${newest.series}: the PACS sent no instance`);
    const image = await this.readImage(id);
    let label: Volume;
    try {
      label = segToLabelVolume(parseDicomSeg(bytes, `SEG series ${newest.series}`), image).label;
    } catch (err) {
      throw new ServeError(502, `label '${tag}' of image '${id}': ${(err as Error).message}`);
    }
    return { name: `${id}.nii.gz`, bytes: serializeNifti(label, { gzip: true }) };
  }

  async addImage(id: string): Promise<string> {
    throw new ServeError(
      405,
      `image '${id}': a DICOMweb datastore takes no uploads; send the series to the PACS ` +
        '(C-STORE or STOW-RS), where it is listed at once',
    );
  }

  /**
   * Stores `label` as a DICOM-SEG of series `id` described 'masam label <tag>'; returns its
   * SeriesInstanceUID. @throws ServeError 400 for a label with no foreground or a tag too long to describe
   */
  async saveLabel(id: string, tag: string, label: Volume, classNames: readonly string[]): Promise<string> {
    checkId(tag, 'tag');
    if (tag.length > MAX_TAG)
      throw new ServeError(400, `tag '${tag}' is longer than ${MAX_TAG} characters, which a SEG can name`);
    const seg = await this.storeSeg(id, label, classNames, `label:${tag}`, {
      seriesDescription: `${LABEL_DESCRIPTION}${tag}`,
      algorithmType: 'SEMIAUTOMATIC', // a user's label, most often a model's result they corrected
      refuseEmpty: true,
    });
    return seg.seriesInstanceUID;
  }

  /**
   * Every series, and every SEG series with its tag and the series it references (one metadata request per
   * SEG series).
   */
  private async scan(): Promise<{ all: DicomJson[]; segs: SegSeries[] }> {
    const all = await this.client.searchSeries({}, [TAG.Modality, TAG.SeriesDescription]);
    const segs: SegSeries[] = [];
    for (const s of all.filter((x) => jsonString(x, TAG.Modality) === SEG_MODALITY)) {
      const [study, series] = [jsonString(s, TAG.StudyInstanceUID), jsonString(s, TAG.SeriesInstanceUID)];
      if (!study || !series) continue;
      const references = new Set<string>();
      let created = '';
      for (const instance of await this.client.seriesMetadata(study, series)) {
        const when = `${jsonString(instance, TAG.ContentDate) ?? ''}${jsonString(instance, TAG.ContentTime) ?? ''}`;
        if (when > created) created = when;
        for (const ref of jsonItems(instance, TAG.ReferencedSeriesSequence)) {
          const uid = jsonString(ref, TAG.SeriesInstanceUID);
          if (uid) references.add(uid);
        }
      }
      segs.push({ study, series, tag: segTag(jsonString(s, TAG.SeriesDescription)), references, created });
    }
    return { all, segs };
  }

  /** Every non-SEG series, with the SEGs that reference it: saved labels by tag, results as RESULT_TAG. */
  async objects(): Promise<Record<string, DatastoreObject>> {
    const { all, segs } = await this.scan();
    const objects: Record<string, DatastoreObject> = {};
    for (const s of all) {
      const id = jsonString(s, TAG.SeriesInstanceUID);
      if (!id || jsonString(s, TAG.Modality) === SEG_MODALITY) continue;
      const info = {
        StudyInstanceUID: jsonString(s, TAG.StudyInstanceUID),
        Modality: jsonString(s, TAG.Modality),
        SeriesDescription: jsonString(s, TAG.SeriesDescription),
      };
      const tags = [...new Set(segs.filter((g) => g.references.has(id)).map((g) => g.tag))].sort();
      objects[id] = {
        image: { ext: '.dcm', info },
        labels: Object.fromEntries(tags.map((t) => [t, { ext: '.dcm', info: {} }])),
      };
    }
    return objects;
  }

  async status(): Promise<DatastoreStatus> {
    return statusOf(await this.objects());
  }

  /**
   * Writes `labels` (on series `id`'s grid) as a DICOM-SEG of that series and stores it through STOW-RS.
   * `producer` (the model's name, or 'label:<tag>') names what made it; the SEG's UIDs derive from the
   * series, the producer, the class names and the labels, so the same result stored again is the same
   * instance. @throws ServeError 400 when the writer refuses the labels (or they have no foreground and
   * `refuseEmpty`), 502 when the PACS refuses the SEG
   */
  async storeSeg(
    id: string,
    labels: Volume,
    classNames: readonly string[],
    producer: string,
    options: {
      seriesDescription?: string;
      algorithmType?: DicomSegOptions['algorithmType'];
      refuseEmpty?: boolean;
    } = {},
  ): Promise<StoredSeg> {
    if (!this.kept.has(id)) await this.readImage(id); // the segmenter was cached: read the series again
    const series = this.kept.get(id)!;
    const data = labels.data;
    const uid = contentUids([
      id,
      producer,
      JSON.stringify(classNames),
      labels.dtype,
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    ]);
    let seg: ReturnType<typeof serializeDicomSeg>;
    try {
      seg = serializeDicomSeg(labels, series, {
        classNames,
        name: `DICOM-SEG of series ${id}`,
        seriesDescription: options.seriesDescription ?? `masam ${producer}`,
        softwareVersion: `masam ${this.softwareVersion}`,
        uid,
        ...(options.algorithmType ? { algorithmType: options.algorithmType } : {}),
      });
    } catch (err) {
      throw new ServeError(400, (err as Error).message);
    }
    if (seg.empty && options.refuseEmpty)
      throw new ServeError(
        400,
        `label of image '${id}': no voxel has a foreground class (${classNames.slice(1).join(', ')}); ` +
          'nothing to save',
      );
    await this.client.store([seg.bytes]);
    return {
      bytes: seg.bytes,
      studyInstanceUID: series.studyInstanceUID ?? '',
      seriesInstanceUID: seg.seriesInstanceUID,
      sopInstanceUID: seg.sopInstanceUID,
    };
  }
}

/** The datastore tag of a SEG series by its SeriesDescription: a saved label's tag, else RESULT_TAG. */
function segTag(description: string | undefined): string {
  if (!description?.startsWith(LABEL_DESCRIPTION)) return RESULT_TAG;
  const tag = description.slice(LABEL_DESCRIPTION.length).trim();
  try {
    return checkId(tag, 'tag');
  } catch {
    return RESULT_TAG; // not one masam wrote
  }
}
