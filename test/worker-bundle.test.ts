// The worker's cached workflow bundle is keyed on exactly the files the bundle contains: the list comes
// from the bundle's own source map (its module graph), and the key the cache computes from the files on
// disk is the key of the bundle built from them.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, STATE_DIR } from '../config.ts';
import { bundledSources, cachedWorkflowBundle, workflowBundleKey } from '../worker/worker.ts';
import { workflowBundle } from './helpers.ts';

describe('the cached workflow bundle', () => {
  it('lists the project files the bundle contains, and only those', async () => {
    const files = bundledSources((await workflowBundle()).code).map((s) => s.file);
    expect(files).toEqual(
      expect.arrayContaining(['workflows/index.ts', 'workflows/experiment.ts', 'faults/duration.ts']),
    );
    // Type-only imports are not bundled; neither are dependencies (the lock file covers those).
    expect(files).not.toContain('experiments/schema.ts');
    expect(files).not.toContain('activities/index.ts');
    expect(files.filter((f) => f.includes('node_modules') || f.startsWith('..'))).toEqual([]);
  });

  it('keys the bundle on the text of those files as they are on disk', async () => {
    const sources = bundledSources((await workflowBundle()).code);
    const onDisk = sources.map((s) => ({ file: s.file, text: readFileSync(path.join(PROJECT_ROOT, s.file), 'utf8') }));
    expect(workflowBundleKey(onDisk)).toBe(workflowBundleKey(sources));
    const edited = sources.map((s, i) => (i === 0 ? { ...s, text: `${s.text}\n// edited` } : s));
    expect(workflowBundleKey(edited)).not.toBe(workflowBundleKey(sources));
    const renamed = sources.map((s, i) => (i === 0 ? { ...s, file: `${s.file}.moved` } : s));
    expect(workflowBundleKey(renamed)).not.toBe(workflowBundleKey(sources));
  });

  it('builds once into the state directory, then reuses it', async () => {
    const first = await cachedWorkflowBundle();
    expect(path.dirname(first.codePath)).toBe(path.join(STATE_DIR, 'cache'));
    const manifest = JSON.parse(readFileSync(path.join(STATE_DIR, 'cache', 'workflow-bundle.json'), 'utf8')) as {
      key: string;
      files: string[];
    };
    expect(first.codePath).toBe(path.join(STATE_DIR, 'cache', `workflow-bundle-${manifest.key}.js`));
    expect(manifest.files).toEqual(bundledSources(readFileSync(first.codePath, 'utf8')).map((s) => s.file));
    const built = statSync(first.codePath).ino;
    expect((await cachedWorkflowBundle()).codePath).toBe(first.codePath);
    expect(statSync(first.codePath).ino).toBe(built); // not rewritten
  });
});
