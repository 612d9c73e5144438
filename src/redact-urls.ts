/**
 * Runtime error text made safe to show: a URL's query may carry an API key, and such text
 * reaches tool results, health output and logs.
 *
 * @module
 */

/** `message` with every URL query replaced by `?…`, cut at `maxChars`. */
export function redactUrlQueries(message: string, maxChars: number): string {
  return message.replace(/\?\S*/g, "?…").slice(0, maxChars);
}
