// A least-recently-used map bounded by the bytes its values hold (and optionally their number):
// the reader keeps parsed steps and step indexes in one each, so a run of huge steps costs the
// same memory as a run of small ones.

export class ByteLru<K, V> {
  /** Map order is recency order: the first key is the least recently used. */
  private readonly entries = new Map<K, { value: V; bytes: number }>();
  private total = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly sizeOf: (value: V) => number,
    private readonly maxEntries = Number.POSITIVE_INFINITY,
  ) {}

  /** Bytes held now. */
  get bytes(): number {
    return this.total;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** The value, now the most recently used. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /**
   * Stores the value (its size is taken now) and drops the least recently used others until the
   * bounds hold. The value just stored is kept even when it alone is over the bounds.
   */
  set(key: K, value: V): void {
    this.delete(key);
    const bytes = this.sizeOf(value);
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    for (const old of this.entries.keys()) {
      if ((this.total <= this.maxBytes && this.entries.size <= this.maxEntries) || old === key) break;
      this.delete(old);
    }
  }

  /**
   * Stores the value only if it fits beside what is held, evicting nothing (for passes over many
   * values in order, which an LRU would turn into one eviction per value); false when it did not.
   */
  setIfRoom(key: K, value: V): boolean {
    if (this.entries.has(key)) {
      this.set(key, value);
      return true;
    }
    const bytes = this.sizeOf(value);
    if (this.total + bytes > this.maxBytes || this.entries.size + 1 > this.maxEntries) return false;
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    return true;
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  /** Keys, least recently used first. */
  keys(): K[] {
    return [...this.entries.keys()];
  }
}
