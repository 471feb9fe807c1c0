import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SbmpError } from '../../core/errors.js';

/** Largest response body a probe reads: 4 MiB (`/debug/vars` of a busy server stays far below). */
export const MAX_PROBE_BODY_BYTES = 4 * 1024 * 1024;

export interface ProbeResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** Wall-clock ms when the request was sent and when the response headers arrived. */
  readonly sentAt: number;
  readonly receivedAt: number;
}

/**
 * One GET without keep-alive, bounded in time (`timeoutMs` for the whole exchange) and size.
 * Rejects with the socket error (its `code`, e.g. ECONNREFUSED, is kept) or `timeout`.
 */
export function probeGet(url: string, timeoutMs: number): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    const sentAt = Date.now();
    const req = open(url, (res) => {
      const receivedAt = Date.now();
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_PROBE_BODY_BYTES) {
          req.destroy(
            new SbmpError('too_large', `${url} answered with more than ${MAX_PROBE_BODY_BYTES} bytes`),
          );
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          sentAt,
          receivedAt,
        });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(
      () => req.destroy(new SbmpError('timeout', `no answer from ${url} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    function fail(error: Error): void {
      clearTimeout(timer);
      reject(error);
    }
    req.on('error', fail);
    req.end();
  });
}

/**
 * The data of the first server-sent event named `event` at `url`, read within `timeoutMs`;
 * the stream is closed right after. Rejects on a non-200 answer, a closed stream, or `timeout`.
 */
export function probeFirstEvent(url: string, event: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, data?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      if (error === undefined) resolve(data ?? '');
      else reject(error);
    };
    const req = open(url, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        finish(new SbmpError('unavailable', `${url} answered HTTP ${res.statusCode}`));
        return;
      }
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        if (buffered.length > MAX_PROBE_BODY_BYTES) {
          finish(new SbmpError('too_large', `${url} sent no complete '${event}' event`));
          return;
        }
        // Events are separated by a blank line; `event:` names one, `data:` lines carry it.
        let end = buffered.indexOf('\n\n');
        while (end >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const lines = block.split('\n');
          if (lines.includes(`event: ${event}`)) {
            const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart());
            finish(undefined, data.join('\n'));
            return;
          }
          end = buffered.indexOf('\n\n');
        }
      });
      res.on('end', () => finish(new SbmpError('unavailable', `${url} ended without a '${event}' event`)));
      res.on('error', (error) => finish(error));
    });
    const timer = setTimeout(
      () => finish(new SbmpError('timeout', `no '${event}' event from ${url} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('error', (error) => finish(error));
    req.end();
  });
}

function open(url: string, onResponse: (res: IncomingMessage) => void) {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return request(target, { method: 'GET', agent: false, headers: { Accept: '*/*' } }, onResponse);
}
