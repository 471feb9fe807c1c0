import assert from 'node:assert/strict';
import type { AddressInfo, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import { describe, it } from 'node:test';
import type { CorkableStream } from '../../src/core/write-batching.js';
import { holdWritesForTurn } from '../../src/core/write-batching.js';

/** Resolves after the turn's `process.nextTick` callbacks queued so far have run. */
function afterThisTurn(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}

function countingStream(): CorkableStream & { corks: number; uncorks: number } {
  return {
    corks: 0,
    uncorks: 0,
    cork() {
      this.corks++;
    },
    uncork() {
      this.uncorks++;
    },
  };
}

describe('holdWritesForTurn', () => {
  it('corks a stream once per turn however often it is called, and uncorks it when the turn ends', async () => {
    const a = countingStream();
    const b = countingStream();
    holdWritesForTurn(a);
    holdWritesForTurn(a);
    holdWritesForTurn(b);
    assert.deepEqual([a.corks, a.uncorks, b.corks, b.uncorks], [1, 0, 1, 0]);
    await afterThisTurn();
    assert.deepEqual([a.corks, a.uncorks, b.corks, b.uncorks], [1, 1, 1, 1]);
    // The next turn holds the stream again.
    holdWritesForTurn(a);
    assert.equal(a.corks, 2);
    await afterThisTurn();
    assert.equal(a.uncorks, 2);
  });

  it('is a no-op without a stream (a browser WebSocket exposes none)', async () => {
    assert.doesNotThrow(() => holdWritesForTurn(undefined));
    await afterThisTurn();
  });

  it('holds a real socket’s writes within the turn and sends them all after it', async () => {
    const received: Buffer[] = [];
    let serverSide: Socket | undefined;
    const gotAll = new Promise<void>((resolve) => {
      const server = createServer((socket) => {
        serverSide = socket;
        socket.on('data', (chunk) => {
          received.push(chunk);
          if (Buffer.concat(received).length === 100) {
            server.close();
            resolve();
          }
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        const client = connect(port, '127.0.0.1', () => {
          holdWritesForTurn(client);
          for (let i = 0; i < 10; i++) client.write(Buffer.alloc(10, i));
          // Nothing has left yet: all ten writes wait in the stream, corked.
          assert.equal(client.writableCorked, 1);
          assert.equal(client.writableLength, 100);
          process.nextTick(() => {
            assert.equal(client.writableCorked, 0);
            client.end();
          });
        });
      });
    });
    const timeout = setTimeout(() => assert.fail('the held writes never arrived'), 5000);
    try {
      await gotAll;
    } finally {
      clearTimeout(timeout);
      serverSide?.destroy();
    }
    const bytes = Buffer.concat(received);
    for (let i = 0; i < 10; i++) assert.deepEqual(bytes.subarray(i * 10, i * 10 + 10), Buffer.alloc(10, i));
  });
});
