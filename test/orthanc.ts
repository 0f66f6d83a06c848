// A real PACS for tests: Orthanc with its DICOMweb plugin (Debian packages orthanc and orthanc-dicomweb),
// started on loopback with a free port and a throw-away storage folder, stopped by the test. Shared by the
// serve --studies and the queue DICOMweb tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free_port.js';

const ORTHANC = '/usr/sbin/Orthanc';
const PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

/** Why the Orthanc tests cannot run here, or undefined when they can. */
export function orthancSkipReason(): string | undefined {
  if (!existsSync(ORTHANC))
    return `${ORTHANC} is missing (Debian: apt-get install orthanc orthanc-dicomweb); the Orthanc round trip skips`;
  if (!existsSync(PLUGIN))
    return `${PLUGIN} is missing (Debian: apt-get install orthanc-dicomweb); the Orthanc round trip skips`;
  return undefined;
}

export interface RunningOrthanc {
  readonly process: ChildProcess;
  /** The DICOMweb root. */
  readonly url: string;
}

/** Orthanc on loopback storing under `dir`; resolves once its REST API answers. */
export async function startOrthanc(dir: string): Promise<RunningOrthanc> {
  const port = await freePort();
  const config = {
    Name: 'masam-test',
    StorageDirectory: join(dir, 'db'),
    IndexDirectory: join(dir, 'db'),
    HttpPort: port,
    DicomServerEnabled: false,
    RemoteAccessAllowed: false, // loopback clients only, so no authentication
    AuthenticationEnabled: false,
    SaveJobs: false,
    Plugins: [PLUGIN],
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
  };
  const configPath = join(dir, 'orthanc.json');
  writeFileSync(configPath, JSON.stringify(config));
  const child = spawn(ORTHANC, [configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const append = (d: Buffer) => {
    log += d;
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Orthanc exited with ${child.exitCode}:\n${log}`);
    const ok = await fetch(`${url}/system`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Orthanc did not answer within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { process: child, url: `${url}/dicom-web` };
}

/** Stops Orthanc and waits for it to exit. */
export async function stopOrthanc(orthanc: RunningOrthanc | undefined): Promise<void> {
  if (!orthanc || orthanc.process.exitCode !== null || orthanc.process.signalCode !== null) return;
  const exited = new Promise((ok) => orthanc.process.once('exit', ok));
  orthanc.process.kill('SIGTERM');
  await exited;
}
