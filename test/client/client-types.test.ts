// The public shapes of the SDK, checked by the type checker (`npm run typecheck`).
import { it } from 'node:test';
import { expectTypeOf } from 'expect-type';
import { type Ack, throwIfRefused } from '../../src/client/ack.js';
import { type ClientStatus, SbmpClient } from '../../src/client/client.js';
import type { DeliveredSnapshot } from '../../src/client/delivery.js';
import type { ClientOptions } from '../../src/client/options.js';
import type { PublishOptions } from '../../src/client/publish-request.js';
import type { Subscription } from '../../src/client/subscription.js';
import type { ApplyResult } from '../../src/core/apply.js';
import type { ReplicaMap } from '../../src/core/replica.js';

it('has the documented API shapes', () => {
  expectTypeOf(SbmpClient.connect).parameter(0).toEqualTypeOf<ClientOptions>();
  expectTypeOf(SbmpClient.connect).returns.toEqualTypeOf<Promise<SbmpClient>>();
  expectTypeOf<ClientOptions['encoding']>().toEqualTypeOf<'msgpack' | 'json' | undefined>();
  expectTypeOf<SbmpClient['publish']>().parameters.toEqualTypeOf<[string, unknown, PublishOptions?]>();
  expectTypeOf<SbmpClient['publish']>().returns.toEqualTypeOf<Promise<Ack>>();
  expectTypeOf<Ack['result']>().toEqualTypeOf<ApplyResult>();
  expectTypeOf(throwIfRefused).returns.toEqualTypeOf<Ack>();
  expectTypeOf<SbmpClient['status']>().toEqualTypeOf<ClientStatus>();
  expectTypeOf<ReturnType<SbmpClient['get']>>().toMatchTypeOf<Promise<{ version: number } | undefined>>();

  type Order = { status: string };
  const subscribe = (client: SbmpClient) =>
    client.subscribe<Order>('orders/>', (s) => expectTypeOf(s.state).toEqualTypeOf<Order>());
  expectTypeOf(subscribe).returns.toEqualTypeOf<Subscription<Order>>();
  expectTypeOf<Subscription<Order>['replicas']>().toEqualTypeOf<ReplicaMap<Order>>();
  expectTypeOf<Subscription<Order>['synced']>().toEqualTypeOf<Promise<number>>();
  expectTypeOf<Subscription<Order>>().toMatchTypeOf<AsyncIterable<DeliveredSnapshot<Order>>>();
});
