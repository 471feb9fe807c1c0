import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoreFactory } from './helpers.js';
import { collect, rejectsCode, snapshotsOf } from './helpers.js';

/** get and list: key order, prefixes, cursors, limits, tombstones. */
export function readContract(factory: StoreFactory): void {
  describe('get and list', () => {
    it('get returns undefined for an unknown key and refuses a bad key', async () => {
      const store = await factory.create();
      assert.equal(await store.get('nobody/home'), undefined);
      await rejectsCode(store.get('bad key'), 'bad_key');
      await rejectsCode(store.get(''), 'bad_key');
    });

    it('holds its own copy of a state: changing the object after put changes nothing stored or watched', async () => {
      const store = await factory.create();
      const watch = store.watch('own/>');
      const watched = collect(watch, (e) => e.kind === 'snapshot');
      const quote = { px: 100, legs: [1, 2] };
      const put = store.put({ key: 'own/q', state: quote });
      quote.px = 101;
      quote.legs.push(3);
      assert.equal((await put).result, 'applied');
      const [event] = snapshotsOf(await watched);
      watch.stop();
      assert.deepEqual(event?.state, { px: 100, legs: [1, 2] }, 'the watcher sees what was put');
      assert.deepEqual((await store.get('own/q'))?.state, { px: 100, legs: [1, 2] }, 'so does get');
    });

    it('lists a prefix in key order across pages, without gaps or repeats', async () => {
      const store = await factory.create();
      const keys: string[] = [];
      for (let i = 0; i < 25; i++) keys.push(`p/${String(i).padStart(3, '0')}`);
      const shuffled = [...keys].reverse();
      for (const key of shuffled) await store.put({ key, state: key });
      await store.put({ key: 'pa', state: 'outside' });
      await store.put({ key: 'o/1', state: 'outside' });
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.list('p/', { limit: 10, cursor });
        assert.ok(page.items.length <= 10);
        seen.push(...page.items.map((s) => s.key));
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined && pages < 10);
      assert.deepEqual(seen, keys);
      assert.equal(pages, 3);
      const exact = await store.list('p/', { limit: 25 });
      assert.equal(exact.items.length, 25);
      assert.equal(exact.cursor, undefined, 'no cursor when nothing follows');
      const all = await store.list('');
      assert.equal(all.items.length, 27);
      assert.deepEqual(
        all.items.map((s) => s.key),
        [...all.items.map((s) => s.key)].sort(),
      );
    });

    it('skips tombstones unless asked, still filling pages', async () => {
      const store = await factory.create();
      for (let i = 0; i < 6; i++) await store.put({ key: `d/${i}`, version: 1, state: i });
      for (const i of [0, 1, 3]) await store.put({ key: `d/${i}`, version: 2, state: null, deleted: true });
      const live = await store.list('d/', { limit: 2 });
      assert.deepEqual(
        live.items.map((s) => s.key),
        ['d/2', 'd/4'],
      );
      const rest = await store.list('d/', { limit: 2, cursor: live.cursor });
      assert.deepEqual(
        rest.items.map((s) => s.key),
        ['d/5'],
      );
      assert.equal(rest.cursor, undefined);
      const withDeleted = await store.list('d/', { includeDeleted: true });
      assert.equal(withDeleted.items.length, 6);
      assert.equal(withDeleted.items.filter((s) => s.deleted).length, 3);
    });

    it('defaults to 100 items a page', async () => {
      const store = await factory.create();
      await Promise.all(Array.from({ length: 120 }, (_, i) => store.put({ key: `many/${i}`, state: i })));
      const page = await store.list('many/');
      assert.equal(page.items.length, 100);
      assert.ok(page.cursor !== undefined);
      assert.equal((await store.list('many/', { cursor: page.cursor })).items.length, 20);
    });

    it('refuses bad limits, prefixes and cursors', async () => {
      const store = await factory.create();
      await store.put({ key: 'a/1', state: 1 });
      await store.put({ key: 'a/2', state: 1 });
      for (const limit of [0, -1, 1001, 1.5, Number.NaN, '10' as unknown as number]) {
        await rejectsCode(store.list('a/', { limit }), 'bad_request', `limit ${String(limit)}`);
      }
      assert.equal((await store.list('a/', { limit: 1000 })).items.length, 2);
      for (const prefix of ['a b', 'x'.repeat(257), 42 as unknown as string, '*']) {
        await rejectsCode(store.list(prefix), 'bad_key', `prefix ${String(prefix)}`);
      }
      const page = await store.list('a/', { limit: 1 });
      assert.ok(page.cursor !== undefined);
      await rejectsCode(store.list('b/', { cursor: page.cursor }), 'bad_request', 'cursor of another prefix');
      for (const cursor of ['!!!', '', 'zz==', 42 as unknown as string]) {
        await rejectsCode(store.list('a/', { cursor }), 'bad_request', `cursor ${String(cursor)}`);
      }
    });
  });
}
