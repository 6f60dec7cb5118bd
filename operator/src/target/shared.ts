/**
 * Resources shared by the integrations on one database (DESIGN §4: one pool and one change
 * watch per distinct database): created by the first user of a key, destroyed when the last
 * reference is released. Connectors key them by their connection target (the URL with its
 * credentials: different users are different pools); keys stay in memory, never in logs.
 */
export interface Shared<T> {
  readonly value: T;
  /** Release this reference (idempotent); the last one destroys the resource. */
  release(): Promise<void>;
}

export class SharedRegistry<T> {
  private readonly entries = new Map<string, { value: Promise<T>; refs: number }>();
  private readonly destroy: (value: T) => Promise<void>;

  constructor(destroy: (value: T) => Promise<void>) {
    this.destroy = destroy;
  }

  /** The resource of `key`, created with `create` when there is none yet. */
  async acquire(key: string, create: () => Promise<T>): Promise<Shared<T>> {
    let e = this.entries.get(key);
    if (!e) {
      const value = create();
      e = { value, refs: 0 };
      this.entries.set(key, e);
      // A failed creation is not cached: the next acquire tries again.
      value.catch(() => {
        if (this.entries.get(key) === e) this.entries.delete(key);
      });
    }
    e.refs++;
    const entry = e;
    let value: T;
    try {
      value = await entry.value;
    } catch (err) {
      entry.refs--;
      throw err;
    }
    let released = false;
    return {
      value,
      release: async () => {
        if (released) return;
        released = true;
        entry.refs--;
        if (entry.refs === 0 && this.entries.get(key) === entry) {
          this.entries.delete(key);
          await this.destroy(value);
        }
      },
    };
  }

  /** Number of live resources (tests and metrics). */
  get size(): number {
    return this.entries.size;
  }
}
