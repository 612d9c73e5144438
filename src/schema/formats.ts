/**
 * `format` checks for tool arguments: the JSON Schema 2020-12 formats plus the
 * OpenAPI Format Registry (`int32`, `byte`, `binary`, …). All checks are plain
 * functions or regular expressions (no code generation, so they run in the Worker).
 *
 * A check returns `undefined` when the format does not apply to the value's type
 * (a numeric format on a string, say): JSON Schema says formats only constrain
 * values of the type they describe. Unknown formats are annotations and pass.
 *
 * Values are untrusted, so every check runs in time linear in the value. The regular
 * expressions below stay native because each is deterministic: at every point the next
 * character decides which branch continues (alternatives and loop exits start with
 * disjoint characters — e.g. `%` vs the other URI characters, `.` between email atoms —
 * or repeat fixed-width groups, as in base64), so a failing match never re-reads input
 * more than a constant number of times; the rest have bounded length (`{0,61}`) or run
 * after a length check. Anything that cannot be shown so is hand-written (`duration`).
 * test/worker/upstream/linear-regex.test.ts feeds every check hostile 200,000-character
 * strings.
 *
 * @module
 */

/** `true`: valid; `false`: invalid; `undefined`: the format does not constrain this type. */
export type FormatCheck = (value: unknown) => boolean | undefined;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(z|[+-]\d{2}:\d{2})$/i;
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const DURATION_WEEKS = /^P\d+W$/;
const HOSTNAME_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const IDN_LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}\p{M}-]{0,61}[\p{L}\p{N}\p{M}])?$/u;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6_HEX = /^[0-9a-f]{1,4}$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMAIL_LOCAL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/i;
const EMAIL_QUOTED_LOCAL = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;
const IDN_EMAIL_LOCAL = /^[^\s@".]+(?:\.[^\s@".]+)*$/u;
// RFC 3986 characters outside the generic syntax delimiters, minus the ones we check separately.
const URI_CHARS = /^(?:[a-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9a-f]{2})*$/i;
// RFC 3987 adds ucschar/iprivate: any non-ASCII code point except controls and whitespace.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range boundary, not a control-char match
const IRI_CHARS = /^(?:[a-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9a-f]{2}|[^\x00-\x7f\s\p{Cc}])*$/iu;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;
const URI_TEMPLATE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: controls are exactly what a template may not contain
  /^(?:(?:[^\x00-\x20\x7f"'%<>\\^`{|}]|%[0-9a-f]{2})|\{[+#./;?&=,!@|]?(?:[a-z0-9_]|%[0-9a-f]{2})+(?:\.(?:[a-z0-9_]|%[0-9a-f]{2})+)*(?::[1-9][0-9]{0,3}|\*)?(?:,(?:[a-z0-9_]|%[0-9a-f]{2})+(?:\.(?:[a-z0-9_]|%[0-9a-f]{2})+)*(?::[1-9][0-9]{0,3}|\*)?)*\})*$/iu;
const JSON_POINTER = /^(?:\/(?:[^~/]|~0|~1)*)*$/;
const JSON_POINTER_URI_FRAGMENT = /^#(?:\/(?:[a-z0-9_\-.!$&'()*+,;:=@]|%[0-9a-f]{2}|~0|~1)*)*$/i;
const RELATIVE_JSON_POINTER = /^(?:0|[1-9]\d*)(?:[+-](?:0|[1-9]\d*))?(?:#|(?:\/(?:[^~/]|~0|~1)*)*)$/;
const BASE64 = /^(?:[a-z0-9+/]{4})*(?:[a-z0-9+/]{2}==|[a-z0-9+/]{3}=)?$/i;
const BASE64URL = /^(?:[a-z0-9_-]{4})*(?:[a-z0-9_-]{2}(?:==)?|[a-z0-9_-]{3}=?)?$/i;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;
const HTTP_DATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const MEDIA_RANGE =
  /^(?:\*\/\*|[a-z0-9!#$&^_.+-]+\/(?:\*|[a-z0-9!#$&^_.+-]+))(?:\s*;\s*[a-z0-9!#$&^_.+-]+=(?:[a-z0-9!#$&^_.+-]+|"(?:[^"\\]|\\.)*"))*$/i;

/** Largest finite IEEE-754 single-precision value (`format: float`). */
const FLOAT32_MAX = 3.4028234663852886e38;

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function checkDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  const max = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month] ?? 0);
  return day <= max;
}

function checkTime(s: string): boolean {
  const m = TIME.exec(s);
  if (!m) return false;
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  const second = Number(m[3]);
  const zone = m[4] ?? "z";
  let offsetMinutes = 0;
  if (zone.toLowerCase() !== "z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return false;
    offsetMinutes = sign * (oh * 60 + om);
  }
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (second === 60) {
    // A leap second is only valid at 23:59:60 UTC.
    const utcMinutes = (((hour * 60 + minute - offsetMinutes) % 1440) + 1440) % 1440;
    return utcMinutes === 23 * 60 + 59;
  }
  return true;
}

function checkDateTime(s: string): boolean {
  const t = s.search(/[tT ]/);
  if (t !== 10) return false;
  return checkDate(s.slice(0, 10)) && checkTime(s.slice(11));
}

function skipDigits(s: string, from: number): number {
  let i = from;
  while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
  return i;
}

/**
 * RFC 3339 appendix A durations: `P` then weeks alone, or years, months, days and `T`
 * hours, minutes, seconds, each optional but in order, at least one, `T` only before a
 * time part; only seconds take a fraction. One pass, where the equivalent regex would
 * try its optional groups in up to 2^7 ways.
 */
function checkDuration(s: string): boolean {
  if (DURATION_WEEKS.test(s)) return true;
  if (s[0] !== "P") return false;
  let units = "YMD";
  let next = 0;
  let inTime = false;
  let components = 0;
  let i = 1;
  while (i < s.length) {
    if (s[i] === "T") {
      if (inTime) return false;
      inTime = true;
      units = "HMS";
      next = 0;
      components = 0;
      i++;
      continue;
    }
    const end = skipDigits(s, i);
    if (end === i || end === s.length) return false;
    i = end;
    let fraction = false;
    if (s[i] === "." || s[i] === ",") {
      const after = skipDigits(s, i + 1);
      if (after === i + 1 || after === s.length) return false;
      i = after;
      fraction = true;
    }
    const unit = units.indexOf(s[i]!, next);
    if (unit === -1 || (fraction && !(inTime && unit === 2))) return false;
    next = unit + 1;
    components++;
    i++;
  }
  // Without `T`, at least one date part; with it, at least one time part after it.
  return components > 0;
}

function checkHostname(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  return s.split(".").every((label) => HOSTNAME_LABEL.test(label));
}

function checkIdnHostname(s: string): boolean {
  // U+3002 and friends are label separators in IDNA.
  const labels = s.split(/[.\u3002\uff0e\uff61]/);
  if (s.length === 0 || s.length > 253) return false;
  return labels.every((label) => {
    if (label.length === 0 || label.length > 63) return false;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII range check
    if (/^[\x00-\x7f]*$/.test(label)) return HOSTNAME_LABEL.test(label);
    // Hyphens in positions 3 and 4 are reserved for A-labels (`xn--`).
    return IDN_LABEL.test(label) && label.slice(2, 4) !== "--";
  });
}

function checkIpv6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  let head = s;
  let groupsNeeded = 8;
  // An embedded IPv4 tail counts as two groups.
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".")) {
    if (!IPV4.test(s.slice(lastColon + 1))) return false;
    head = s.slice(0, lastColon + 1);
    // Keep a trailing `::` (it is the compression); drop a lone separator colon.
    if (!head.endsWith("::")) head = head.slice(0, -1);
    groupsNeeded = 6;
  }
  const parts = head.split("::");
  if (parts.length > 2) return false;
  const groups = (part: string | undefined): string[] | undefined => {
    if (part === undefined || part === "") return [];
    const g = part.split(":");
    return g.every((x) => IPV6_HEX.test(x)) ? g : undefined;
  };
  const left = groups(parts[0]);
  const right = groups(parts[1]);
  if (!left || !right) return false;
  if (parts.length === 1) return left.length === groupsNeeded;
  return left.length + right.length < groupsNeeded;
}

function checkEmail(s: string): boolean {
  const at = s.lastIndexOf("@");
  if (at < 1) return false;
  const local = s.slice(0, at);
  const domain = s.slice(at + 1);
  if (local.length > 64) return false;
  if (!EMAIL_LOCAL.test(local) && !EMAIL_QUOTED_LOCAL.test(local)) return false;
  if (domain.startsWith("[") && domain.endsWith("]")) {
    const literal = domain.slice(1, -1);
    return /^ipv6:/i.test(literal) ? checkIpv6(literal.slice(5)) : IPV4.test(literal);
  }
  return checkHostname(domain);
}

function checkIdnEmail(s: string): boolean {
  const at = s.lastIndexOf("@");
  if (at < 1) return false;
  const local = s.slice(0, at);
  return (IDN_EMAIL_LOCAL.test(local) || EMAIL_QUOTED_LOCAL.test(local)) && checkIdnHostname(s.slice(at + 1));
}

/** Percent signs must introduce two hex digits; a `[` may only appear in an authority's IP literal. */
function wellFormedReference(s: string, chars: RegExp): boolean {
  if (!chars.test(s)) return false;
  const hash = s.indexOf("#");
  // `#` may appear once; `[`/`]` only inside `//host` as an IP literal.
  if (hash !== -1 && s.indexOf("#", hash + 1) !== -1) return false;
  const afterScheme = s.replace(SCHEME, "");
  if (/[[\]]/.test(afterScheme)) {
    const m = /^\/\/(?:[^@/?#]*@)?\[([^\]]+)\](?::\d*)?(?:[/?#]|$)/.exec(afterScheme);
    if (!m?.[1]) return false;
    const literal = m[1];
    if (!checkIpv6(literal) && !/^v[0-9a-f]+\.[\w\-.~!$&'()*+,;=:]+$/i.test(literal)) return false;
    if (/[[\]]/.test(afterScheme.slice(m[0].length))) return false;
  }
  const authority = /^\/\/([^/?#]*)/.exec(afterScheme)?.[1];
  if (authority !== undefined) {
    const port = /:([^\]:]*)$/.exec(authority.replace(/\[[^\]]*\]/, ""))?.[1];
    if (port !== undefined && !/^\d*$/.test(port)) return false;
  }
  return true;
}

function checkUri(s: string): boolean {
  return SCHEME.test(s) && wellFormedReference(s, URI_CHARS);
}

function checkUriReference(s: string): boolean {
  return wellFormedReference(s, URI_CHARS);
}

function checkIri(s: string): boolean {
  return SCHEME.test(s) && wellFormedReference(s, IRI_CHARS);
}

function checkIriReference(s: string): boolean {
  return wellFormedReference(s, IRI_CHARS);
}

function checkUrl(s: string): boolean {
  return SCHEME.test(s) && URL.canParse(s);
}

function checkRegex(s: string): boolean {
  try {
    new RegExp(s, "u");
    return true;
  } catch {
    return false;
  }
}

function checkHttpDate(s: string): boolean {
  return HTTP_DATE.test(s) && !Number.isNaN(Date.parse(s));
}

/** Wraps a string predicate: non-strings are not constrained. */
function str(check: (s: string) => boolean): FormatCheck {
  return (v) => (typeof v === "string" ? check(v) : undefined);
}

/** Integer range check; also applies to integer strings (`type: string, format: int64` is common). */
function int(min: bigint, max: bigint): FormatCheck {
  return (v) => {
    if (typeof v === "number") {
      return Number.isInteger(v) && v >= Number(min) && v <= Number(max);
    }
    if (typeof v === "string") {
      if (!/^[+-]?\d{1,40}$/.test(v)) return false;
      const n = BigInt(v);
      return n >= min && n <= max;
    }
    return undefined;
  };
}

function float(max: number): FormatCheck {
  return (v) => {
    if (typeof v === "number") return Number.isFinite(v) && Math.abs(v) <= max;
    if (typeof v === "string") return DECIMAL.test(v) && Math.abs(Number(v)) <= max;
    return undefined;
  };
}

const anyString: FormatCheck = str(() => true);

/**
 * Every format the gateway checks. Keys are format names as they appear in specs.
 * `binary`, `password`, `commonmark` and `html` accept any string: they describe
 * how to treat the value, not its shape.
 */
export const FORMATS: Readonly<Record<string, FormatCheck>> = {
  date: str(checkDate),
  "date-time": str(checkDateTime),
  time: str(checkTime),
  duration: str(checkDuration),
  email: str(checkEmail),
  "idn-email": str(checkIdnEmail),
  uuid: str((s) => UUID.test(s)),
  uri: str(checkUri),
  "uri-reference": str(checkUriReference),
  iri: str(checkIri),
  "iri-reference": str(checkIriReference),
  url: str(checkUrl),
  "uri-template": str((s) => URI_TEMPLATE.test(s)),
  hostname: str(checkHostname),
  "idn-hostname": str(checkIdnHostname),
  ipv4: str((s) => IPV4.test(s)),
  ipv6: str(checkIpv6),
  byte: str((s) => BASE64.test(s)),
  base64url: str((s) => BASE64URL.test(s)),
  binary: anyString,
  password: anyString,
  commonmark: anyString,
  html: anyString,
  char: str((s) => s.length === 1 || (s.length === 2 && /^[\ud800-\udbff][\udc00-\udfff]$/.test(s))),
  regex: str(checkRegex),
  "json-pointer": str((s) => JSON_POINTER.test(s)),
  "json-pointer-uri-fragment": str((s) => JSON_POINTER_URI_FRAGMENT.test(s)),
  "relative-json-pointer": str((s) => RELATIVE_JSON_POINTER.test(s)),
  "http-date": str(checkHttpDate),
  "media-range": str((s) => MEDIA_RANGE.test(s)),
  int8: int(-128n, 127n),
  int16: int(-32768n, 32767n),
  int32: int(-2147483648n, 2147483647n),
  int64: int(-9223372036854775808n, 9223372036854775807n),
  uint8: int(0n, 255n),
  uint16: int(0n, 65535n),
  uint32: int(0n, 4294967295n),
  uint64: int(0n, 18446744073709551615n),
  float: float(FLOAT32_MAX),
  double: float(Number.MAX_VALUE),
  decimal: (v) =>
    typeof v === "number" ? Number.isFinite(v) : typeof v === "string" ? DECIMAL.test(v) : undefined,
};
