import { describe, expect, it } from 'vitest';
import { NotificationScanner } from '../../../operator/src/sandbox/pglite-notify-relay.js';

function message(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

function notification(channel: string, payload: string): Uint8Array {
  const enc = new TextEncoder();
  const c = enc.encode(channel);
  const p = enc.encode(payload);
  const body = new Uint8Array(4 + c.length + 1 + p.length + 1);
  new DataView(body.buffer).setInt32(0, 42);
  body.set(c, 4);
  body.set(p, 4 + c.length + 1);
  return message('A', body);
}

describe('NotificationScanner', () => {
  it('finds NotificationResponse messages among others, across chunk boundaries', () => {
    const stream = new Uint8Array([
      ...message('C', new TextEncoder().encode('UPDATE 1\0')),
      ...notification('hso_abc', 'contacts:17'),
      ...message('Z', new Uint8Array([0x49])),
      ...notification('other', ''),
    ]);
    const s = new NotificationScanner();
    for (let i = 0; i < stream.length; i += 7) s.push(stream.subarray(i, i + 7));
    expect(s.found).toEqual([{ channel: 'hso_abc', payload: 'contacts:17' }, { channel: 'other', payload: '' }]);
  });
});
