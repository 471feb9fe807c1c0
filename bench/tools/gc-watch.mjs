// Loaded with `--import`, records what stalls a process: every GC pause (PerformanceObserver
// 'gc' entries) and every gap of more than 4 ms in a 1 ms timer (the event loop held up). It
// writes `gc-watch-<pid>.json` into $GC_WATCH_DIR (default: the system temp directory) every
// 2 s, so the last write survives the process being stopped.
//
//   BENCH_CHILD_ARGS="--import $PWD/bench/tools/gc-watch.mjs" npm run bench -- latency
//   node bench/tools/gc-watch.mjs --summary FILE...
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};
const GAP_MS = 4;

if (process.argv[2] === '--summary') {
  for (const file of process.argv.slice(3)) summarise(file);
} else {
  record();
}

function record() {
  const pauses = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      pauses.push([KINDS[entry.detail?.kind] ?? 'other', Math.round(entry.startTime), entry.duration]);
    }
  }).observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const gaps = [];
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > GAP_MS) gaps.push([Math.round(last), now - last - 1]);
    last = now;
  }, 1).unref();
  const out = join(process.env.GC_WATCH_DIR ?? tmpdir(), `gc-watch-${process.pid}.json`);
  setInterval(() => {
    const loopDelayMs = {
      p50: delay.percentile(50) / 1e6,
      p99: delay.percentile(99) / 1e6,
      max: delay.max / 1e6,
    };
    writeFileSync(out, JSON.stringify({ argv: process.argv.slice(1), pauses, gaps, loopDelayMs }));
  }, 2000).unref();
}

function summarise(file) {
  const { argv, pauses, gaps, loopDelayMs } = JSON.parse(readFileSync(file, 'utf8'));
  console.log(`${file}: ${argv.join(' ').slice(0, 100)}`);
  const byKind = new Map();
  for (const [kind, , ms] of pauses) byKind.set(kind, [...(byKind.get(kind) ?? []), ms]);
  for (const [kind, times] of byKind) {
    times.sort((a, b) => a - b);
    const sum = times.reduce((a, b) => a + b, 0);
    console.log(
      `  ${kind}: ${times.length} pauses, median ${times[times.length >> 1].toFixed(1)} ms, ` +
        `max ${times.at(-1).toFixed(1)} ms, ${sum.toFixed(0)} ms in all`,
    );
  }
  const held = gaps.map(([, ms]) => ms).sort((a, b) => a - b);
  if (held.length > 0) {
    console.log(
      `  event loop held > ${GAP_MS} ms: ${held.length} times, median ${held[held.length >> 1].toFixed(1)} ms, max ${held.at(-1).toFixed(1)} ms`,
    );
  }
  console.log(`  loop delay p50 ${loopDelayMs.p50.toFixed(1)} ms, p99 ${loopDelayMs.p99.toFixed(1)} ms`);
}
