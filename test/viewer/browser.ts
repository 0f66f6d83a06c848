// Debian's Chromium driven by playwright-core for the viewer's end-to-end test: headless, no sandbox (root),
// no GPU, none of Chromium's background network traffic, a fresh profile each launch. With `webgpu`, the
// browser offers WebGPU through SwiftShader, Chromium's CPU Vulkan implementation, so the viewer's WebGPU
// path runs (slowly) on a machine without a GPU.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** WebGPU on SwiftShader instead of no GPU at all. */
export const WEBGPU_FLAGS = [
  ...CHROMIUM_FLAGS.filter((f) => f !== '--disable-gpu'),
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
];

/**
 * Launches /usr/bin/chromium with a new empty user-data-dir (`webgpu`: with SwiftShader's WebGPU adapter).
 * @throws Error when Chromium is not installed (CI installs Debian's `chromium`; the test must not skip).
 */
export async function launchChromium(options: { webgpu?: boolean } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'masam-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: options.webgpu ? WEBGPU_FLAGS : CHROMIUM_FLAGS,
    acceptDownloads: true,
    viewport: { width: 1280, height: 760 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
