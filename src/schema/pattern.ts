/**
 * JSON Schema `pattern`s (ECMAScript regular expressions from specs) run on
 * RE2 (`re2js`), whose matching time is linear in the input: a spec's
 * `^(a+)+$` must not let one caller burn an isolate's CPU.
 *
 * A pattern is parsed as ECMAScript — with the `u` flag when it is valid there,
 * else with the legacy (Annex B) grammar many specs are written for
 * (`[\w\-\:]`) — and re-emitted in RE2 syntax with the same meaning:
 * - `.` → `[^\n\r\u2028\u2029]` (RE2's `.` only excludes `\n`);
 * - `\s`/`\S` → ECMAScript's whitespace set (RE2's `\s` is ASCII and lacks `\v`);
 * - every literal and identity escape (`\-`, `\:`, `\/`) → `\x{…}` (RE2 reads `\a`,
 *   `[[:alpha:]]`, `\Q` differently), `\uXXXX`/`\u{…}`/`\cX`/legacy octal → code points;
 * - `[]` / `[^]` → never / any character; groups → non-capturing;
 * - `\p{…}`: General_Category values (short or long names) and `Script=`.
 * `$`, `^`, `\b`, `\d`, `\w` and the quantifiers already agree (no flags: RE2's `$`
 * is end of text, like ECMAScript's without `m`).
 *
 * What RE2 cannot express is refused with a reason (the compiler drops the
 * constraint with a warning; the validator never runs it natively): look-ahead,
 * look-behind, back-references, counted repeats above 1,000, `\p{…}` properties
 * RE2 lacks or defines differently, and legacy-only patterns with characters
 * outside the BMP (they count UTF-16 halves there; RE2 counts code points).
 * One difference remains for legacy-only patterns: RE2 reads a character outside the
 * BMP in the input as one character where `RegExp` without `u` reads two halves.
 *
 * @module
 */
import { RE2JS } from "re2js";
import { memoized } from "../memo.ts";

/** RE2's limit on `{n,m}` counts. */
const MAX_REPEAT = 1000;
/** Group nesting a spec pattern may use (RE2 allows 1,000; real patterns use a handful). */
const MAX_NESTING = 100;
const MAX_CODE_POINT = 0x10ffff;

/** ECMAScript WhiteSpace and LineTerminator: what `\s` matches. */
const WHITESPACE: readonly (readonly [number, number])[] = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];

/** General_Category long names → the short names RE2 knows (`C`/`Cn` differ in RE2: unassigned code points). */
const CATEGORY_ALIASES: Readonly<Record<string, string>> = {
  Letter: "L",
  Uppercase_Letter: "Lu",
  Lowercase_Letter: "Ll",
  Titlecase_Letter: "Lt",
  Modifier_Letter: "Lm",
  Other_Letter: "Lo",
  Mark: "M",
  Combining_Mark: "M",
  Nonspacing_Mark: "Mn",
  Spacing_Mark: "Mc",
  Enclosing_Mark: "Me",
  Number: "N",
  Decimal_Number: "Nd",
  digit: "Nd",
  Letter_Number: "Nl",
  Other_Number: "No",
  Punctuation: "P",
  punct: "P",
  Connector_Punctuation: "Pc",
  Dash_Punctuation: "Pd",
  Open_Punctuation: "Ps",
  Close_Punctuation: "Pe",
  Initial_Punctuation: "Pi",
  Final_Punctuation: "Pf",
  Other_Punctuation: "Po",
  Symbol: "S",
  Math_Symbol: "Sm",
  Currency_Symbol: "Sc",
  Modifier_Symbol: "Sk",
  Other_Symbol: "So",
  Separator: "Z",
  Space_Separator: "Zs",
  Line_Separator: "Zl",
  Paragraph_Separator: "Zp",
  Control: "Cc",
  cntrl: "Cc",
  Format: "Cf",
  Surrogate: "Cs",
  Private_Use: "Co",
};
const CATEGORIES = new Set(Object.values(CATEGORY_ALIASES));

/** One parsed pattern (captures are irrelevant to `pattern`: groups do not keep them). */
export type PatternNode =
  | { kind: "alt"; alternatives: PatternNode[] }
  | { kind: "seq"; items: PatternNode[] }
  | { kind: "repeat"; body: PatternNode; min: number; max: number }
  | { kind: "set"; negated: boolean; items: SetItem[] }
  | { kind: "char"; cp: number }
  | { kind: "assert"; what: "^" | "$" | "b" | "B" };

/** A class member: a code point range, a class escape (`\d`, `\s`…) or a Unicode property. */
export type SetItem =
  | { kind: "range"; from: number; to: number }
  | { kind: "escape"; letter: "d" | "D" | "w" | "W" | "s" | "S" }
  | { kind: "property"; name: string; negated: boolean };

/** The pattern cannot run on RE2 (or is not a valid ECMAScript regex at all). */
export class PatternError extends Error {
  override readonly name = "PatternError";
}

export interface ParsedPattern {
  ast: PatternNode;
  /** `true` when the pattern is only valid without the `u` flag. */
  legacy: boolean;
}

/** Parses an ECMAScript `pattern`; throws {@link PatternError} for invalid or RE2-inexpressible ones. */
export function parsePattern(source: string): ParsedPattern {
  let legacy = false;
  if (!compilesNatively(source, "u")) {
    if (!compilesNatively(source, "")) throw new PatternError("is not a valid ECMAScript regular expression");
    legacy = true;
  }
  return { ast: new Parser(source, legacy).parse(), legacy };
}

/** Only parses (V8 compiles the matcher lazily, on first use): nothing is ever matched natively. */
function compilesNatively(source: string, flags: string): boolean {
  try {
    new RegExp(source, flags);
    return true;
  } catch {
    return false;
  }
}

/** The RE2 form of an ECMAScript `pattern`; throws {@link PatternError} when RE2 cannot express it. */
function toRe2(source: string): string {
  return emit(parsePattern(source).ast);
}

/** A compiled pattern, or why the pattern cannot run (it then constrains nothing). */
export type CompiledPattern = { ok: true; re: RE2JS } | { ok: false; reason: string };

const compiled = new Map<string, CompiledPattern>();
/** Patterns come from specs; keep the per-isolate cache from growing without bound across many vendors. */
const MAX_CACHED_PATTERNS = 2048;

/** Translates and compiles once per isolate; never throws. */
export function compilePattern(source: string): CompiledPattern {
  if (compiled.size >= MAX_CACHED_PATTERNS && !compiled.has(source)) compiled.clear();
  return memoized(compiled, source, compileUncached);
}

function compileUncached(source: string): CompiledPattern {
  let translated: string;
  try {
    translated = toRe2(source);
  } catch (error) {
    if (error instanceof PatternError) return { ok: false, reason: error.message };
    throw error;
  }
  try {
    return { ok: true, re: RE2JS.compile(translated) };
  } catch (error) {
    return { ok: false, reason: `cannot run in linear time: RE2 rejects it (${(error as Error).message})` };
  }
}

// Sticky tokens, each a bounded or single-class run: linear in the pattern.
const QUANTIFIER = /\{(\d+)(?:(,)(\d*))?\}/y;
const DIGITS = /\d+/y;
const HEX2 = /[0-9a-fA-F]{2}/y;
const HEX4 = /[0-9a-fA-F]{4}/y;
const LOW_SURROGATE_ESCAPE = /\\u([dD][c-fC-F][0-9a-fA-F]{2})/y;
const LEGACY_OCTAL = /[0-3][0-7]{0,2}|[4-7][0-7]?/y;

class Parser {
  readonly #src: string;
  readonly #unicode: boolean;
  #pos = 0;
  #depth = 0;
  readonly #groups: number;
  readonly #named: boolean;

  constructor(source: string, legacy: boolean) {
    this.#src = source;
    this.#unicode = !legacy;
    const counted = countGroups(source);
    this.#groups = counted.groups;
    this.#named = counted.named;
    if (legacy && /[\ud800-\udfff]|\\u[dD][89a-fA-F]/.test(source)) {
      throw new PatternError(
        "cannot run in linear time as written: without the u flag it counts characters outside the BMP as two",
      );
    }
  }

  parse(): PatternNode {
    const node = this.#disjunction();
    if (this.#pos < this.#src.length) throw new PatternError(`unexpected "${this.#src[this.#pos]}"`);
    return node;
  }

  #peek(offset = 0): string | undefined {
    return this.#src[this.#pos + offset];
  }

  /** Matches a sticky regex at the current position (a bounded token, so no scan of the rest). */
  #match(re: RegExp): RegExpExecArray | null {
    re.lastIndex = this.#pos;
    const m = re.exec(this.#src);
    if (m) this.#pos += m[0].length;
    return m;
  }

  #eat(text: string): boolean {
    if (!this.#src.startsWith(text, this.#pos)) return false;
    this.#pos += text.length;
    return true;
  }

  #disjunction(): PatternNode {
    const alternatives = [this.#sequence()];
    while (this.#eat("|")) alternatives.push(this.#sequence());
    return alternatives.length === 1 ? alternatives[0]! : { kind: "alt", alternatives };
  }

  #sequence(): PatternNode {
    const items: PatternNode[] = [];
    for (let c = this.#peek(); c !== undefined && c !== "|" && c !== ")"; c = this.#peek()) {
      const atom = this.#term();
      items.push(this.#quantified(atom));
    }
    return items.length === 1 ? items[0]! : { kind: "seq", items };
  }

  #term(): PatternNode {
    const c = this.#peek()!;
    if (c === "^" || c === "$") {
      this.#pos++;
      return { kind: "assert", what: c };
    }
    if (c === "(") return this.#group();
    if (c === ".") {
      this.#pos++;
      return { kind: "set", negated: true, items: [0x0a, 0x0d, 0x2028, 0x2029].map(single) };
    }
    if (c === "[") return this.#class();
    if (c === "\\") {
      const next = this.#peek(1);
      if (next === "b" || next === "B") {
        this.#pos += 2;
        return { kind: "assert", what: next };
      }
      this.#pos++;
      return this.#atomEscape();
    }
    return { kind: "char", cp: this.#literal() };
  }

  #literal(): number {
    const cp = this.#src.codePointAt(this.#pos)!;
    this.#pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  #group(): PatternNode {
    this.#pos++;
    if (this.#eat("?")) {
      if (this.#eat("=") || this.#eat("!"))
        throw new PatternError("cannot run in linear time: RE2 has no look-ahead");
      if (this.#eat("<=") || this.#eat("<!"))
        throw new PatternError("cannot run in linear time: RE2 has no look-behind");
      if (this.#eat("<")) {
        const end = this.#src.indexOf(">", this.#pos);
        this.#pos = end + 1;
      } else if (!this.#eat(":")) {
        throw new PatternError("cannot run in linear time: RE2 does not read this group syntax");
      }
    }
    if (++this.#depth > MAX_NESTING) throw new PatternError(`nests groups deeper than ${MAX_NESTING} levels`);
    const body = this.#disjunction();
    this.#depth--;
    if (!this.#eat(")")) throw new PatternError("has an unterminated group");
    return body;
  }

  #quantified(atom: PatternNode): PatternNode {
    let min: number;
    let max: number;
    const c = this.#peek();
    if (c === "*" || c === "+" || c === "?") {
      this.#pos++;
      min = c === "+" ? 1 : 0;
      max = c === "?" ? 1 : Number.POSITIVE_INFINITY;
    } else if (c === "{") {
      const m = this.#match(QUANTIFIER);
      if (!m) return atom; // legacy: a `{` that starts no quantifier is a literal (the next term)
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === "" ? Number.POSITIVE_INFINITY : Number(m[3]);
      if (min > MAX_REPEAT || (max !== Number.POSITIVE_INFINITY && max > MAX_REPEAT)) {
        throw new PatternError(`cannot run in linear time: RE2 counts repeats only up to ${MAX_REPEAT}`);
      }
    } else {
      return atom;
    }
    this.#eat("?"); // lazy or greedy: the same strings match
    return { kind: "repeat", body: atom, min, max };
  }

  #atomEscape(): PatternNode {
    const c = this.#peek();
    if (c === undefined) throw new PatternError("ends with a lone backslash");
    if (c >= "1" && c <= "9") {
      DIGITS.lastIndex = this.#pos;
      const digits = DIGITS.exec(this.#src)![0];
      if (this.#unicode || Number(digits) <= this.#groups)
        throw new PatternError("cannot run in linear time: RE2 has no back-references");
      if (c >= "8") {
        this.#pos++;
        return { kind: "char", cp: c.charCodeAt(0) };
      }
      return { kind: "char", cp: this.#legacyOctal() };
    }
    if (c === "k" && (this.#unicode || this.#named))
      throw new PatternError("cannot run in linear time: RE2 has no back-references");
    const item = this.#classEscape(false);
    if (item.kind === "range" && item.from === item.to) return { kind: "char", cp: item.from };
    return { kind: "set", negated: false, items: [item] };
  }

  /** One escape after `\` (inside or outside a class); the caller handled `\b`/`\B` and back-references outside. */
  #classEscape(inClass: boolean): SetItem {
    const c = this.#peek()!;
    this.#pos++;
    switch (c) {
      case "d":
      case "D":
      case "w":
      case "W":
      case "s":
      case "S":
        return { kind: "escape", letter: c };
      case "t":
        return single(0x09);
      case "n":
        return single(0x0a);
      case "v":
        return single(0x0b);
      case "f":
        return single(0x0c);
      case "r":
        return single(0x0d);
      case "b":
        return single(0x08); // only reached inside a class: backspace
      case "0":
        if (this.#unicode || !/[0-7]/.test(this.#peek() ?? "")) return single(0);
        this.#pos--;
        return single(this.#legacyOctal());
      case "c": {
        const letter = this.#peek() ?? "";
        if (/[a-zA-Z]/.test(letter) || (inClass && !this.#unicode && /[0-9_]/.test(letter))) {
          this.#pos++;
          return single(letter.charCodeAt(0) % 32);
        }
        this.#pos--; // legacy: `\c` is a backslash, then `c` is read as a literal
        return single(0x5c);
      }
      case "x": {
        const digits = this.#match(HEX2);
        return single(digits ? Number.parseInt(digits[0], 16) : 0x78);
      }
      case "u":
        return single(this.#unicodeEscape());
      case "p":
      case "P":
        if (!this.#unicode) return single(c.charCodeAt(0));
        return this.#property(c === "P");
      default:
        if (inClass && c >= "1" && c <= "9") {
          this.#pos--;
          if (c >= "8") {
            this.#pos++;
            return single(c.charCodeAt(0));
          }
          return single(this.#legacyOctal());
        }
        // Identity escape (`\-`, `\:`, `\/`, `\.`): the character itself.
        this.#pos--;
        return single(this.#literal());
    }
  }

  /** `\uXXXX`, a surrogate pair of them, or `\u{…}` (u flag); legacy `\u` without four hex digits is `u`. */
  #unicodeEscape(): number {
    if (this.#unicode && this.#peek() === "{") {
      const end = this.#src.indexOf("}", this.#pos);
      const cp = Number.parseInt(this.#src.slice(this.#pos + 1, end), 16);
      this.#pos = end + 1;
      return cp;
    }
    const digits = this.#match(HEX4);
    if (!digits) return 0x75;
    const cp = Number.parseInt(digits[0], 16);
    if (this.#unicode && cp >= 0xd800 && cp <= 0xdbff) {
      const low = this.#match(LOW_SURROGATE_ESCAPE);
      if (low) {
        return 0x10000 + ((cp - 0xd800) << 10) + (Number.parseInt(low[1]!, 16) - 0xdc00);
      }
    }
    return cp;
  }

  /** Annex B octal escape: up to three octal digits, at most `\377`. */
  #legacyOctal(): number {
    return Number.parseInt(this.#match(LEGACY_OCTAL)![0], 8);
  }

  #property(negated: boolean): SetItem {
    const end = this.#src.indexOf("}", this.#pos);
    const body = this.#src.slice(this.#pos + 1, end);
    this.#pos = end + 1;
    const [key, value] = body.includes("=") ? body.split("=") : [undefined, body];
    let name: string | undefined;
    if (key === "Script" || key === "sc") name = value;
    else if (key === undefined || key === "General_Category" || key === "gc") {
      const short = CATEGORY_ALIASES[value!] ?? value!;
      if (CATEGORIES.has(short)) name = short;
      else if (key === undefined && value === "Any") name = "Any";
      else if (key === undefined && value === "ASCII") {
        return negated
          ? { kind: "property", name: "ASCII", negated: true }
          : { kind: "range", from: 0, to: 0x7f };
      }
    }
    if (name === undefined) throw new PatternError(`cannot run in linear time: RE2 has no \\p{${body}}`);
    return { kind: "property", name, negated };
  }

  #class(): PatternNode {
    this.#pos++;
    const negated = this.#eat("^");
    const items: SetItem[] = [];
    while (this.#peek() !== "]") {
      if (this.#peek() === undefined) throw new PatternError("has an unterminated character class");
      const first = this.#classAtom();
      if (this.#peek() === "-" && this.#peek(1) !== "]" && this.#peek(1) !== undefined) {
        this.#pos++;
        const second = this.#classAtom();
        if (first.kind === "range" && second.kind === "range") {
          items.push({ kind: "range", from: first.from, to: second.to });
        } else {
          // Legacy: a class escape at either end makes the `-` a literal.
          items.push(first, single(0x2d), second);
        }
        continue;
      }
      items.push(first);
    }
    this.#pos++;
    return { kind: "set", negated, items };
  }

  #classAtom(): SetItem {
    if (this.#eat("\\")) return this.#classEscape(true);
    return single(this.#literal());
  }
}

function single(cp: number): SetItem {
  return { kind: "range", from: cp, to: cp };
}

/** Capture groups (for legacy `\N`: a back-reference only up to the group count) and whether any is named. */
function countGroups(source: string): { groups: number; named: boolean } {
  let groups = 0;
  let named = false;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") i++;
    else if (inClass) inClass = c !== "]";
    else if (c === "[") inClass = true;
    else if (c === "(") {
      if (source[i + 1] !== "?") groups++;
      else if (source[i + 2] === "<" && source[i + 3] !== "=" && source[i + 3] !== "!") {
        groups++;
        named = true;
      }
    }
  }
  return { groups, named };
}

/** ASCII letters and digits as themselves, everything else as `\x{…}` (no RE2 escape rule can bite). */
function hex(cp: number): string {
  const alnum = (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  return alnum ? String.fromCharCode(cp) : `\\x{${cp.toString(16)}}`;
}

function emitRanges(ranges: readonly (readonly [number, number])[]): string {
  return ranges.map(([from, to]) => (from === to ? hex(from) : `${hex(from)}-${hex(to)}`)).join("");
}

/** Code points outside the given sorted, disjoint ranges. */
function complement(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = [];
  let next = 0;
  for (const [from, to] of ranges) {
    if (from > next) out.push([next, from - 1]);
    next = to + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

function emitItem(item: SetItem): string {
  switch (item.kind) {
    case "range":
      return emitRanges([[item.from, item.to]]);
    case "escape":
      if (item.letter === "s") return emitRanges(WHITESPACE);
      if (item.letter === "S") return emitRanges(complement(WHITESPACE));
      return `\\${item.letter}`;
    case "property":
      if (item.name === "ASCII") return emitRanges([[0x80, MAX_CODE_POINT]]);
      return `\\${item.negated ? "P" : "p"}{${item.name}}`;
  }
}

/** RE2 syntax for a parsed pattern. */
export function emit(node: PatternNode): string {
  switch (node.kind) {
    case "alt":
      return node.alternatives.map(emit).join("|");
    case "seq":
      return node.items.map((item) => (item.kind === "alt" ? `(?:${emit(item)})` : emit(item))).join("");
    case "repeat": {
      const body = `(?:${emit(node.body)})`;
      if (node.max === Number.POSITIVE_INFINITY)
        return node.min === 0 ? `${body}*` : node.min === 1 ? `${body}+` : `${body}{${node.min},}`;
      return node.min === node.max ? `${body}{${node.min}}` : `${body}{${node.min},${node.max}}`;
    }
    case "set":
      if (node.items.length === 0) return node.negated ? `[\\x{0}-\\x{10ffff}]` : `[^\\x{0}-\\x{10ffff}]`;
      return `[${node.negated ? "^" : ""}${node.items.map(emitItem).join("")}]`;
    case "char":
      return hex(node.cp);
    case "assert":
      return node.what === "b" || node.what === "B" ? `\\${node.what}` : node.what;
  }
}
