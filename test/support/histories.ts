// Recorded workflow histories for replay tests: the JSON of `temporal workflow show --output json` (or of
// fetchHistory()) as a History the SDK's replayer takes, and the replay corpus under test/fixtures/histories/
// (one directory per recording, each with an index.json written by scripts/record-histories.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import { PROJECT_ROOT } from '../../config.ts';

export type History = temporal.api.history.v1.IHistory;

export const HISTORIES_DIR = path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories');

/**
 * The JSON history as a History. The SDK's own historyFromJSON fails in this install ("type must be a
 * Type"): @temporalio/common and @temporalio/proto each carry a protobufjs copy, so the proto root's types
 * are parsed here with the protobufjs that created them.
 */
export function historyFromJson(json: unknown): History {
  const req = createRequire(import.meta.url);
  const protoDir = path.dirname(req.resolve('@temporalio/proto/package.json'));
  const proto = req('@temporalio/proto') as object;
  const { patchProtobufRoot } = req('@temporalio/proto/lib/patch-protobuf-root') as {
    patchProtobufRoot: (p: object) => { lookupType: (n: string) => unknown };
  };
  const { fromJson } = req(req.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as {
    fromJson: (type: unknown, json: unknown, opts: object) => History;
  };
  const type = patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History');
  return fromJson(type, json, { ignoreUnknownFields: true });
}

export function loadHistory(file: string): History {
  return historyFromJson(JSON.parse(readFileSync(file, 'utf8')));
}

/** One entry of a recording's index.json. */
export interface CorpusEntry {
  file: string;
  workflowType: string;
  case: string;
  description: string;
  workflowId: string;
  runId: string;
  status: string;
  events: number;
}

export interface Recording {
  /** The directory's name, e.g. v0.1.0-e5fa4a4. */
  name: string;
  dir: string;
  recordedAt: { commit: string; version: string; date: string };
  sdk: Record<string, string>;
  histories: CorpusEntry[];
}

/** Every recording (a directory with an index.json) under test/fixtures/histories/, oldest name first. */
export function recordings(dir = HISTORIES_DIR): Recording[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'index.json')))
    .map((d) => {
      const index = JSON.parse(readFileSync(path.join(dir, d.name, 'index.json'), 'utf8')) as Omit<
        Recording,
        'name' | 'dir'
      >;
      return { ...index, name: d.name, dir: path.join(dir, d.name) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A history of the corpus: its path relative to test/fixtures/histories/ names it in every report. */
export interface CorpusHistory {
  name: string;
  file: string;
  workflowType: string;
}

/**
 * Every history in the corpus: each recording's indexed files, and the loose files recorded before the
 * corpus had recordings (e.g. pre-fleet-run.json, a runExperiment).
 */
export function corpus(dir = HISTORIES_DIR): CorpusHistory[] {
  const loose = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.json'))
    .map((d) => {
      const file = path.join(dir, d.name);
      const first = (JSON.parse(readFileSync(file, 'utf8')) as { events?: LooseEvent[] }).events?.[0];
      return {
        name: d.name,
        file,
        workflowType: first?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? 'unknown',
      };
    });
  const indexed = recordings(dir).flatMap((r) =>
    r.histories.map((h) => ({
      name: `${r.name}/${h.file}`,
      file: path.join(r.dir, h.file),
      workflowType: h.workflowType,
    })),
  );
  return [...loose, ...indexed];
}

interface LooseEvent {
  workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } };
}
