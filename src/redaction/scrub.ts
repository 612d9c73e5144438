/**
 * Credential scrubbing: every credential value the gateway attached to an
 * upstream call (and the ones it holds alongside: a refresh token, the OAuth
 * client secret) is replaced by `[REDACTED]` in whatever goes back to the
 * client or into logs, at every `SANITIZATION_LEVEL` — an upstream that echoes
 * the key in an error message or a body must not hand it to the caller.
 *
 * Each value is searched in the spellings an upstream echoes it in: as sent,
 * URL-encoded (upper- and lower-case hex, `%20` or `+`), and JSON-escaped
 * (with `\/`, with non-ASCII as `\uXXXX`). A value deliberately transformed
 * further (re-encoded letter by letter, base64 of a token) is not recognised:
 * an upstream that does that holds the credential already.
 *
 * Cost: a call carries one or two short secrets whose spellings are usually all
 * the same string, so scrubbing a text is one native `indexOf` per distinct
 * spelling, with no allocation when nothing matches.
 *
 * @module
 */
import { boundedCache, memoized } from "../memo.ts";
import { REDACTED } from "./sanitize.ts";

/**
 * Spellings by secret: the same few credentials go out on every call. Per-user keys make the
 * set open-ended, so it is bounded.
 */
const spellingsBySecret = boundedCache<string, readonly string[]>(256);

function spellingsOf(value: string): readonly string[] {
  return memoized(spellingsBySecret, value, computeSpellings);
}

/** The spellings of one value an upstream may echo; `""` never. */
function computeSpellings(value: string): string[] {
  const spellings = new Set<string>([value]);
  let uri: string | undefined;
  try {
    uri = encodeURIComponent(value);
  } catch {
    // A lone surrogate cannot be URL-encoded, so it cannot have been sent that way either.
  }
  if (uri !== undefined) {
    const strict = uri.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const form = new URLSearchParams([["", value]]).toString().slice(1);
    for (const encoded of [uri, strict, strict.replace(/%20/g, "+"), form]) {
      spellings.add(encoded);
      spellings.add(encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()));
    }
  }
  const json = JSON.stringify(value).slice(1, -1);
  const ascii = json.replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  for (const escaped of [
    json,
    ascii,
    ascii.replace(/\\u[0-9a-f]{4}/g, (u) => `\\u${u.slice(2).toUpperCase()}`),
  ]) {
    spellings.add(escaped);
    spellings.add(escaped.replace(/\//g, "\\/"));
  }
  spellings.delete("");
  return [...spellings];
}

/** Collects the secrets of one tool call and removes them from text. */
export class SecretScrubber {
  /** Distinct spellings of every secret, longest first (a longer one wins where two start together). */
  #spellings: string[] = [];

  /** Adds a secret (ignored when empty or already known). */
  add(value: string | undefined): void {
    if (value === undefined || value === "") return;
    let added = false;
    for (const s of spellingsOf(value)) {
      if (this.#spellings.includes(s)) continue;
      this.#spellings.push(s);
      added = true;
    }
    if (added) this.#spellings.sort((a, b) => b.length - a.length);
  }

  /** True when no secret was added: nothing to scrub. */
  get empty(): boolean {
    return this.#spellings.length === 0;
  }

  /** `text` with every secret replaced by `[REDACTED]`; the same string when none occurs. */
  scrub(text: string): string {
    const spellings = this.#spellings;
    if (spellings.length === 0 || text === "") return text;
    // Next occurrence of each spelling at or after `pos` (-1: none left).
    const next = spellings.map((s) => text.indexOf(s));
    let out = "";
    let pos = 0;
    for (;;) {
      let best = -1;
      for (let k = 0; k < spellings.length; k++) {
        let at = next[k]!;
        if (at >= 0 && at < pos) {
          at = text.indexOf(spellings[k]!, pos);
          next[k] = at;
        }
        if (at >= 0 && (best < 0 || at < next[best]!)) best = k;
      }
      if (best < 0) break;
      out += `${text.slice(pos, next[best])}${REDACTED}`;
      pos = next[best]! + spellings[best]!.length;
    }
    return pos === 0 ? text : out + text.slice(pos);
  }

  /**
   * `value` (JSON-like: strings, numbers, arrays, plain objects) with every secret scrubbed from
   * its strings and keys; the same value when nothing changed or nothing is known.
   */
  scrubValue<T>(value: T): T {
    if (this.#spellings.length === 0) return value;
    return this.#scrubValue(value) as T;
  }

  #scrubValue(value: unknown): unknown {
    if (typeof value === "string") return this.scrub(value);
    if (value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) {
      const items = value.map((item) => this.#scrubValue(item));
      return items.some((item, i) => item !== value[i]) ? items : value;
    }
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const k = this.scrub(key);
      const v = this.#scrubValue(item);
      if (k !== key || v !== item) changed = true;
      // A key equal to "__proto__" must stay an own property, not the prototype.
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return changed ? out : value;
  }

  /**
   * `scrub` for text cut at a size limit: a secret the cut splits would leave
   * its first part at the end, so a tail that is the start of a secret is
   * dropped too.
   */
  scrubCut(text: string): string {
    const scrubbed = this.scrub(text);
    let cut = scrubbed.length;
    for (const s of this.#spellings) {
      // Only the last `s.length - 1` characters can start a part of `s`; the earliest such start is the longest part.
      let at = scrubbed.indexOf(s[0]!, Math.max(0, scrubbed.length - s.length + 1));
      while (at >= 0 && at < cut) {
        if (s.startsWith(scrubbed.slice(at))) {
          cut = at;
          break;
        }
        at = scrubbed.indexOf(s[0]!, at + 1);
      }
    }
    return cut === scrubbed.length ? scrubbed : scrubbed.slice(0, cut);
  }

  /**
   * Whether a body read as a binary string (one character per byte, as `btoa`
   * takes it) contains a secret's UTF-8 bytes.
   */
  inBinaryString(binary: string): boolean {
    for (const s of this.#spellings) {
      if (binary.indexOf(utf8AsBinary(s)) >= 0) return true;
    }
    return false;
  }
}

function utf8AsBinary(text: string): string {
  // ASCII (nearly every secret) is its own UTF-8.
  if (!/[\u0080-\uffff]/.test(text)) return text;
  let out = "";
  for (const b of new TextEncoder().encode(text)) out += String.fromCharCode(b);
  return out;
}
