/**
 * OpenAPI parameter serialization (RFC 6570 styles) for path, query, header and
 * cookie parameters, and the `application/x-www-form-urlencoded` body, which
 * uses the query rules.
 *
 * Values are percent-encoded with the strict RFC 3986 unreserved set, so a path
 * value can never contain `/`, `?`, `#`, `\` or `%` in its raw form and therefore
 * never leaves its segment. Delimiters that RFC 3986 does not allow in a query
 * (`|`, space, brackets) are percent-encoded too, as OpenAPI 3.1.1 specifies.
 *
 * @module
 */
import type { ParamStyle } from "../bundle/types.ts";
import { isPlainObject } from "./plain-object.ts";

/** Encodes everything except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`). */
export function encodeStrict(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * `allowReserved`: RFC 3986 reserved characters stay literal — except the ones that
 * would change how the query is parsed (`&`, `=`, `#`, `+`), which stay encoded.
 */
function encodeAllowReserved(s: string): string {
  return encodeStrict(s).replace(/%(3A|2F|3F|5B|5D|40|21|24|27|28|29|2A|2C|3B)/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/** One primitive as text: numbers in plain decimal, booleans as JSON spells them; nested structures as JSON. */
export function scalarText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return decimalText(v);
  if (typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

/**
 * A number in plain decimal notation: JavaScript's shortest round-trip digits with any exponent
 * written out (`1e+21` → `1000000000000000000000`, `1.5e-7` → `0.00000015`). Every decimal parser
 * reads it as the same value, while `parseInt`-style parsers read `1e+21` as 1.
 */
function decimalText(n: number): string {
  const text = String(n);
  const e = text.indexOf("e");
  if (e === -1) return text;
  const sign = n < 0 ? "-" : "";
  const mantissa = text.slice(sign.length, e);
  const dot = mantissa.indexOf(".");
  const digits = dot === -1 ? mantissa : `${mantissa.slice(0, dot)}${mantissa.slice(dot + 1)}`;
  // Where the decimal point falls within `digits` once the exponent is applied.
  const point = (dot === -1 ? mantissa.length : dot) + Number(text.slice(e + 1));
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Why a value with a lone UTF-16 surrogate is refused: it has no UTF-8 form to send. */
export const UNPAIRED_SURROGATE = "must not contain unpaired UTF-16 surrogates (they have no UTF-8 form)";

/** Whether `text` holds a lone surrogate (ES2024 `isWellFormed`; the project's lib is ES2023). */
function hasLoneSurrogate(text: string): boolean {
  return !(text as string & { isWellFormed(): boolean }).isWellFormed();
}

/**
 * The argument stored under `key`, own properties only: a spec may name a parameter
 * `constructor` or `toString`, and an argument the client left out must read as absent,
 * not as `Object.prototype`'s member.
 */
export function argumentValue(args: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(args, key) ? args[key] : undefined;
}

/** Entries of an object value, skipping undefined/null members (absent, not empty). */
function entries(obj: Record<string, unknown>): [string, unknown][] {
  return Object.entries(obj).filter(([, v]) => v !== undefined && v !== null);
}

/** A path parameter value, serialized and encoded, ready to replace `{name}` in the template. */
export function serializePath(name: string, value: unknown, style: ParamStyle, explode: boolean): string {
  const e = encodeStrict;
  if (Array.isArray(value)) {
    const items = value.map((v) => e(scalarText(v)));
    switch (style) {
      case "label":
        return `.${items.join(explode ? "." : ",")}`;
      case "matrix":
        return explode ? items.map((v) => `;${e(name)}=${v}`).join("") : `;${e(name)}=${items.join(",")}`;
      default:
        return items.join(",");
    }
  }
  if (isPlainObject(value)) {
    const pairs = entries(value).map(([k, v]) => [e(k), e(scalarText(v))] as const);
    const flat = pairs.map(([k, v]) => `${k},${v}`).join(",");
    switch (style) {
      case "label":
        return explode ? `.${pairs.map(([k, v]) => `${k}=${v}`).join(".")}` : `.${flat}`;
      case "matrix":
        return explode ? pairs.map(([k, v]) => `;${k}=${v}`).join("") : `;${e(name)}=${flat}`;
      default:
        return explode ? pairs.map(([k, v]) => `${k}=${v}`).join(",") : flat;
    }
  }
  const text = e(scalarText(value));
  switch (style) {
    case "label":
      return `.${text}`;
    case "matrix":
      return text === "" ? `;${e(name)}` : `;${e(name)}=${text}`;
    default:
      return text;
  }
}

const DELIMITERS: Partial<Record<ParamStyle, string>> = {
  form: ",",
  spaceDelimited: "%20",
  pipeDelimited: "%7C",
};

/** deepObject: `name[key]=v`, nested objects `name[a][b]=v`, scalar arrays `name[key][]=v`, object arrays indexed. */
function deepObjectPairs(prefix: string, value: unknown, enc: (s: string) => string, out: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (isPlainObject(item) || Array.isArray(item)) deepObjectPairs(`${prefix}[${i}]`, item, enc, out);
      else if (item !== undefined && item !== null)
        out.push(`${encodeStrict(`${prefix}[]`)}=${enc(scalarText(item))}`);
    });
    return;
  }
  if (isPlainObject(value)) {
    for (const [k, v] of entries(value)) deepObjectPairs(`${prefix}[${k}]`, v, enc, out);
    return;
  }
  out.push(`${encodeStrict(prefix)}=${enc(scalarText(value))}`);
}

/**
 * A query (or form body) parameter as encoded `key=value` pairs. Empty arrays and
 * objects produce nothing (RFC 6570: undefined lists are omitted).
 */
export function serializeQuery(
  name: string,
  value: unknown,
  style: ParamStyle,
  explode: boolean,
  allowReserved = false,
): string[] {
  const enc = allowReserved ? encodeAllowReserved : encodeStrict;
  const key = encodeStrict(name);
  if (value === undefined || value === null) return [];
  if (style === "deepObject" && (isPlainObject(value) || Array.isArray(value))) {
    const out: string[] = [];
    deepObjectPairs(name, value, enc, out);
    return out;
  }
  const delimiter = DELIMITERS[style] ?? ",";
  if (Array.isArray(value)) {
    const items = value.filter((v) => v !== undefined && v !== null).map((v) => enc(scalarText(v)));
    if (items.length === 0) return [];
    if (explode) return items.map((v) => `${key}=${v}`);
    return [`${key}=${items.join(delimiter)}`];
  }
  if (isPlainObject(value)) {
    const pairs = entries(value);
    if (pairs.length === 0) return [];
    if (explode && style === "form") return pairs.map(([k, v]) => `${encodeStrict(k)}=${enc(scalarText(v))}`);
    return [`${key}=${pairs.map(([k, v]) => `${enc(k)}${delimiter}${enc(scalarText(v))}`).join(delimiter)}`];
  }
  return [`${key}=${enc(scalarText(value))}`];
}

/** A header parameter value (`simple` style). Not percent-encoded: headers carry text as is. */
export function serializeHeader(value: unknown, explode: boolean): string {
  if (Array.isArray(value)) return value.map(scalarText).join(",");
  if (isPlainObject(value)) {
    const pairs = entries(value);
    return explode
      ? pairs.map(([k, v]) => `${k}=${scalarText(v)}`).join(",")
      : pairs.flatMap(([k, v]) => [k, scalarText(v)]).join(",");
  }
  return scalarText(value);
}

/** A cookie parameter (`form` style) as `name=value` pairs; values percent-encoded to stay cookie-octets. */
export function serializeCookie(name: string, value: unknown, explode: boolean): string[] {
  const e = encodeStrict;
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) {
    const items = value.map((v) => e(scalarText(v)));
    return explode ? items.map((v) => `${name}=${v}`) : [`${name}=${items.join(",")}`];
  }
  if (isPlainObject(value)) {
    const pairs = entries(value);
    return explode
      ? pairs.map(([k, v]) => `${e(k)}=${e(scalarText(v))}`)
      : [`${name}=${pairs.flatMap(([k, v]) => [e(k), e(scalarText(v))]).join(",")}`];
  }
  return [`${name}=${e(scalarText(value))}`];
}

/**
 * Header/cookie text must not smuggle a second header or end the request early.
 * Returns the reason when it would, else undefined.
 */
export function headerValueProblem(value: string): string | undefined {
  if (/[\r\n\0]/.test(value)) return "must not contain CR, LF or NUL characters";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: exactly what this check is for
  if (/[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(value)) return "must not contain control characters";
  if (hasLoneSurrogate(value)) return UNPAIRED_SURROGATE;
  return undefined;
}
