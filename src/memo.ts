/**
 * Per-isolate caches keyed by long-lived objects (settings, recipes): the value for a key is
 * computed on first use and kept as long as the key lives.
 *
 * @module
 */

/** The value `cache` holds for `key`, computed by `compute` the first time. */
export function memoized<K extends object, V>(cache: WeakMap<K, V>, key: K, compute: (key: K) => V): V {
  let value = cache.get(key);
  if (value === undefined) {
    value = compute(key);
    cache.set(key, value);
  }
  return value;
}
