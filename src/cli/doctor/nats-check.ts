import { parseStoreSpec } from '../../store/open.js';
import {
  type CheckGroup,
  type CheckResult,
  type DoctorContext,
  fail,
  messageOf,
  pass,
  skip,
} from './check.js';
import { probeNatsInfo } from './nats-probe.js';

/** Time to read the server's INFO, to connect, and to get JetStream's account info: 2 s each. */
export const NATS_TIMEOUT_MS = 2000;

/**
 * Is NATS reachable, with JetStream enabled for this account? Checked for `--nats URL`, or the
 * server of a `nats://` store; skipped when neither is configured.
 */
export const natsChecks: CheckGroup = {
  name: 'nats',
  timeoutMs: 4 * NATS_TIMEOUT_MS + 1000,
  async run(ctx) {
    const url = natsUrlOf(ctx);
    if (url === undefined) {
      return [skip('nats', 'no NATS configured (pass --nats URL, or use a nats:// store)')];
    }
    return [await checkNats(url)];
  },
};

function natsUrlOf(ctx: DoctorContext): string | undefined {
  if (ctx.input.nats !== undefined) return ctx.input.nats;
  if (ctx.settings === undefined) return undefined;
  try {
    const spec = parseStoreSpec(ctx.settings.store);
    return spec.kind === 'nats' ? spec.url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the server's INFO over a plain socket first (is anything there, and is it NATS?), then
 * connects with the NATS client (one attempt, no reconnects), asks JetStream for the account's
 * figures, and disconnects.
 */
export async function checkNats(url: string): Promise<CheckResult> {
  const unreachableFix =
    'start nats-server (with -js for JetStream) there, or pass the right --nats URL or nats:// store';
  try {
    await probeNatsInfo(url, NATS_TIMEOUT_MS);
  } catch (error) {
    return fail('nats', `cannot connect to NATS at ${url}: ${messageOf(error)}`, unreachableFix);
  }
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  let connection: Awaited<ReturnType<typeof connect>>;
  try {
    connection = await connect({
      servers: url,
      timeout: NATS_TIMEOUT_MS,
      reconnect: false,
      maxReconnectAttempts: 0,
    });
  } catch (error) {
    return fail(
      'nats',
      `NATS at ${url} answers, but the client cannot connect: ${messageOf(error)}`,
      unreachableFix,
    );
  }
  try {
    const server = connection.info;
    const jsm = await jetstreamManager(connection, { timeout: NATS_TIMEOUT_MS });
    const account = await jsm.getAccountInfo();
    const version = server?.version === undefined ? '' : ` (nats-server ${server.version})`;
    return pass(
      'nats',
      `${url}${version} reachable; JetStream enabled: ${account.streams} stream(s), ${account.storage} bytes stored`,
    );
  } catch (error) {
    return fail(
      'nats',
      `NATS at ${url} is reachable but JetStream is not available: ${messageOf(error)}`,
      'enable JetStream on the server (nats-server -js, or a jetstream {} block in its config) for this account',
    );
  } finally {
    await connection.close().catch(() => {});
  }
}
