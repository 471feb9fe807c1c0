// The public shapes, checked by `tsc` (npm run typecheck). At run time the checks are no-ops;
// the one test below only confirms the runtime names exist.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectTypeOf } from 'expect-type';
import type {
  ApplyOptions,
  ApplyOutcome,
  ApplyResult,
  CompactOutcome,
  ListenerErrorHandler,
  ListOptions,
  ListPage,
  OfferResult,
  PutOptions,
  PutOutcome,
  RetentionPolicy,
  SbmpErrorCode,
  Snapshot,
  SnapshotInput,
  Store,
  StoreCapabilities,
  StoredSnapshot,
  TraceContext,
  Watch,
  WatchEvent,
  WatchListener,
  WatchOptions,
} from '../../src/index.js';
import { ConflatingMailbox, decideApply, Replica, ReplicaMap, SbmpError } from '../../src/index.js';

interface Quote {
  bid: number;
  ask: number;
}

/** Compile-time checks only: never called. */
export function publicShapes(): void {
  expectTypeOf<ApplyResult>().toEqualTypeOf<'applied' | 'duplicate' | 'conflict' | 'stale'>();
  expectTypeOf<ApplyOptions>().toEqualTypeOf<{ ifVersion?: number }>();
  expectTypeOf(decideApply).parameters.toEqualTypeOf<
    [Snapshot | undefined, Snapshot, (ApplyOptions | undefined)?, ((a: Snapshot, b: Snapshot) => boolean)?]
  >();
  expectTypeOf(decideApply).returns.toEqualTypeOf<ApplyResult>();

  expectTypeOf<Snapshot<Quote>>().toEqualTypeOf<{
    readonly key: string;
    readonly version: number;
    readonly state: Quote;
    readonly ts: number;
    readonly source: string;
    readonly deleted?: boolean;
    readonly contentType?: string;
    readonly trace?: TraceContext;
  }>();
  expectTypeOf<StoredSnapshot<Quote>>().toExtend<Snapshot<Quote>>();
  expectTypeOf<StoredSnapshot<Quote>['revision']>().toEqualTypeOf<number>();
  expectTypeOf<Snapshot['state']>().toBeUnknown();

  expectTypeOf<SbmpErrorCode>().toEqualTypeOf<
    | 'stale'
    | 'conflict'
    | 'bad_key'
    | 'bad_pattern'
    | 'bad_version'
    | 'bad_state'
    | 'bad_request'
    | 'bad_frame'
    | 'bad_config'
    | 'too_large'
    | 'not_found'
    | 'method_not_allowed'
    | 'unsupported_media_type'
    | 'unauthorized'
    | 'forbidden'
    | 'limit_exceeded'
    | 'overloaded'
    | 'unavailable'
    | 'closed'
    | 'timeout'
    | 'aborted'
    | 'corrupt_store'
    | 'pool_unregistered'
    | 'pool_misuse'
    | 'internal'
  >();
  expectTypeOf<SbmpError>().toExtend<Error>();
  expectTypeOf<SbmpError['code']>().toEqualTypeOf<SbmpErrorCode>();
  expectTypeOf<SbmpError['status']>().toEqualTypeOf<number>();
  expectTypeOf<SbmpError['retryable']>().toEqualTypeOf<boolean>();
  expectTypeOf<SbmpError['details']>().toEqualTypeOf<Record<string, unknown> | undefined>();
  expectTypeOf(SbmpError).constructorParameters.toEqualTypeOf<
    [SbmpErrorCode, string, ({ cause?: unknown; details?: Record<string, unknown> } | undefined)?]
  >();

  // Replica: apply gives a value, never throws for stale/duplicate/conflict.
  const replica = new Replica<Quote>();
  expectTypeOf(replica.apply).parameters.toEqualTypeOf<[Snapshot<Quote>, (ApplyOptions | undefined)?]>();
  expectTypeOf(replica.apply).returns.toEqualTypeOf<ApplyOutcome>();
  expectTypeOf<ApplyOutcome>().toEqualTypeOf<{ readonly result: ApplyResult; readonly current: number }>();
  expectTypeOf(replica.get).returns.toEqualTypeOf<Snapshot<Quote> | undefined>();
  expectTypeOf(replica.version).toEqualTypeOf<number>();
  expectTypeOf(replica.subscribe).parameters.toEqualTypeOf<[(snapshot: Snapshot<Quote>) => void]>();
  expectTypeOf(replica.subscribe).returns.toEqualTypeOf<() => void>();
  expectTypeOf<ListenerErrorHandler>().toEqualTypeOf<(error: unknown, key: string) => void>();
  const held = replica.get()!;
  // @ts-expect-error a held snapshot is read-only
  held.version = 2;

  const map = new ReplicaMap<Quote>();
  expectTypeOf(map.apply).returns.toEqualTypeOf<ApplyOutcome>();
  expectTypeOf(map.applyResult).returns.toEqualTypeOf<ApplyResult>();
  expectTypeOf(map.get).parameters.toEqualTypeOf<[string]>();
  expectTypeOf(map.get).returns.toEqualTypeOf<Snapshot<Quote> | undefined>();
  expectTypeOf(map.has).returns.toEqualTypeOf<boolean>();
  expectTypeOf(map.size).toEqualTypeOf<number>();
  expectTypeOf(map.keys).returns.toExtend<Iterable<string>>();
  expectTypeOf(map.retainOnly).parameters.toEqualTypeOf<[Iterable<string>]>();
  expectTypeOf(map.retainOnly).returns.toEqualTypeOf<string[]>();
  expectTypeOf(map.subscribe).parameters.toEqualTypeOf<
    [(snapshot: Snapshot<Quote>) => void, ((key: string) => void)?]
  >();
  expectTypeOf(map).toExtend<Iterable<[string, Snapshot<Quote>]>>();

  const box = new ConflatingMailbox<Snapshot<Quote>>();
  expectTypeOf<OfferResult>().toEqualTypeOf<'queued' | 'conflated' | 'stale' | 'overflow'>();
  expectTypeOf(box.offer).parameters.toEqualTypeOf<[Snapshot<Quote>]>();
  expectTypeOf(box.offer).returns.toEqualTypeOf<OfferResult>();
  expectTypeOf(box.take).returns.toEqualTypeOf<Snapshot<Quote> | undefined>();
  expectTypeOf(box.drain).returns.toEqualTypeOf<Snapshot<Quote>[]>();
  expectTypeOf(box.size).toEqualTypeOf<number>();
  expectTypeOf(box.highWater).toEqualTypeOf<number>();
  // @ts-expect-error only snapshots go in a mailbox
  box.offer({ key: 'a' });

  // The Store contract.
  expectTypeOf<Store['kind']>().toEqualTypeOf<string>();
  expectTypeOf<Store['capabilities']>().toEqualTypeOf<StoreCapabilities>();
  expectTypeOf<StoreCapabilities>().toEqualTypeOf<{
    readonly durable: boolean;
    readonly syncedToDisk: boolean;
    readonly replicated: boolean;
  }>();
  expectTypeOf<Store['put']>().toEqualTypeOf<
    (snapshot: SnapshotInput, options?: PutOptions) => Promise<PutOutcome>
  >();
  expectTypeOf<PutOptions>().toEqualTypeOf<{ readonly ifVersion?: number }>();
  expectTypeOf<PutOutcome>().toEqualTypeOf<{
    readonly result: ApplyResult;
    readonly version: number;
    readonly revision: number;
  }>();
  expectTypeOf<SnapshotInput>().toHaveProperty('version').toEqualTypeOf<number | undefined>();
  expectTypeOf<Store['get']>().toEqualTypeOf<(key: string) => Promise<StoredSnapshot | undefined>>();
  expectTypeOf<Store['list']>().toEqualTypeOf<(prefix: string, options?: ListOptions) => Promise<ListPage>>();
  expectTypeOf<Store['watch']>().toEqualTypeOf<(pattern: string, options?: WatchOptions) => Watch>();
  expectTypeOf<Watch>().toExtend<AsyncIterable<WatchEvent>>();
  expectTypeOf<Watch['stop']>().toEqualTypeOf<() => void>();
  expectTypeOf<Watch['listen']>().toEqualTypeOf<(listener: WatchListener) => Promise<void>>();
  expectTypeOf<WatchListener['onSnapshot']>().toEqualTypeOf<(snapshot: StoredSnapshot) => void>();
  expectTypeOf<WatchEvent['kind']>().toEqualTypeOf<'resync' | 'snapshot' | 'synced'>();
  expectTypeOf<Store['compact']>().toEqualTypeOf<(retention?: RetentionPolicy) => Promise<CompactOutcome>>();
  expectTypeOf<Store['currentRevision']>().toEqualTypeOf<() => number>();
  expectTypeOf<Store['close']>().toEqualTypeOf<() => Promise<void>>();
}

describe('public API', () => {
  it('exports the runtime values whose types are checked above', () => {
    for (const value of [Replica, ReplicaMap, ConflatingMailbox, SbmpError, decideApply, publicShapes]) {
      assert.equal(typeof value, 'function');
    }
  });
});
