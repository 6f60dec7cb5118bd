/**
 * HubSpot's v3 request signature (DESIGN §2.8): base64(HMAC-SHA256(clientSecret,
 * method + uri + body + timestamp)), with `X-HubSpot-Request-Timestamp` (epoch ms) no further
 * than 5 minutes from now. Comparison is constant-time; the URI is the URL HubSpot called,
 * with the URL-encoded characters HubSpot decodes before signing decoded the same way.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_TIMESTAMP_SKEW_MS = 5 * 60 * 1000;

/** The percent-encodings HubSpot decodes in the URI before signing (its v3 validation guide). */
const DECODED: Record<string, string> = {
  '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$', '%27': "'",
  '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';',
};

export function normaliseSignedUri(uri: string): string {
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => DECODED[m.toUpperCase()] ?? m);
}

export function signV3(clientSecret: string, method: string, uri: string, body: string, timestamp: string | number): string {
  return createHmac('sha256', clientSecret).update(`${method}${normaliseSignedUri(uri)}${body}${timestamp}`).digest('base64');
}

/** Constant-time comparison of a received base64 signature with the expected one. */
export function signatureMatches(expected: string, received: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(received, 'utf8');
  // timingSafeEqual needs equal lengths; compare against itself so the time does not depend on where they differ.
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

export type TimestampProblem = 'missing' | 'stale';

/** Checks `X-HubSpot-Request-Timestamp`: epoch milliseconds within 5 minutes of now (either way). */
export function checkTimestamp(header: string | undefined, now: number, skewMs = MAX_TIMESTAMP_SKEW_MS): TimestampProblem | undefined {
  if (header === undefined || !/^\d{1,16}$/.test(header.trim())) return 'missing';
  const ts = Number(header.trim());
  return Math.abs(now - ts) > skewMs ? 'stale' : undefined;
}

/**
 * Which of the candidate secrets signed the request (every candidate is computed, so the time
 * does not reveal which one matched); empty when none did.
 */
export function matchingSecrets(secrets: Iterable<string>, method: string, uris: string[], body: string, timestamp: string, signature: string): Set<string> {
  const matched = new Set<string>();
  for (const secret of secrets) {
    for (const uri of uris) {
      if (signatureMatches(signV3(secret, method, uri, body, timestamp), signature)) matched.add(secret);
    }
  }
  return matched;
}
