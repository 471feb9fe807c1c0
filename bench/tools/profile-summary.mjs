// Summarises a V8 CPU profile (from `node --cpu-prof`): the functions with the most time of
// their own, and the most time including what they call, as shares of all samples.
//
//   node bench/tools/profile-summary.mjs PROFILE.cpuprofile [rows]
//
// With the tsx loader a process writes one profile per thread; the largest is the main one.
import { readFileSync } from 'node:fs';

const [file, rowsArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node bench/tools/profile-summary.mjs PROFILE.cpuprofile [rows]');
  process.exit(2);
}
const rows = Number(rowsArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

const timeOf = new Map();
profile.samples.forEach((id, i) => {
  timeOf.set(id, (timeOf.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...timeOf.values()].reduce((a, b) => a + b, 0);

const nameOf = (node) => {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
};
const own = new Map();
const inclusive = new Map();
for (const [id, time] of timeOf) {
  const name = nameOf(nodes.get(id));
  own.set(name, (own.get(name) ?? 0) + time);
  // Each function counts once per sample, however deep its recursion.
  const counted = new Set();
  for (let at = id; at !== undefined; at = parentOf.get(at)) {
    const caller = nameOf(nodes.get(at));
    if (counted.has(caller)) continue;
    counted.add(caller);
    inclusive.set(caller, (inclusive.get(caller) ?? 0) + time);
  }
}
const print = (title, times) => {
  console.log(title);
  for (const [name, time] of [...times].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    console.log(`${((100 * time) / total).toFixed(1).padStart(6)}%  ${name}`);
  }
};
print('self time', own);
print('\ninclusive time', inclusive);
