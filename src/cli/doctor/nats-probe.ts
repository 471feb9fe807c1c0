import { connect } from 'node:net';
import { SbmpError } from '../../core/errors.js';

/** Longest INFO line read from a NATS server: 64 KiB (a real one is well under 2 KiB). */
const MAX_INFO_BYTES = 64 * 1024;
const DEFAULT_NATS_PORT = 4222;

/** What a NATS server says about itself in the INFO line it sends first. */
export interface NatsInfo {
  readonly version?: string;
  readonly jetstream?: boolean;
  readonly tlsRequired?: boolean;
}

/** Host and port of a NATS URL (`nats://host:port`, `tls://...`, or `host:port`); port 4222 by default. */
export function natsAddress(url: string): { host: string; port: number } {
  const text = /^[a-z]+:\/\//i.test(url) ? url : `nats://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new SbmpError('bad_config', `'${url}' is not a NATS URL such as nats://127.0.0.1:4222`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new SbmpError('bad_config', `'${url}' names no host`);
  return { host, port: parsed.port === '' ? DEFAULT_NATS_PORT : Number(parsed.port) };
}

/**
 * Opens a TCP connection to the NATS server at `url`, reads its INFO line and closes the
 * connection, all within `timeoutMs`. This answers "is anything there, and is it NATS?" with
 * the socket under our control: a client library may keep a half-open connection alive after
 * its own connect timeout. Rejects with the socket error (ECONNREFUSED, ...) or `timeout`,
 * or `unavailable` when the peer does not speak NATS.
 */
export function probeNatsInfo(url: string, timeoutMs: number): Promise<NatsInfo> {
  const { host, port } = natsAddress(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let received = '';
    let settled = false;
    const finish = (error: Error | undefined, info?: NatsInfo) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error === undefined) resolve(info ?? {});
      else reject(error);
    };
    const timer = setTimeout(
      () =>
        finish(
          new SbmpError(
            'timeout',
            `nothing at ${host}:${port} introduced itself as NATS within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\r\n');
      if (end < 0) {
        if (received.length > MAX_INFO_BYTES) finish(notNats(host, port));
        return;
      }
      const line = received.slice(0, end);
      if (!line.startsWith('INFO ')) {
        finish(notNats(host, port));
        return;
      }
      try {
        const info = JSON.parse(line.slice('INFO '.length)) as Record<string, unknown>;
        finish(undefined, {
          ...(typeof info.version === 'string' ? { version: info.version } : {}),
          ...(typeof info.jetstream === 'boolean' ? { jetstream: info.jetstream } : {}),
          ...(typeof info.tls_required === 'boolean' ? { tlsRequired: info.tls_required } : {}),
        });
      } catch {
        finish(notNats(host, port));
      }
    });
    socket.on('end', () =>
      finish(new SbmpError('unavailable', `${host}:${port} closed the connection without a NATS INFO`)),
    );
    socket.on('error', (error) => finish(error));
  });
}

function notNats(host: string, port: number): SbmpError {
  return new SbmpError('unavailable', `${host}:${port} answers, but not as a NATS server (no INFO line)`);
}
