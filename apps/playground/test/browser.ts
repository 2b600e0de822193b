/**
 * Test helpers: serve the built page with the cross-origin isolation headers (Vite's preview
 * server, as `pnpm preview` does) and drive it in headless Debian Chromium via playwright-core,
 * recording every console error. No browser is downloaded: the system's Chromium is used.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { type PreviewServer, preview } from 'vite';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Why the browser tests skip, or undefined. */
export const skipReason = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;

export async function servePage(root: string): Promise<{ server: PreviewServer; url: string }> {
  const server = await preview({ root, logLevel: 'error', preview: { port: 0, host: '127.0.0.1', strictPort: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('the preview server has no address');
  return { server, url };
}

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--enable-unsafe-webgpu',
      '--use-webgpu-adapter=swiftshader',
    ],
  });
}

/** A fresh page on `url` whose console errors and page errors collect into `problems`. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ acceptDownloads: true });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /exceeds the maximum|storage buffers/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => 'playground' in globalThis);
  return { page, problems };
}
