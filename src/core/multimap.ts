/**
 * Keys to sets of values, for indexes where nearly every key has exactly one value (a token's
 * sessions, an endpoint's subscribers): a single value is stored as itself, a Set only from the
 * second on. With tens of thousands of devices, a Set per key would be most of their memory.
 * Values must not themselves be Sets.
 */
export class MultiMap<K, V> {
  private readonly entries = new Map<K, V | Set<V>>();

  add(key: K, value: V): void {
    const current = this.entries.get(key);
    if (current === undefined) this.entries.set(key, value);
    else if (current instanceof Set) current.add(value);
    else if (current !== value) this.entries.set(key, new Set([current, value]));
  }

  delete(key: K, value: V): void {
    const current = this.entries.get(key);
    if (current === value) this.entries.delete(key);
    else if (current instanceof Set) {
      current.delete(value);
      if (current.size === 1) this.entries.set(key, current.values().next().value as V);
    }
  }

  deleteKey(key: K): void {
    this.entries.delete(key);
  }

  /** The values of `key` (a copy: safe to change the map while iterating it). */
  get(key: K): V[] {
    const current = this.entries.get(key);
    if (current === undefined) return [];
    return current instanceof Set ? [...current] : [current];
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  count(key: K): number {
    const current = this.entries.get(key);
    return current === undefined ? 0 : current instanceof Set ? current.size : 1;
  }

  keys(): IterableIterator<K> {
    return this.entries.keys();
  }

  clear(): void {
    this.entries.clear();
  }
}
