/**
 * Per-isolate caches keyed by long-lived values (env, settings, recipes): the value for a key is
 * computed on first use and kept as long as the cache (or, in a `WeakMap`, the key) lives.
 *
 * @module
 */

/** The part of `Map` and `WeakMap` a cache needs. */
export interface Cache<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): unknown;
}

/** The value `cache` holds for `key`, computed by `compute` the first time. */
export function memoized<K, V>(cache: Cache<K, V>, key: K, compute: (key: K) => V): V {
  let value = cache.get(key);
  if (value === undefined) {
    value = compute(key);
    cache.set(key, value);
  }
  return value;
}

/**
 * A `Map` cache for keys that come from outside (upstream keys, per-user secrets): an open-ended
 * set, so it holds at most `max` entries and starts over when full (no LRU bookkeeping per hit).
 */
export function boundedCache<K, V>(max: number): Cache<K, V> {
  const map = new Map<K, V>();
  return {
    get: (key) => map.get(key),
    set(key, value) {
      if (map.size >= max) map.clear();
      map.set(key, value);
    },
  };
}
