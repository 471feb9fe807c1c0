// The verdict of `sbmp check` on observations a broken deployment would produce: each guarantee
// it verifies fails on its own counter-example, naming it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckObservations, Held, SubscriberView } from '../../src/cli/check-verdict.js';
import { judge, mismatches } from '../../src/cli/check-verdict.js';

const KEYS = ['c/k0', 'c/k1', 'c/k2'];
const STORE = new Map<string, Held>([
  ['c/k0', { version: 4, id: '0.7' }],
  ['c/k1', { version: 9, id: '1.3' }],
]);

function subscriber(name: string, overrides: Partial<SubscriberView> = {}): SubscriberView {
  return {
    name,
    late: false,
    deliveries: 12,
    refused: { duplicate: 0, stale: 0, conflict: 0 },
    held: new Map(STORE),
    ...overrides,
  };
}

function healthy(): CheckObservations {
  return {
    keys: KEYS,
    publishes: { sent: 20, applied: 14, duplicate: 1, stale: 3, conflict: 2, failed: 0 },
    newestApplied: new Map<string, Held>([
      ['c/k0', { version: 4, id: '0.7' }],
      ['c/k1', { version: 8, id: '0.5' }],
    ]),
    store: STORE,
    phantoms: 0,
    subscribers: [subscriber('subscriber 1'), subscriber('late subscriber', { late: true })],
    convergedAfterMs: 3.2,
  };
}

function failed(observations: CheckObservations): { name: string; detail: string }[] {
  const verdict = judge(observations);
  assert.equal(verdict.passed, false);
  return verdict.results.filter((r) => !r.passed).map(({ name, detail }) => ({ name, detail }));
}

describe('sbmp check verdict', () => {
  it('passes when every guarantee holds, with the figures behind each', () => {
    const verdict = judge(healthy());
    assert.equal(verdict.passed, true);
    assert.deepEqual(
      verdict.results.map((r) => r.detail),
      [
        '2 of 3 keys hold their newest acknowledged version or a later one',
        'subscribers were sent 0 older and 0 conflicting versions (0 repeats, harmless)',
        '24 deliveries checked',
        '2 subscribers (1 joined after publishing) equal the store on 3 keys within 4 ms of reading it',
      ],
    );
  });

  it('fails a lost acknowledged update: the store below it, or at its version with other content', () => {
    const below = { ...healthy(), newestApplied: new Map([['c/k1', { version: 10, id: '0.9' }]]) };
    assert.deepEqual(failed(below), [
      {
        name: 'no acknowledged update lost',
        detail:
          '1 of 3 keys lost an acknowledged update; c/k1: version 10 (state 0.9) was acknowledged, the store holds version 9 (state 1.3)',
      },
    ]);
    const replaced = { ...healthy(), newestApplied: new Map([['c/k0', { version: 4, id: '1.1' }]]) };
    assert.equal(failed(replaced)[0]!.name, 'no acknowledged update lost');
    const vanished = { ...healthy(), newestApplied: new Map([['c/k2', { version: 1, id: '0.1' }]]) };
    assert.match(failed(vanished)[0]!.detail, /the store holds nothing$/);
  });

  it('fails an older or conflicting version delivered, but not a repeat', () => {
    const stale = {
      ...healthy(),
      subscribers: [subscriber('subscriber 1', { refused: { duplicate: 0, stale: 1, conflict: 0 } })],
    };
    assert.deepEqual(
      failed(stale).map((r) => r.name),
      ['no version regression'],
    );
    const conflict = {
      ...healthy(),
      subscribers: [subscriber('subscriber 1', { refused: { duplicate: 0, stale: 0, conflict: 2 } })],
    };
    assert.match(failed(conflict)[0]!.detail, /0 older and 2 conflicting/);
    const repeats = {
      ...healthy(),
      subscribers: [subscriber('subscriber 1', { refused: { duplicate: 5, stale: 0, conflict: 0 } })],
    };
    assert.equal(judge(repeats).passed, true);
  });

  it('fails a delivery that nobody published', () => {
    const phantom = { ...healthy(), phantoms: 1, phantomExample: 'c/k0 version 5 carried {"x":1}' };
    assert.deepEqual(failed(phantom), [
      {
        name: 'nothing delivered that was not published',
        detail: '1 of 24 deliveries were never published; c/k0 version 5 carried {"x":1}',
      },
    ]);
  });

  it('fails a subscriber that differs from the store, or lost its connection', () => {
    const behind = new Map(STORE);
    behind.set('c/k1', { version: 8, id: '0.5' });
    behind.set('c/k2', { version: 1, id: '0.1' });
    const diverged = {
      ...healthy(),
      subscribers: [subscriber('subscriber 1'), subscriber('subscriber 2', { held: behind })],
      convergedAfterMs: undefined,
    };
    assert.deepEqual(failed(diverged), [
      {
        name: 'convergence',
        detail:
          'subscriber 2 differs from the store on 2 of 3 keys; c/k1: store version 9 (state 1.3), subscriber version 8 (state 0.5)',
      },
    ]);
    const lost = {
      ...healthy(),
      subscribers: [subscriber('subscriber 1', { lost: 'connection closed' })],
      convergedAfterMs: undefined,
    };
    assert.deepEqual(failed(lost), [
      { name: 'convergence', detail: 'subscriber 1 lost its connection: connection closed' },
    ]);
  });

  it('counts mismatches on every key, the held and the missing', () => {
    assert.deepEqual(mismatches(KEYS, STORE, STORE), { count: 0 });
    assert.deepEqual(mismatches(KEYS, STORE, new Map()), {
      count: 2,
      example: 'c/k0: store version 4 (state 0.7), subscriber nothing',
    });
  });
});
