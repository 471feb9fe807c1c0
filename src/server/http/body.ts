import type { IncomingMessage } from 'node:http';
import { SbmpError } from '../../core/errors.js';
import type { BufferPool } from '../../pool/buffer-pool.js';

function tooLarge(size: number, limit: number, declared: boolean): SbmpError {
  return new SbmpError(
    'too_large',
    `request body ${declared ? 'declares' : 'has at least'} ${size} bytes, more than the ${limit}-byte state limit`,
    { details: { size, limit } },
  );
}

/**
 * Reads a body (see `readChunks` for the limit) and parses it as JSON (`parseJsonBody`). The
 * chunks are joined in a buffer borrowed from `pool` for the parse only, and released before
 * this resolves: no view of it escapes, since `JSON.parse` builds new values.
 */
export async function readJsonBody(
  req: IncomingMessage,
  maxBytes: number,
  pool: BufferPool,
): Promise<unknown> {
  const { chunks, size } = await readChunks(req, maxBytes);
  if (size === 0) return parseJsonBody(Buffer.alloc(0));
  const body = pool.acquire(size);
  try {
    let offset = 0;
    for (const chunk of chunks) offset += chunk.copy(body, offset);
    return parseJsonBody(body);
  } finally {
    pool.release(body);
  }
}

/**
 * Reads the chunks of a request body of at most `maxBytes`. A `Content-Length` above the limit
 * is refused before anything is read; a chunked body is refused as soon as it passes the limit, and
 * reading stops there, so no more than `maxBytes` plus one chunk is ever held. The caller
 * answers with `Connection: close`, since the rest of the body is never read.
 */
function readChunks(req: IncomingMessage, maxBytes: number): Promise<{ chunks: Buffer[]; size: number }> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const size = Number(declared);
    if (Number.isFinite(size) && size > maxBytes) return Promise.reject(tooLarge(size, maxBytes, true));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        reject(tooLarge(size, maxBytes, false));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve({ chunks, size });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new SbmpError('aborted', 'the request body was not received whole', { cause: err }));
    };
    const onClose = () => {
      cleanup();
      reject(new SbmpError('aborted', 'the client went away before the request body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a body as UTF-8 JSON; `bad_state` (400) naming the problem when it is not. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw new SbmpError('bad_state', 'the body is empty; send the state as JSON');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch (cause) {
    throw new SbmpError('bad_state', 'the body is not valid UTF-8', { cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new SbmpError('bad_state', `the body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Content types a PUT body is read as JSON under: none, `application/json`, `text/json`,
 * `application/*+json`, and the defaults of common clients that send JSON without saying so
 * (`text/plain` from fetch with a string body, `application/x-www-form-urlencoded` from
 * `curl -d`). Anything else declares another format and is refused with 415.
 */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined || header.trim() === '') return true;
  const mediaType = header.split(';', 1)[0]!.trim().toLowerCase();
  return (
    mediaType === 'application/json' ||
    mediaType === 'text/json' ||
    mediaType === 'text/plain' ||
    mediaType === 'application/x-www-form-urlencoded' ||
    (mediaType.startsWith('application/') && mediaType.endsWith('+json'))
  );
}
