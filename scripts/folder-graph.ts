// The graph of the top-level folders, from dependency-cruiser's resolution of every import (type-only ones
// included; tests left out: .dependency-cruiser.cjs), and the check that it has no cycle (README,
// "Layering"). `npm run lint` runs it after eslint. dependency-cruiser's own folder rule sees leaf folders
// (activities/ and activities/adapters/ are two), so the top-level collapse and the cycle search are here.
//   npx tsx scripts/folder-graph.ts             exit 1 naming each cycle and the imports that make it
//   npx tsx scripts/folder-graph.ts --mermaid   the graph as a Mermaid flowchart (the README's)
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FOLDERS = [
  'workflows',
  'definitions',
  'activities',
  'experiments',
  'worker',
  'faults',
  'judge',
  'cli',
  'proxy',
  'warden',
  'report',
  'bench',
  'demo',
  'scripts',
];

interface Cruised {
  modules: { source: string; dependencies: { resolved: string; coreModule: boolean; couldNotResolve: boolean }[] }[];
}

/** The top-level folder of a path; root files (config.ts, errors.ts) are '(root)'. */
const top = (p: string) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : '(root)');

export function folderGraph(): { edges: Map<string, Map<string, string[]>> } {
  const r = spawnSync(
    path.join(ROOT, 'node_modules', '.bin', 'depcruise'),
    ['--config', '.dependency-cruiser.cjs', '--output-type', 'json', ...FOLDERS, 'config.ts', 'errors.ts'],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (r.status !== 0 && !r.stdout) throw new Error(`depcruise failed: ${r.stderr || r.error?.message}`);
  const cruised = JSON.parse(r.stdout) as Cruised;
  const edges = new Map<string, Map<string, string[]>>(); // from -> to -> imports (file -> file)
  for (const m of cruised.modules) {
    if (m.source.startsWith('node_modules/')) continue;
    const from = top(m.source);
    for (const d of m.dependencies) {
      if (d.coreModule || d.couldNotResolve || d.resolved.startsWith('node_modules/')) continue;
      const to = top(d.resolved);
      if (to === from) continue;
      const byTo = edges.get(from) ?? new Map<string, string[]>();
      edges.set(from, byTo);
      byTo.set(to, [...(byTo.get(to) ?? []), `${m.source} -> ${d.resolved}`]);
    }
  }
  return { edges };
}

/** Strongly connected components with more than one folder (Tarjan): each is a cycle. */
export function cycles(edges: Map<string, Map<string, string[]>>): string[][] {
  const nodes = [...new Set([...edges.keys(), ...[...edges.values()].flatMap((m) => [...m.keys()])])].sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  let i = 0;
  const visit = (v: string) => {
    index.set(v, i);
    low.set(v, i++);
    stack.push(v);
    on.add(v);
    for (const w of [...(edges.get(v)?.keys() ?? [])].sort()) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        on.delete(w);
        scc.push(w);
        if (w === v) break;
      }
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return out;
}

export function mermaid(edges: Map<string, Map<string, string[]>>): string {
  const id = (f: string) => (f === '(root)' ? 'root["config.ts, errors.ts"]' : f);
  const lines = ['flowchart TD'];
  for (const [from, tos] of [...edges].sort(([a], [b]) => a.localeCompare(b)))
    for (const to of [...tos.keys()].sort()) lines.push(`  ${id(from)} --> ${id(to)}`);
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { edges } = folderGraph();
  if (process.argv.includes('--mermaid')) {
    console.log(mermaid(edges));
  } else {
    const found = cycles(edges);
    for (const scc of found) {
      console.error(`folder cycle: ${scc.join(' <-> ')}`);
      for (const a of scc)
        for (const b of scc)
          for (const imp of (edges.get(a)?.get(b) ?? []).slice(0, 5)) console.error(`  ${a} -> ${b}: ${imp}`);
    }
    if (found.length) {
      console.error(`${found.length} folder cycle(s): move what both sides need below both (README, "Layering")`);
      process.exit(1);
    }
    const n = [...edges.values()].reduce((s, m) => s + m.size, 0);
    console.log(`folder graph: ${edges.size} folders import others, ${n} edges, no cycle`);
  }
}
