/**
 * `npm run bench` runs every scenario; `npm run bench -- NAME...` runs the named ones.
 * Results go to bench/results/latest.{md,json} and the table is printed.
 */
import { fileURLToPath } from 'node:url';
import { newResults, renderTable, writeResults } from './lib/report.js';
import { scenarios } from './scenarios.js';

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !scenarios.some((s) => s.name === w));
if (unknown.length > 0) {
  console.error(
    `unknown scenario(s): ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`,
  );
  process.exit(2);
}
const selected = wanted.length === 0 ? scenarios : scenarios.filter((s) => wanted.includes(s.name));
const results = newResults();
for (const scenario of selected) {
  console.error(`bench: ${scenario.name} — ${scenario.description}`);
  results.rows.push(...(await scenario.run()));
}
const dir = fileURLToPath(new URL('./results', import.meta.url));
writeResults(results, dir);
console.log(renderTable(results));
console.log(`\nwritten to ${dir}/latest.md and latest.json`);
