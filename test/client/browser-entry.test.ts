import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ENTRY = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/client/index.ts');
/** Packages that need Node; a browser bundle of `sbmp/client` must never load them statically. */
const NODE_ONLY = /^(node:|lmdb$|prom-client$|pino$|ws$|commander$|cockatiel$|@nats-io\/)/;
const STATIC_IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm;

/** Every module `entry` loads through static imports and re-exports (type-only ones excluded). */
function staticGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (graph.has(file)) continue;
    const source = readFileSync(file, 'utf8');
    const specifiers: string[] = [];
    for (const match of source.matchAll(STATIC_IMPORT)) {
      if (/^\s*(?:import|export)\s+type\s/.test(match[0])) continue;
      specifiers.push(match[1]!);
      if (match[1]!.startsWith('.')) pending.push(resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts')));
    }
    graph.set(file, specifiers);
  }
  return graph;
}

describe('sbmp/client entry', () => {
  it('loads nothing that needs Node through static imports', () => {
    const graph = staticGraph(ENTRY);
    assert.ok(graph.size > 10, `walked ${graph.size} modules`);
    const offenders = [...graph].flatMap(([file, specifiers]) =>
      specifiers.filter((s) => NODE_ONLY.test(s)).map((s) => `${file} imports ${s}`),
    );
    assert.deepEqual(offenders, []);
  });
});
