import type { Figure } from '../lib/measure.js';
import type { Row } from '../lib/report.js';
import type { SubjectResult } from './subjects.js';

/** One subject's figure for a metric, or why it has none. */
export type Measured =
  | { readonly label: string; readonly figure: Figure; readonly sbmp: boolean }
  | { readonly label: string; readonly missing: string; readonly sbmp: boolean };

export interface MetricSpec {
  readonly scenario: string;
  readonly metric: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  /** A goal for SBMP's row(s): the sentence and the test of its figure against the peers'. */
  readonly goal?: (
    sbmp: Figure,
    peers: ReadonlyMap<string, Figure>,
  ) => { text: string; met: boolean } | undefined;
  /** False for figures that are not a contest (e.g. how much was conflated): no baselines. */
  readonly compare?: boolean;
}

/**
 * The rows of one metric: every peer once, and SBMP once per measured peer with that peer as
 * its baseline, so the table shows SBMP's ratio to each (> 1: SBMP better). A subject that
 * could not be measured gets a `skipped` row with the reason.
 */
export function comparedRows(spec: MetricSpec, measured: readonly Measured[]): Row[] {
  const base = { scenario: spec.scenario, metric: spec.metric, unit: spec.unit, better: spec.better };
  const peers = new Map<string, Figure>();
  for (const m of measured) if (!m.sbmp && 'figure' in m) peers.set(m.label, m.figure);
  const rows: Row[] = [];
  for (const m of measured) {
    if ('missing' in m) {
      rows.push({ ...base, subject: m.label, figure: NO_FIGURE, skipped: m.missing });
      continue;
    }
    if (!m.sbmp) {
      rows.push({ ...base, subject: m.label, figure: m.figure });
      continue;
    }
    const goal = spec.goal?.(m.figure, peers);
    const withGoal = goal === undefined ? {} : { goal };
    if (peers.size === 0 || spec.compare === false)
      rows.push({ ...base, subject: m.label, figure: m.figure, ...withGoal });
    if (spec.compare === false) continue;
    for (const peer of peers.keys()) {
      rows.push({ ...base, subject: m.label, figure: m.figure, baseline: peer, ...withGoal });
    }
  }
  return rows;
}

/** A goal relative to named peers: met only when every peer it names was measured. */
export function peerGoal(
  text: string,
  test: (sbmp: number, peer: (label: string) => number) => boolean,
): NonNullable<MetricSpec['goal']> {
  return (sbmp, peers) => {
    let complete = true;
    const peer = (label: string): number => {
      const figure = peers.get(label);
      if (figure === undefined) complete = false;
      return figure?.median ?? Number.NaN;
    };
    const met = test(sbmp.median, peer);
    return { text, met: complete && met };
  };
}

export const NO_FIGURE: Figure = Object.freeze({ median: 0, min: 0, max: 0, runs: 0 });

/**
 * One metric's `Measured` list from per-subject results: `pick` returns the figure, `missing`
 * with the reason it could not be measured, or undefined for a figure the subject does not
 * have at all (left out rather than skipped).
 */
export function measuredOf<F>(
  results: readonly SubjectResult<F>[],
  pick: (figures: F) => Figure | { readonly missing: string } | undefined,
): Measured[] {
  return results.flatMap((r): Measured[] => {
    if (r.figures === undefined)
      return [{ label: r.label, sbmp: r.sbmp, missing: r.missing ?? 'not measured' }];
    const picked = pick(r.figures);
    if (picked === undefined) return [];
    return 'missing' in picked
      ? [{ label: r.label, sbmp: r.sbmp, missing: picked.missing }]
      : [{ label: r.label, sbmp: r.sbmp, figure: picked }];
  });
}
