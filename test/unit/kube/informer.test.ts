import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../operator/src/kube/clock.js';
import { Informer } from '../../../operator/src/kube/informer.js';
import { KubeApiError, type KubeClient, type KubeObject, type WatchEvent } from '../../../operator/src/kube/client.js';

const RT = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };
const obj = (name: string, rv: string): KubeObject => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

/** A scripted API: list returns `items`; each watch call runs the next script entry. */
class ScriptedApi {
  items: KubeObject[] = [];
  listRv = '10';
  lists = 0;
  watches: { rv?: string; signal: AbortSignal }[] = [];
  script: ((emit: (ev: WatchEvent<KubeObject>) => void, signal: AbortSignal) => Promise<void>)[] = [];
  async list() {
    this.lists++;
    return { items: this.items, metadata: { resourceVersion: this.listRv } };
  }
  async watch(_rt: unknown, opts: { resourceVersion?: string }, onEvent: (ev: WatchEvent<KubeObject>) => void, signal: AbortSignal) {
    this.watches.push({ rv: opts.resourceVersion, signal });
    const step = this.script.shift() ?? ((_e, s) => new Promise<void>((r) => s.addEventListener('abort', () => r())));
    await step(onEvent, signal);
  }
}

function setup(api: ScriptedApi, clock: ManualClock) {
  const inf = new Informer<KubeObject>({ client: api as unknown as KubeClient, resource: RT, logger: pino({ level: 'silent' }), clock, watchTimeoutSeconds: 10, watchdogGraceMs: 5000 });
  const seen: string[] = [];
  inf.on((e, o) => seen.push(`${e}:${o.metadata.name}@${o.metadata.resourceVersion}`));
  return { inf, seen };
}

describe('Informer', () => {
  it('lists, then watches from the list resourceVersion and tracks it through events and bookmarks', async () => {
    const clock = new ManualClock();
    const api = new ScriptedApi();
    api.items = [obj('a', '5')];
    api.script.push(async (emit) => {
      emit({ type: 'ADDED', object: obj('b', '11') });
      emit({ type: 'BOOKMARK', object: obj('', '15') });
    });
    const { inf, seen } = setup(api, clock);
    inf.start();
    await clock.advance(0);
    expect(inf.hasSynced()).toBe(true);
    expect(seen).toEqual(['add:a@5', 'add:b@11']);
    expect(api.watches.map((w) => w.rv)).toEqual(['10', '15']);
    await inf.stop();
  });

  it('relists on 410 Gone and emits what changed meanwhile, deletes included', async () => {
    const clock = new ManualClock();
    const api = new ScriptedApi();
    api.items = [obj('a', '5'), obj('b', '6')];
    api.script.push(async (emit) => {
      api.items = [obj('a', '20'), obj('c', '21')];
      api.listRv = '22';
      emit({ type: 'ERROR', object: { code: 410, message: 'too old' } as unknown as KubeObject });
    });
    api.script.push(async () => {
      throw new KubeApiError('watch: 410 Gone', 410);
    });
    const { inf, seen } = setup(api, clock);
    inf.start();
    await clock.advance(0);
    expect(api.lists).toBe(3);
    expect(seen).toEqual(['add:a@5', 'add:b@6', 'update:a@20', 'add:c@21', 'delete:b@6']);
    expect(inf.list().map((o) => o.metadata.name).sort()).toEqual(['a', 'c']);
    await inf.stop();
  });

  it('the watchdog restarts a watch silent past its timeout; health fails while the API keeps failing', async () => {
    const clock = new ManualClock();
    const api = new ScriptedApi();
    const { inf } = setup(api, clock);
    inf.start();
    await clock.advance(0);
    expect(api.watches).toHaveLength(1);
    await clock.advance(14_999);
    expect(api.watches[0]!.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(api.watches[0]!.signal.aborted).toBe(true);
    expect(api.watches).toHaveLength(2);
    expect(inf.healthy().ok).toBe(true);

    await inf.stop();

    // Every watch fails at once: retries back off, and after twice the watchdog period /healthz fails.
    const clock2 = new ManualClock();
    const failing = new ScriptedApi();
    for (let i = 0; i < 100; i++) failing.script.push(async () => { throw new Error('connection refused'); });
    const { inf: inf2 } = setup(failing, clock2);
    inf2.start();
    await clock2.advance(29_000);
    expect(inf2.healthy().ok).toBe(true);
    await clock2.advance(31_000);
    expect(inf2.healthy()).toMatchObject({ ok: false });
    expect(inf2.healthy().detail).toContain('connection refused');
    await inf2.stop();
  });
});
