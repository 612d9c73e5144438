/**
 * The one check for "a plain JSON object" on values from outside (a client's message, an
 * upstream's answer, a bundle's field): not null, not an array.
 *
 * @module
 */

/** Whether `value` is an object that is neither null nor an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
