/**
 * A Map for the common case of one entry (a session that speaks for one endpoint): the first entry
 * lives in two fields, a real Map only appears with the second. Same iteration order as a Map.
 * A real Map with one entry costs ~200 bytes; kept per connected device, that shows in idle memory.
 */
export class SmallMap<K, V> {
  private firstKey: K | undefined;
  private firstValue: V | undefined;
  private hasFirst = false;
  private rest: Map<K, V> | undefined;

  get size(): number {
    return (this.hasFirst ? 1 : 0) + (this.rest?.size ?? 0);
  }

  has(key: K): boolean {
    return (this.hasFirst && this.firstKey === key) || (this.rest?.has(key) ?? false);
  }

  get(key: K): V | undefined {
    return this.hasFirst && this.firstKey === key ? this.firstValue : this.rest?.get(key);
  }

  set(key: K, value: V): this {
    if (!this.hasFirst || this.firstKey === key) {
      this.hasFirst = true;
      this.firstKey = key;
      this.firstValue = value;
    } else (this.rest ??= new Map()).set(key, value);
    return this;
  }

  delete(key: K): boolean {
    if (this.hasFirst && this.firstKey === key) {
      // The next entry (in insertion order) moves up into the fields.
      const next = this.rest?.entries().next();
      if (next && !next.done) {
        [this.firstKey, this.firstValue] = next.value;
        this.rest!.delete(next.value[0]);
        if (this.rest!.size === 0) this.rest = undefined;
      } else {
        this.hasFirst = false;
        this.firstKey = undefined;
        this.firstValue = undefined;
      }
      return true;
    }
    const deleted = this.rest?.delete(key) ?? false;
    if (this.rest?.size === 0) this.rest = undefined;
    return deleted;
  }

  *entries(): IterableIterator<[K, V]> {
    if (this.hasFirst) yield [this.firstKey as K, this.firstValue as V];
    if (this.rest) yield* this.rest.entries();
  }

  *keys(): IterableIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}
