// Writes a run's report next to the state (or where asked), with Chart.js read from node_modules and
// inlined by the pure renderer.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { STATE_DIR } from '../config.ts';
import type { Journal } from '../experiments/journal.ts';
import type { GameDayJournal } from '../experiments/gameday-types.ts';
import { renderGameDayReport, renderReport } from './html.ts';

let chartJs: string | undefined;
/** Chart.js's UMD build, from the installed package (no CDN, no network). */
export function chartJsSource(): string {
  chartJs ??= readFileSync(
    path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'),
    'utf8',
  );
  return chartJs;
}

export function defaultReportPath(workflowId: string): string {
  return path.join(STATE_DIR, 'reports', `${workflowId.replace(/[^A-Za-z0-9._-]+/g, '_')}.html`);
}

/** Renders and writes the report; returns the absolute path. */
export function writeReport(j: Journal, file = defaultReportPath(j.workflowId)): string {
  const out = path.resolve(file);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, renderReport(j, chartJsSource()));
  return out;
}

/** A game day's report: its timeline and every child run; returns the absolute path. */
export function writeGameDayReport(
  g: GameDayJournal,
  children: Record<string, Journal | undefined>,
  file = defaultReportPath(g.workflowId),
): string {
  const out = path.resolve(file);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, renderGameDayReport(g, children, chartJsSource()));
  return out;
}
