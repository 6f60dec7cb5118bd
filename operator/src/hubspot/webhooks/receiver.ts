/**
 * The webhook receiver (DESIGN §2.8): `POST /webhooks/hubspot` on the webhook port, served by
 * every replica. A delivery is checked in this order, and nothing unauthenticated reaches the
 * inbox (the database):
 *   415 content-type is not application/json · 413 body over the limit (1 MiB by default) ·
 *   401 X-HubSpot-Request-Timestamp missing or more than 5 minutes away, or
 *       X-HubSpot-Signature-v3 made with none of the configured client secrets ·
 *   400 not a JSON array of events · then every event is routed by portalId and object type to
 *   the integrations whose client secret signed the delivery and that sync the type (others are
 *   ignored and counted), stored through the WebhookInbox, and only then answered 200. A store
 *   that fails or takes longer than storeTimeoutMs answers 503 so HubSpot delivers again
 *   (the inbox drops the duplicates).
 *
 * The signed URI is the URL HubSpot called: `publicUrl` when given (the exact target URL of the
 * HubSpot app, for an Ingress that rewrites paths), else rebuilt from X-Forwarded-Proto and
 * X-Forwarded-Host (an Ingress/proxy in front) or the Host header, plus the request path — and
 * the URL exactly as received (Host + path) is tried too.
 * Forwarded headers only choose which URL is checked: without the client secret no signature
 * matches any URL.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { OperatorMetrics } from '../../observability/metrics.js';
import type { WebhookDirectory, WebhookTarget } from './directory.js';
import { checkDelivery, eventKind, eventObjectType, toInboxEvent, type HubSpotWebhookEvent, type InboxEvent, type WebhookInbox } from './events.js';
import { checkTimestamp, matchingSecrets } from './signature.js';
import type { WebhookStats } from './stats.js';

export const WEBHOOK_PATH = '/webhooks/hubspot';
export const DEFAULT_WEBHOOK_PORT = 9443;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_STORE_TIMEOUT_MS = 4000;

type ReceiverMetrics = Pick<OperatorMetrics, 'webhookRequests' | 'webhookEvents' | 'webhookEventsIgnored' | 'webhookTargets'>;

export interface WebhookReceiverOptions {
  directory: WebhookDirectory;
  inbox: WebhookInbox;
  metrics?: ReceiverMetrics;
  stats?: WebhookStats;
  logger?: Logger;
  /** The exact target URL configured in the HubSpot app; default: rebuilt from the request. */
  publicUrl?: string;
  /** Use X-Forwarded-Proto/-Host to rebuild the URL (default true; ignored with publicUrl). */
  trustForwardedHeaders?: boolean;
  maxBodyBytes?: number;
  storeTimeoutMs?: number;
  now?: () => number;
}

export interface DeliveryResult {
  status: number;
  body: Record<string, unknown>;
}

class HttpProblem extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function first(h: string | string[] | undefined): string | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  return v?.split(',')[0]?.trim() || undefined;
}

export class WebhookReceiver {
  private readonly o: WebhookReceiverOptions;
  private readonly now: () => number;
  private server?: Server;

  constructor(o: WebhookReceiverOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    if (o.metrics) o.metrics.webhookTargets.source = () => o.directory.targets();
  }

  /** The URIs a signature is checked against for this request. */
  signedUris(req: IncomingMessage): string[] {
    if (this.o.publicUrl) return [this.o.publicUrl];
    const trust = this.o.trustForwardedHeaders ?? true;
    const ownProto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    const path = req.url ?? WEBHOOK_PATH;
    const direct = `${ownProto}://${req.headers.host ?? ''}${path}`;
    if (!trust) return [direct];
    const proto = first(req.headers['x-forwarded-proto']) || ownProto;
    const host = first(req.headers['x-forwarded-host']) || req.headers.host || '';
    // The public URL as the proxy reports it; and the URL as received (a proxy that sets only some headers).
    const forwarded = `${proto}://${host}${path}`;
    return forwarded === direct ? [direct] : [forwarded, direct];
  }

  /** The Node request handler (mountable on any server). */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    void this.serve(req).then(
      (r) => this.answer(req, res, r),
      (err) => {
        const status = err instanceof HttpProblem ? err.status : 500;
        if (status === 500) this.o.logger?.error({ err: err instanceof Error ? err.message : String(err) }, 'webhook delivery failed');
        this.answer(req, res, { status, body: { error: err instanceof Error ? err.message : String(err) } });
      },
    );
  };

  private answer(req: IncomingMessage, res: ServerResponse, r: DeliveryResult): void {
    this.o.metrics?.webhookRequests.inc({ code: String(r.status) });
    // Refusals at debug: a scanner must not flood the log; the counter shows them. Never the body or headers.
    if (r.status >= 400 && r.status !== 503) this.o.logger?.debug({ status: r.status, reason: r.body.error }, 'webhook delivery refused');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (r.status === 405) headers.allow = 'POST';
    if (r.status === 413 || !req.complete) headers.connection = 'close';
    res.writeHead(r.status, headers);
    res.end(JSON.stringify(r.body) + '\n');
    if (!req.complete) res.on('finish', () => req.destroy());
  }

  private async serve(req: IncomingMessage): Promise<DeliveryResult> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== WEBHOOK_PATH) throw new HttpProblem(404, `not found: HubSpot deliveries go to POST ${WEBHOOK_PATH}`);
    if (req.method !== 'POST') throw new HttpProblem(405, `method ${req.method} not allowed: use POST`);
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw new HttpProblem(415, `content-type must be application/json; got ${JSON.stringify(type || '(none)')}`);
    const body = await this.readBody(req);
    return this.deliver({
      method: req.method,
      uris: this.signedUris(req),
      body,
      signature: first(req.headers['x-hubspot-signature-v3']),
      timestamp: first(req.headers['x-hubspot-request-timestamp']),
    });
  }

  private readBody(req: IncomingMessage): Promise<string> {
    const limit = this.o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return Promise.reject(new HttpProblem(413, `body of ${declared} bytes exceeds the limit of ${limit} bytes`));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          req.off('data', onData);
          req.pause();
          reject(new HttpProblem(413, `body exceeds the limit of ${limit} bytes`));
          return;
        }
        chunks.push(c);
      };
      req.on('data', onData);
      req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.once('error', (err) => reject(new HttpProblem(400, `reading the body failed: ${err.message}`)));
    });
  }

  /** Everything after the transport checks: authenticate, parse, route, store. */
  async deliver(d: { method: string; uris: string[]; body: string; signature?: string; timestamp?: string }): Promise<DeliveryResult> {
    const targets = this.o.directory.targets();
    const tsProblem = checkTimestamp(d.timestamp, this.now());
    if (tsProblem || !d.signature) {
      this.countRejected(d.body, targets);
      throw new HttpProblem(401, tsProblem === 'stale'
        ? 'X-HubSpot-Request-Timestamp is more than 5 minutes away from now'
        : tsProblem === 'missing' ? 'X-HubSpot-Request-Timestamp is missing or not epoch milliseconds' : 'X-HubSpot-Signature-v3 is missing');
    }
    const matched = matchingSecrets(new Set(targets.map((t) => t.clientSecret)), d.method, d.uris, d.body, d.timestamp!, d.signature);
    if (matched.size === 0) {
      this.countRejected(d.body, targets);
      throw new HttpProblem(401, 'X-HubSpot-Signature-v3 does not match: signed with an unknown client secret or for another URL');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(d.body);
    } catch {
      // Not the parser's message: it quotes the body, which may hold personal values.
      throw new HttpProblem(400, 'the body is not valid JSON');
    }
    const checked = checkDelivery(parsed);
    if ('problem' in checked) throw new HttpProblem(400, checked.problem);
    const verified = targets.filter((t) => matched.has(t.clientSecret));
    const { routed, ignored } = this.route(checked.events, verified);
    await this.store(routed);
    for (const [reason, n] of Object.entries(ignored)) if (n > 0) this.o.metrics?.webhookEventsIgnored.inc({ reason }, n);
    const stored = [...routed.values()].reduce((n, r) => n + r.events.length, 0);
    this.o.logger?.debug({ events: checked.events.length, stored, ignored }, 'webhook delivery stored');
    return { status: 200, body: { received: checked.events.length, stored, ignored } };
  }

  private route(events: HubSpotWebhookEvent[], verified: WebhookTarget[]) {
    const routed = new Map<string, { target: WebhookTarget; events: InboxEvent[] }>();
    const ignored = { unknown_portal: 0, unsynced_type: 0, unsupported_event: 0 };
    for (const e of events) {
      const kind = eventKind(e.subscriptionType);
      const type = eventObjectType(e);
      if (!kind || !type) {
        ignored.unsupported_event++;
        continue;
      }
      const forPortal = verified.filter((t) => t.portalId === e.portalId);
      if (forPortal.length === 0) {
        ignored.unknown_portal++;
        continue;
      }
      let taken = false;
      for (const t of forPortal) {
        const specType = t.objectTypes.get(type);
        if (!specType) continue;
        taken = true;
        let r = routed.get(t.key);
        if (!r) routed.set(t.key, (r = { target: t, events: [] }));
        r.events.push(toInboxEvent(e, specType, kind));
      }
      if (!taken) ignored.unsynced_type++;
    }
    for (const r of routed.values()) r.events.sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime());
    return { routed, ignored };
  }

  private async store(routed: Map<string, { target: WebhookTarget; events: InboxEvent[] }>): Promise<void> {
    if (routed.size === 0) return;
    const timeoutMs = this.o.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HttpProblem(503, `storing the events took longer than ${timeoutMs} ms; deliver again`)), timeoutMs);
    });
    const all = Promise.all([...routed.values()].map(async ({ target, events }) => {
      await this.o.inbox.store(target.key, events);
      // Counted once committed: what a dashboard shows was stored.
      let newest = 0;
      for (const e of events) {
        this.o.metrics?.webhookEvents.inc({ namespace: target.namespace, integration: target.name, object_type: e.objectType, event: e.kind });
        newest = Math.max(newest, e.occurredAt.getTime());
      }
      this.o.stats?.stored(target.namespace, target.name, events.length, newest);
    }));
    try {
      await Promise.race([all, timeout]);
    } catch (err) {
      if (err instanceof HttpProblem) {
        this.o.logger?.warn({ timeoutMs }, 'webhook delivery not stored in time; answered 503 so HubSpot retries');
        throw err;
      }
      this.o.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'webhook delivery could not be stored; answered 503 so HubSpot retries');
      throw new HttpProblem(503, 'the events could not be stored; deliver again');
    } finally {
      clearTimeout(timer);
      all.catch(() => undefined);
    }
  }

  /** A refused delivery counts against the integrations of the portals it names (no secret, no database involved). */
  private countRejected(body: string, targets: WebhookTarget[]): void {
    if (!this.o.stats || targets.length === 0) return;
    let portals: Set<unknown>;
    try {
      const parsed: unknown = JSON.parse(body);
      if (!Array.isArray(parsed)) return;
      portals = new Set(parsed.slice(0, 1000).map((e) => (e && typeof e === 'object' ? (e as { portalId?: unknown }).portalId : undefined)));
    } catch {
      return;
    }
    for (const t of targets) if (portals.has(t.portalId)) this.o.stats.rejected(t.namespace, t.name);
  }

  async listen(port: number, host = '0.0.0.0'): Promise<string> {
    const server = createServer(this.handle);
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    return `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}${WEBHOOK_PATH}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeIdleConnections();
      setTimeout(() => s.closeAllConnections(), 5000).unref();
    });
  }
}
