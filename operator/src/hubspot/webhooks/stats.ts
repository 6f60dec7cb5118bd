/**
 * Per-integration webhook counts of this process for status.webhooks: events stored and
 * deliveries refused in a sliding 24 h window (one bucket per minute, so memory stays bounded),
 * and the newest stored event's occurredAt. Every replica counts what it received; the inbox's
 * own counts (StateReader.webhookStats) are the cross-replica truth for stored events.
 */
const BUCKET_MS = 60_000;
const WINDOW_MS = 24 * 60 * 60 * 1000;

class Window {
  private buckets = new Map<number, number>();
  add(now: number, n: number): void {
    const b = Math.floor(now / BUCKET_MS);
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + n);
    this.prune(now);
  }
  total(now: number): number {
    this.prune(now);
    let sum = 0;
    for (const n of this.buckets.values()) sum += n;
    return sum;
  }
  private prune(now: number): void {
    const oldest = Math.floor((now - WINDOW_MS) / BUCKET_MS);
    for (const b of this.buckets.keys()) if (b <= oldest) this.buckets.delete(b);
  }
}

export interface WebhookStatus {
  lastEventTime?: string;
  eventsLast24h: number;
  rejectedLast24h: number;
}

export class WebhookStats {
  private readonly entries = new Map<string, { events: Window; rejected: Window; lastEvent?: number }>();
  private readonly now: () => number;
  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  private entry(namespace: string, name: string) {
    const k = `${namespace}/${name}`;
    let e = this.entries.get(k);
    if (!e) this.entries.set(k, (e = { events: new Window(), rejected: new Window() }));
    return e;
  }

  stored(namespace: string, name: string, count: number, newestOccurredAt: number): void {
    const e = this.entry(namespace, name);
    e.events.add(this.now(), count);
    if (e.lastEvent === undefined || newestOccurredAt > e.lastEvent) e.lastEvent = newestOccurredAt;
  }

  rejected(namespace: string, name: string): void {
    this.entry(namespace, name).rejected.add(this.now(), 1);
  }

  snapshot(namespace: string, name: string): WebhookStatus {
    const e = this.entries.get(`${namespace}/${name}`);
    const now = this.now();
    if (!e) return { eventsLast24h: 0, rejectedLast24h: 0 };
    return {
      ...(e.lastEvent !== undefined ? { lastEventTime: new Date(e.lastEvent).toISOString() } : {}),
      eventsLast24h: e.events.total(now),
      rejectedLast24h: e.rejected.total(now),
    };
  }

  forget(namespace: string, name: string): void {
    this.entries.delete(`${namespace}/${name}`);
  }
}
