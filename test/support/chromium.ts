// Opens a report in a real headless Chromium (Debian's, installed by scripts/setup.sh; never a downloaded
// browser) and says what a reader would see: console errors, any request off the file, and for every
// chart its id, its number of points and how many pixels it inked. Saves a full-page screenshot.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.FAULTLINE_CHROMIUM ?? '/usr/bin/chromium';

export interface Rendered {
  errors: string[];
  requests: string[];
  charts: { id: string; points: number; inked: number }[];
  /** The screenshot's first bytes say PNG. */
  png: boolean;
}

export async function openReport(file: string, screenshot: string): Promise<Rendered> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(`file://${file}`);
    const charts = await page.evaluate(() => {
      const list = (
        window as unknown as {
          faultlineCharts: { canvas: HTMLCanvasElement; data: { datasets: { data: unknown[] }[] } }[];
        }
      ).faultlineCharts;
      return list.map((c) => {
        // a drawn chart has non-blank pixels on its canvas
        const ctx = c.canvas.getContext('2d') as CanvasRenderingContext2D;
        const px = ctx.getImageData(0, 0, c.canvas.width, c.canvas.height).data;
        let inked = 0;
        for (let i = 3; i < px.length; i += 4) if ((px[i] as number) > 0) inked++;
        return { id: c.canvas.id, points: c.data.datasets.reduce((s, d) => s + d.data.length, 0), inked };
      });
    });
    mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    return { errors, requests, charts, png: readFileSync(screenshot).subarray(1, 4).toString() === 'PNG' };
  } finally {
    await browser.close();
  }
}
