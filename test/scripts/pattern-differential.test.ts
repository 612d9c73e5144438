/**
 * Differential test of the ECMAScript → RE2 pattern translation (src/schema/pattern.ts):
 * every pattern of GitHub's REST spec (@octokit/openapi) and of @readme/oas-examples,
 * plus patterns chosen to exercise each syntax difference, must accept exactly the
 * strings native `RegExp` accepts. Samples per pattern: strings generated from the
 * pattern itself (so most of them match) and mutations of them (so many do not), all
 * short enough that native backtracking finishes.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import YAML from "yaml";
import {
  compilePattern,
  PatternError,
  type PatternNode,
  parsePattern,
  type SetItem,
} from "../../src/schema/pattern.ts";
import { REPO_ROOT } from "./compiler/helpers.ts";

/** Each syntax difference between ECMAScript and RE2 the translation handles. */
const CHOSEN = [
  "^[a-zA-Z0-9_\\-\\:]+$", // DigitalOcean: identity escapes valid only without the u flag
  "^{[a-z]+}$", // legacy literal braces
  "a{,2}b{",
  "^[\\d-z]+$", // legacy: a class escape makes `-` literal
  "^\\s*$",
  "^\\S+$",
  "^[^\\s\\d]+$",
  "a.c",
  "^.*$",
  "^[^]$",
  "^[]$",
  "\\bfoo\\b|\\Bbar",
  "^\\w+@\\w+\\.com$",
  "^\\p{L}+$",
  "^\\p{Lu}\\p{Ll}*$",
  "^\\p{Letter}[\\p{N}\\-]*$",
  "^\\p{Script=Greek}+$",
  "^\\P{L}+$",
  "^\\u{1F600}+$",
  "^\\uD83D\\uDE00$",
  "^\\u00e9\\x41$",
  "^[\\u4e00-\\u9fa5]+$",
  "^a{2,4}$",
  "^(?:ab|cd){1,3}$",
  "^(a|b)*c$",
  "x\\/y\\.z\\-w",
  "^\\cJ[\\b]\\0$",
  "\\1a", // legacy: octal \1 (there is no group)
  "[\\8]",
  "^\\$\\d+(\\.\\d\\d)?$",
  "^\\v\\f\\t$",
  "^[^\\n]*$",
  "$^",
  "^$",
  "",
  "^(?<year>\\d{4})-\\d{2}$",
  "^a+?b*?$",
  "^[\\w.-]+(?:\\.[\\w-]+)*$",
  "^\\p{ASCII}+$",
  "[\\s\\S]",
  "^[[]]$",
];

interface Found {
  pattern: string;
  source: string;
}

function collect(node: unknown, source: string, out: Found[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, source, out);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === "pattern" && typeof value === "string") out.push({ pattern: value, source });
    if (key === "patternProperties" && typeof value === "object" && value !== null) {
      for (const p of Object.keys(value)) out.push({ pattern: p, source });
    }
    collect(value, source, out);
  }
}

async function corpus(): Promise<{ github: Found[]; readme: Found[] }> {
  const github: Found[] = [];
  const gh = join(REPO_ROOT, "node_modules", "@octokit", "openapi", "generated", "api.github.com.deref.json");
  collect(JSON.parse(await readFile(gh, "utf8")), "github", github);
  const readme: Found[] = [];
  const root = join(REPO_ROOT, "node_modules", "@readme", "oas-examples");
  for (const version of ["2.0", "3.0", "3.1"]) {
    for (const name of await readdir(join(root, version), { recursive: true })) {
      if (!/\.(json|ya?ml)$/.test(name)) continue;
      const text = await readFile(join(root, version, name), "utf8");
      let doc: unknown;
      try {
        doc = name.endsWith(".json") ? JSON.parse(text) : YAML.parse(text);
      } catch {
        continue; // the corpus has deliberately broken documents
      }
      collect(doc, `oas-examples/${version}/${name}`, readme);
    }
  }
  return { github, readme };
}

/** Deterministic PRNG (mulberry32): the same samples on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Characters that probe every difference: whitespace ECMAScript has and RE2 lacks, line terminators, astral. */
const POOL = [
  ..."aAzZ09_-:./ !@#$%&*+=?{}[]()|\\^~,;'\"<>`é\u00e9ß",
  "\t",
  "\n",
  "\r",
  "\u000b",
  "\u000c",
  "\u00a0",
  "\u1680",
  "\u2000",
  "\u2028",
  "\u2029",
  "\u202f",
  "\u3000",
  "\ufeff",
  "\u0000",
  "\u0008",
  "α",
  "Ω",
  "中",
  "٣",
  "😀",
  "\u{1F600}",
].map((c) => c.codePointAt(0)!);

const WHITESPACE_RE = /\s/u;

function escapeHas(letter: string, cp: number): boolean {
  const c = String.fromCodePoint(cp);
  switch (letter) {
    case "d":
      return cp >= 0x30 && cp <= 0x39;
    case "w":
      return /[A-Za-z0-9_]/.test(c) && cp < 0x80;
    case "s":
      return WHITESPACE_RE.test(c);
    default:
      return !escapeHas(letter.toLowerCase(), cp);
  }
}

function itemHas(item: SetItem, cp: number): boolean {
  if (item.kind === "range") return cp >= item.from && cp <= item.to;
  if (item.kind === "escape") return escapeHas(item.letter, cp);
  const c = String.fromCodePoint(cp);
  const re =
    item.name === "ASCII" || item.name === "Any" || item.name.length <= 2
      ? new RegExp(`\\p{${item.name}}`, "u")
      : new RegExp(`\\p{Script=${item.name}}`, "u");
  return re.test(c) !== item.negated;
}

function setHas(node: Extract<PatternNode, { kind: "set" }>, cp: number): boolean {
  return node.items.some((item) => itemHas(item, cp)) !== node.negated;
}

function generate(node: PatternNode, random: () => number, pool: number[]): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  switch (node.kind) {
    case "char":
      return String.fromCodePoint(node.cp);
    case "assert":
      return "";
    case "alt":
      return generate(pick(node.alternatives), random, pool);
    case "seq":
      return node.items.map((item) => generate(item, random, pool)).join("");
    case "repeat": {
      const max = Math.min(node.max, node.min + 3);
      const count = node.min + Math.floor(random() * (max - node.min + 1));
      let s = "";
      for (let i = 0; i < count; i++) s += generate(node.body, random, pool);
      return s;
    }
    case "set": {
      const candidates = [...pool];
      for (const item of node.items) if (item.kind === "range") candidates.push(item.from, item.to);
      const members = candidates.filter((cp) => setHas(node, cp));
      return members.length > 0 ? String.fromCodePoint(pick(members)) : "";
    }
  }
}

function literals(node: PatternNode, out: Set<number>): void {
  if (node.kind === "char") out.add(node.cp);
  else if (node.kind === "alt") for (const a of node.alternatives) literals(a, out);
  else if (node.kind === "seq") for (const a of node.items) literals(a, out);
  else if (node.kind === "repeat") literals(node.body, out);
}

function samples(node: PatternNode, seed: number): string[] {
  const random = prng(seed);
  const extra = new Set<number>();
  literals(node, extra);
  const pool = [...POOL, ...extra];
  const out = new Set<string>(["", " ", "\n", "a", "😀"]);
  for (let i = 0; i < 40; i++) {
    const s = generate(node, random, pool);
    out.add(s);
    const chars = [...s];
    const at = Math.floor(random() * (chars.length + 1));
    const c = String.fromCodePoint(pool[Math.floor(random() * pool.length)]!);
    out.add([...chars.slice(0, at), c, ...chars.slice(at)].join("")); // insert
    out.add([...chars.slice(0, at), ...chars.slice(at + 1)].join("")); // delete
    out.add([...chars.slice(0, at), c, ...chars.slice(at + 1)].join("")); // replace
    out.add(`${s}${c}`);
    out.add(`${c}${s}`);
    out.add(`${s}\n`);
  }
  return [...out];
}

it("every pattern of GitHub's spec and @readme/oas-examples keeps its meaning on RE2", async () => {
  const { github, readme } = await corpus();
  const chosen = CHOSEN.map((pattern) => ({ pattern, source: "chosen" }));
  const stats = {
    patterns: 0,
    translated: 0,
    inexpressible: [] as string[],
    invalid: [] as string[],
    samples: 0,
  };
  const disagreements: string[] = [];
  const distinct = new Map<string, string>();
  for (const f of [...github, ...readme, ...chosen])
    if (!distinct.has(f.pattern)) distinct.set(f.pattern, f.source);
  let seed = 1;
  for (const [pattern, source] of distinct) {
    stats.patterns++;
    let parsed: ReturnType<typeof parsePattern>;
    try {
      parsed = parsePattern(pattern);
    } catch (error) {
      if (!(error instanceof PatternError)) throw error;
      (error.message.startsWith("is not a valid") ? stats.invalid : stats.inexpressible).push(
        `${source}: /${pattern}/ ${error.message}`,
      );
      continue;
    }
    const compiled = compilePattern(pattern);
    if (!compiled.ok) {
      stats.inexpressible.push(`${source}: /${pattern}/ ${compiled.reason}`);
      continue;
    }
    stats.translated++;
    const native = new RegExp(pattern, parsed.legacy ? "" : "u");
    for (const s of samples(parsed.ast, seed++)) {
      stats.samples++;
      const expected = native.test(s);
      if (compiled.re.test(s) !== expected) {
        disagreements.push(`/${pattern}/ on ${JSON.stringify(s)}: RegExp ${expected}, RE2 ${!expected}`);
      }
    }
  }
  const count = (list: Found[]) => new Set(list.map((f) => f.pattern)).size;
  console.log(
    `patterns: GitHub ${count(github)} distinct, @readme/oas-examples ${count(readme)} distinct, chosen ${CHOSEN.length}; ` +
      `${stats.patterns} in all, ${stats.translated} translated to RE2, ${stats.inexpressible.length} RE2 cannot express, ` +
      `${stats.invalid.length} not valid ECMAScript; ${stats.samples} samples compared` +
      [...stats.inexpressible, ...stats.invalid].map((line) => `\n  ${line}`).join(""),
  );
  expect(disagreements).toEqual([]);
  // Every pattern of the two corpora runs on RE2 (none uses look-around or back-references).
  expect(stats.inexpressible).toEqual([]);
  expect(stats.invalid).toEqual([]);
  expect(count(github)).toBeGreaterThanOrEqual(15);
  expect(stats.samples).toBeGreaterThan(stats.patterns * 50);
});
