/**
 * The cookie handling of the tests' "browsers": keeps what `Set-Cookie` sets, drops what it
 * expires, and sends the rest back.
 *
 * @module
 */

/** Applies a response's `Set-Cookie` lines to `jar`. */
export function rememberCookies(jar: Map<string, string>, response: Response): void {
  for (const line of response.headers.getSetCookie()) {
    const [pair = ""] = line.split(";");
    const index = pair.indexOf("=");
    const name = pair.slice(0, index).trim();
    const value = pair.slice(index + 1).trim();
    if (/max-age=0/i.test(line) || value === "") jar.delete(name);
    else jar.set(name, value);
  }
}

/** The `Cookie` header for `jar`. */
export function cookieHeader(jar: ReadonlyMap<string, string>): string {
  return [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
}
