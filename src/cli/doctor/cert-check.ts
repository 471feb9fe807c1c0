import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type CheckGroup, type CheckResult, fail, messageOf, pass, skip } from './check.js';

/** A certificate expiring sooner than this fails the check: 14 days, time enough to renew it. */
export const CERT_EXPIRY_WARNING_MS = 14 * 24 * 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Is the certificate (`--cert FILE`, PEM or DER; every certificate of a PEM chain) valid now
 * and for the next 14 days? Without `--cert` there is nothing to check: the server has no TLS
 * settings in this version.
 */
export const certChecks: CheckGroup = {
  name: 'certificate',
  timeoutMs: 10_000,
  async run(ctx) {
    if (ctx.input.cert === undefined) {
      return [skip('certificate', 'no TLS configured (pass --cert FILE to check a certificate)')];
    }
    return [await checkCertificateFile(ctx.input.cert, Date.now())];
  },
};

/** The verdict on the certificates in `file` at time `now` (ms). */
export async function checkCertificateFile(file: string, now: number): Promise<CheckResult> {
  let certificates: X509Certificate[];
  try {
    certificates = parseCertificates(await readFile(file));
  } catch (error) {
    return fail(
      'certificate',
      `cannot read a certificate from ${file}: ${messageOf(error)}`,
      'pass --cert with a PEM or DER X.509 certificate file',
    );
  }
  const failures: string[] = [];
  let soonest: { cert: X509Certificate; until: number } | undefined;
  for (const cert of certificates) {
    const from = Date.parse(cert.validFrom);
    const until = Date.parse(cert.validTo);
    const who = describe(cert);
    if (now < from) failures.push(`${who} is not valid before ${iso(from)}`);
    else if (now >= until) failures.push(`${who} expired ${iso(until)} (${days(now - until)} ago)`);
    else if (until - now < CERT_EXPIRY_WARNING_MS)
      failures.push(`${who} expires ${iso(until)}, in ${days(until - now)}`);
    if (soonest === undefined || until < soonest.until) soonest = { cert, until };
  }
  if (failures.length > 0) {
    const notYet = failures.some((f) => f.includes('not valid before'));
    return fail(
      'certificate',
      `${file}: ${failures.join('; ')}`,
      notYet
        ? "check this machine's clock, or install a certificate that is valid now"
        : `renew the certificate (SBMP asks for at least ${days(CERT_EXPIRY_WARNING_MS)} of validity) and install it in ${file}`,
    );
  }
  const first = soonest!;
  const chain = certificates.length > 1 ? ` (${certificates.length} certificates; the first to expire)` : '';
  return pass(
    'certificate',
    `${file}: ${describe(first.cert)} valid until ${iso(first.until)}, ${days(first.until - now)} left${chain}`,
  );
}

/** Every certificate of a PEM file, or the one certificate of a DER file. */
function parseCertificates(bytes: Buffer): X509Certificate[] {
  const blocks = bytes.toString('latin1').match(PEM_BLOCK);
  if (blocks === null) return [new X509Certificate(bytes)];
  return blocks.map((block) => new X509Certificate(block));
}

/** The subject's CN and any SPIFFE ID (the identity the server would see). */
function describe(cert: X509Certificate): string {
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  const spiffe = /URI:(spiffe:\/\/[^,\s]+)/.exec(cert.subjectAltName ?? '')?.[1];
  const names = [cn === undefined ? undefined : `CN=${cn}`, spiffe].filter((n) => n !== undefined);
  return names.length > 0 ? `certificate ${names.join(' ')}` : 'certificate';
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function days(ms: number): string {
  const value = ms / DAY_MS;
  return value >= 10 ? `${Math.floor(value)} days` : `${value.toFixed(1)} days`;
}
