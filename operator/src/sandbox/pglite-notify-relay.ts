/**
 * Makes NOTIFY from psql sessions reach in-process LISTENers of the sandbox's PGlite.
 *
 * pglite-socket runs each client's wire-protocol messages through execProtocolRawStream and
 * hands the raw answer back to that client, so a NotificationResponse raised by a trigger
 * during a psql UPDATE goes to psql (which is not listening) and never reaches the sync
 * engine's `listen()` callbacks: changes made with psql would wait for the next scheduled cycle.
 * The relay watches those raw answers for NotificationResponse messages ('A') and raises each
 * notification again through PGlite's own query path, where listeners are dispatched.
 */
import type { PGlite } from '@electric-sql/pglite';

type RawStream = (message: Uint8Array, opts: { syncToFs?: boolean; onRawData: (data: Uint8Array) => void }) => Promise<void>;

/** Incremental parser of backend messages that collects NotificationResponse payloads. */
export class NotificationScanner {
  private pending = new Uint8Array(0);
  readonly found: { channel: string; payload: string }[] = [];

  push(chunk: Uint8Array): void {
    const data = this.pending.length ? concat(this.pending, chunk) : chunk;
    let offset = 0;
    while (data.length - offset >= 5) {
      const type = data[offset]!;
      const length = new DataView(data.buffer, data.byteOffset + offset + 1, 4).getInt32(0);
      if (length < 4) {
        // Not a protocol stream we understand; stop scanning rather than misread it.
        this.pending = new Uint8Array(0);
        return;
      }
      if (data.length - offset < 1 + length) break;
      if (type === 0x41 /* 'A' */) this.found.push(parseNotification(data.subarray(offset + 5, offset + 1 + length)));
      offset += 1 + length;
    }
    this.pending = data.slice(offset);
  }
}

function parseNotification(body: Uint8Array): { channel: string; payload: string } {
  // int32 process id, then channel and payload as NUL-terminated strings.
  const decoder = new TextDecoder();
  const rest = body.subarray(4);
  const end = rest.indexOf(0);
  const channel = decoder.decode(rest.subarray(0, end));
  const after = rest.subarray(end + 1);
  const end2 = after.indexOf(0);
  return { channel, payload: decoder.decode(after.subarray(0, end2 < 0 ? after.length : end2)) };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Installs the relay on `db` (call before serving it over a socket). */
export function relaySocketNotifications(db: PGlite, onError: (err: unknown) => void = () => {}): void {
  const target = db as unknown as { execProtocolRawStream: RawStream };
  const original = target.execProtocolRawStream.bind(db);
  target.execProtocolRawStream = async (message, opts) => {
    const scanner = new NotificationScanner();
    await original(message, {
      ...opts,
      onRawData: (data) => {
        scanner.push(data);
        opts.onRawData(data);
      },
    });
    for (const n of scanner.found) {
      db.query('SELECT pg_notify($1, $2)', [n.channel, n.payload]).catch(onError);
    }
  };
}
