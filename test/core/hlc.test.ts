import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isSbmpError } from '../../src/core/errors.js';
import {
  DEFAULT_MAX_DRIFT_MS,
  decodeHlc,
  encodeHlc,
  HLC_LOGICAL_BITS,
  HLC_MAX_PHYSICAL_MS,
  HybridLogicalClock,
} from '../../src/core/hlc.js';
import { isValidVersion, MAX_VERSION } from '../../src/core/version.js';

const T0 = Date.UTC(2030, 0, 1);

/** A wall clock the test moves by hand. */
function manualClock(start = T0) {
  let time = start;
  return {
    now: () => time,
    set: (t: number) => {
      time = t;
    },
  };
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => isSbmpError(err) && err.code === code);
}

describe('HLC layout', () => {
  it('keeps 10 logical bits and reaches the year 2248 within 2^53-1', () => {
    assert.equal(HLC_LOGICAL_BITS, 10);
    assert.equal(HLC_MAX_PHYSICAL_MS, 2 ** 43 - 1);
    assert.equal(new Date(HLC_MAX_PHYSICAL_MS).getUTCFullYear(), 2248);
    assert.equal(encodeHlc(HLC_MAX_PHYSICAL_MS, 1023), MAX_VERSION);
    assert.ok(isValidVersion(encodeHlc(Date.now(), 1023)));
  });

  it('encodes and decodes as inverses, and orders like (physical, logical)', () => {
    const parts = fc.record({
      physical: fc.integer({ min: 1, max: HLC_MAX_PHYSICAL_MS }),
      logical: fc.integer({ min: 0, max: 1023 }),
    });
    fc.assert(
      fc.property(parts, parts, (a, b) => {
        const va = encodeHlc(a.physical, a.logical);
        assert.deepEqual(decodeHlc(va), { physical: a.physical, logical: a.logical });
        const vb = encodeHlc(b.physical, b.logical);
        const byParts = a.physical - b.physical || a.logical - b.logical;
        assert.equal(Math.sign(va - vb), Math.sign(byParts));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses out-of-range parts and versions with bad_version', () => {
    throwsCode(() => encodeHlc(HLC_MAX_PHYSICAL_MS + 1), 'bad_version');
    throwsCode(() => encodeHlc(-1), 'bad_version');
    throwsCode(() => encodeHlc(5, 1024), 'bad_version');
    throwsCode(() => encodeHlc(0, 0), 'bad_version');
    throwsCode(() => decodeHlc(0), 'bad_version');
    throwsCode(() => decodeHlc(2 ** 53), 'bad_version');
  });
});

describe('HybridLogicalClock.now', () => {
  it('follows the wall clock and counts events within one millisecond', () => {
    const wall = manualClock();
    const clock = new HybridLogicalClock({ now: wall.now });
    assert.deepEqual(decodeHlc(clock.now()), { physical: T0, logical: 0 });
    assert.deepEqual(decodeHlc(clock.now()), { physical: T0, logical: 1 });
    wall.set(T0 + 5);
    assert.deepEqual(decodeHlc(clock.now()), { physical: T0 + 5, logical: 0 });
    assert.equal(clock.last, encodeHlc(T0 + 5));
  });

  it('rolls a full logical counter into the next millisecond', () => {
    const clock = new HybridLogicalClock({ now: () => T0 });
    let v = 0;
    for (let i = 0; i < 1024; i++) v = clock.now();
    assert.deepEqual(decodeHlc(v), { physical: T0, logical: 1023 });
    assert.deepEqual(decodeHlc(clock.now()), { physical: T0 + 1, logical: 0 });
  });

  it('property: strictly increasing and never behind the wall clock, even when it goes backwards', () => {
    const jumps = fc.array(fc.integer({ min: -5_000, max: 5_000 }), { minLength: 1, maxLength: 200 });
    fc.assert(
      fc.property(jumps, (steps) => {
        const wall = manualClock();
        const clock = new HybridLogicalClock({ now: wall.now });
        let t = T0;
        let previous = 0;
        for (const step of steps) {
          t += step;
          wall.set(t + 0.75); // fractions of a ms are dropped
          const v = clock.now();
          assert.ok(v > previous, 'strictly increasing');
          assert.ok(v <= MAX_VERSION);
          assert.ok(decodeHlc(v).physical >= t, 'never behind the wall clock');
          previous = v;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('starts after a persisted version even when the wall clock went back', () => {
    const persisted = encodeHlc(T0 + 60_000, 7);
    const clock = new HybridLogicalClock({ now: () => T0, after: persisted });
    assert.equal(clock.now(), persisted + 1);
    throwsCode(() => new HybridLogicalClock({ after: 0 }), 'bad_version');
  });

  it('yields version 1 from a clock at the epoch, and refuses to pass 2^53-1', () => {
    assert.equal(new HybridLogicalClock({ now: () => 0 }).now(), 1);
    const clock = new HybridLogicalClock({ now: () => 0, after: MAX_VERSION - 1 });
    assert.equal(clock.now(), MAX_VERSION);
    throwsCode(() => clock.now(), 'bad_version');
    assert.equal(clock.last, MAX_VERSION);
    throwsCode(() => new HybridLogicalClock({ now: () => HLC_MAX_PHYSICAL_MS + 1 }).now(), 'bad_version');
  });

  it('refuses bad options and a broken wall clock with bad_config', () => {
    for (const maxDriftMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      throwsCode(() => new HybridLogicalClock({ maxDriftMs }), 'bad_config');
    }
    for (const reading of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      throwsCode(() => new HybridLogicalClock({ now: () => reading }).now(), 'bad_config');
    }
  });

  it('uses Date.now by default', () => {
    const before = Date.now();
    const { physical } = decodeHlc(new HybridLogicalClock().now());
    assert.ok(physical >= before && physical <= Date.now());
  });
});

describe('HybridLogicalClock.update', () => {
  it('moves past a remote version ahead of it, and later versions stay past it', () => {
    const clock = new HybridLogicalClock({ now: () => T0 });
    const remote = encodeHlc(T0 + 1_000, 3);
    const v = clock.update(remote);
    assert.deepEqual(decodeHlc(v), { physical: T0 + 1_000, logical: 4 });
    assert.ok(clock.now() > v);
  });

  it('ignores a remote version behind it, apart from ticking', () => {
    const wall = manualClock();
    const clock = new HybridLogicalClock({ now: wall.now });
    const mine = clock.now();
    assert.equal(clock.update(encodeHlc(T0 - 10_000)), mine + 1);
    wall.set(T0 + 2);
    assert.equal(clock.update(encodeHlc(T0 + 1, 9)), encodeHlc(T0 + 2), 'the wall clock is ahead of both');
  });

  it(`refuses a remote clock more than maxDriftMs (default ${DEFAULT_MAX_DRIFT_MS}) ahead, unchanged`, () => {
    const clock = new HybridLogicalClock({ now: () => T0 });
    const start = clock.now();
    assert.ok(
      clock.update(encodeHlc(T0 + DEFAULT_MAX_DRIFT_MS, 1023)) > start,
      'exactly at the limit is fine',
    );
    const held = clock.last;
    assert.throws(
      () => clock.update(encodeHlc(T0 + DEFAULT_MAX_DRIFT_MS + 1)),
      (err: unknown) => isSbmpError(err, 'bad_version') && err.details?.maxDriftMs === DEFAULT_MAX_DRIFT_MS,
    );
    assert.equal(clock.last, held, 'a refused update changes nothing');
    const strict = new HybridLogicalClock({ now: () => T0, maxDriftMs: 10 });
    throwsCode(() => strict.update(encodeHlc(T0 + 11)), 'bad_version');
    assert.ok(strict.update(encodeHlc(T0 + 10)) > 0);
  });

  it('refuses a remote value that is not a version with bad_version', () => {
    const clock = new HybridLogicalClock({ now: () => T0 });
    for (const remote of [0, -1, 1.5, Number.NaN, 2 ** 53])
      throwsCode(() => clock.update(remote), 'bad_version');
  });

  it('property: two clocks exchanging versions keep causality and each stays monotonic', () => {
    const event = fc.record({
      who: fc.constantFrom(0, 1),
      kind: fc.constantFrom('local', 'send'),
      advance: fc.integer({ min: -50, max: 50 }),
    });
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 100 }),
        fc.integer({ min: -1_000, max: 1_000 }),
        (events, skew) => {
          const walls = [manualClock(T0), manualClock(T0 + skew)];
          const clocks = walls.map((w) => new HybridLogicalClock({ now: w.now }));
          const last = [0, 0];
          for (const e of events) {
            const wall = walls[e.who]!;
            wall.set(wall.now() + e.advance);
            const sent = clocks[e.who]!.now();
            assert.ok(sent > last[e.who]!);
            last[e.who] = sent;
            if (e.kind === 'send') {
              const other = 1 - e.who;
              const received = clocks[other]!.update(sent);
              assert.ok(received > sent, 'a receive is ordered after its send');
              assert.ok(received > last[other]!);
              last[other] = received;
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
