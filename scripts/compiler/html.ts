/**
 * HTML in spec text (Stripe's summaries and descriptions are `<p>…</p>`) → Markdown, at
 * compile time, so clients and models read text instead of markup.
 *
 * Spec text is untrusted: one forward scan, no regular expression that could backtrack,
 * every `indexOf` remembered so a text full of unclosed `<p` stays linear.
 *
 * - HTML comments are removed (a classic place to hide instructions), closed or not.
 * - Only known HTML tags are markup; `<id>` or `a < b` stay as written.
 * - Block tags (`p`, `div`, `ul`, `li`, `h1`–`h6`, `pre`, `table`, …) make the text an HTML
 *   document: whitespace collapses as a browser would, blocks become paragraph breaks,
 *   `li` becomes `- `. With inline tags only (`<a>`, `<br>`, `<code>`), the text is taken as
 *   Markdown with a little HTML and its line breaks are kept.
 * - `<a href="u">t</a>` → `[t](u)` (http(s), relative and `mailto:` links; others keep the text);
 *   `code` → `` `…` ``, `strong`/`b` → `**…**`, `em`/`i` → `*…*`, `br` → line break.
 * - Entities (`&amp;`, `&#39;`, `&#x2014;`, …) are decoded in text that had markup, except
 *   `<` and `>` (`&lt;`, `&#60;`, …): Markdown reads those entities too, and decoding them
 *   would turn escaped text into markup a client might render.
 *
 * @module
 */

const BLOCK_TAGS = new Set([
  "p",
  "div",
  "ul",
  "ol",
  "li",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "pre",
  "table",
  "thead",
  "tbody",
  "tr",
  "blockquote",
  "dl",
  "dt",
  "dd",
  "section",
  "hr",
]);
const INLINE_TAGS = new Set([
  "a",
  "br",
  "code",
  "strong",
  "b",
  "em",
  "i",
  "span",
  "small",
  "sup",
  "sub",
  "u",
  "abbr",
  "kbd",
  "var",
  "td",
  "th",
  "wbr",
]);
const NAMED_ENTITIES: Record<string, string> = {
  amp: "&",
  quot: '"',
  apos: "'",
  nbsp: " ",
  mdash: "—",
  ndash: "–",
  hellip: "…",
  rsquo: "’",
  lsquo: "‘",
  rdquo: "”",
  ldquo: "“",
  copy: "©",
  reg: "®",
  trade: "™",
};
/** Longest entity looked for (`&#x10FFFF;` is 10 characters). */
const ENTITY_MAX_CHARS = 10;

/** Removes `<!-- … -->` comments; an unclosed one hides everything after it, so it is cut too. */
export function stripHtmlComments(text: string): string {
  let start = text.indexOf("<!--");
  if (start < 0) return text;
  let out = "";
  let from = 0;
  while (start >= 0) {
    out += text.slice(from, start);
    const end = text.indexOf("-->", start + 4);
    if (end < 0) return out;
    from = end + 3;
    start = text.indexOf("<!--", from);
  }
  return out + text.slice(from);
}

interface Tag {
  name: string;
  closing: boolean;
  /** Index just past the tag's `>`. */
  end: number;
  attributes: string;
}

/** HTML in `text` → Markdown (see the module doc); text without known tags is returned as is. */
export function htmlToMarkdown(text: string): string {
  if (!text.includes("<")) return text;
  // Pass 1: is there markup, and is it a document (block tags) or inline HTML in Markdown?
  let gt = -2; // index of the next '>' at or after the scan position (-1: none left)
  const tagAt = (i: number): Tag | undefined => {
    let j = i + 1;
    const closing = text.charCodeAt(j) === 47; // '/'
    if (closing) j++;
    const nameStart = j;
    while (j < text.length && isAlnum(text.charCodeAt(j))) j++;
    if (j === nameStart || !isLetter(text.charCodeAt(nameStart))) return undefined;
    const name = text.slice(nameStart, j).toLowerCase();
    if (!BLOCK_TAGS.has(name) && !INLINE_TAGS.has(name)) return undefined;
    const next = text.charCodeAt(j);
    if (j < text.length && next !== 62 && next !== 47 && !isSpace(next)) return undefined; // `<pre-x>`
    if (gt !== -1 && gt < j) gt = text.indexOf(">", j);
    if (gt < 0) return undefined;
    return { name, closing, end: gt + 1, attributes: text.slice(j, gt) };
  };
  let block = false;
  let markup = false;
  for (let i = text.indexOf("<"); i >= 0 && !block; i = text.indexOf("<", i + 1)) {
    const tag = tagAt(i);
    if (tag === undefined) continue;
    markup = true;
    if (BLOCK_TAGS.has(tag.name)) block = true;
  }
  if (!markup) return text;

  // Pass 2: convert.
  gt = -2;
  const out: string[] = [];
  let pending = 0; // line breaks owed before the next text (0, 1 or 2)
  let atStart = true;
  let pre = 0;
  const links: (string | undefined)[] = [];
  const breakLines = (n: number) => {
    if (!atStart) pending = Math.max(pending, n);
  };
  const emit = (s: string) => {
    if (s === "") return;
    if (pending > 0) {
      if (out.length > 0 && pre === 0) out[out.length - 1] = out[out.length - 1]!.trimEnd();
      out.push(pending === 1 ? "\n" : "\n\n");
      pending = 0;
    }
    out.push(s);
    atStart = false;
  };
  const emitText = (raw: string) => {
    let s = decodeEntities(raw);
    if (block && pre === 0) {
      s = collapseWhitespace(s);
      const last = out.length > 0 ? out[out.length - 1]! : "";
      if (pending > 0 || atStart || last.endsWith(" ") || last.endsWith("\n")) s = s.trimStart();
    }
    emit(s);
  };
  let from = 0;
  for (let i = text.indexOf("<"); i >= 0; i = text.indexOf("<", i)) {
    const tag = tagAt(i);
    if (tag === undefined) {
      i++;
      continue;
    }
    emitText(text.slice(from, i));
    from = tag.end;
    i = tag.end;
    applyTag(tag);
  }
  emitText(text.slice(from));
  return out.join("").trim();

  function applyTag(tag: Tag): void {
    switch (tag.name) {
      case "br":
        if (block) breakLines(1);
        else emit("\n");
        return;
      case "li":
        if (!tag.closing) {
          breakLines(1);
          emit("- ");
        }
        return;
      case "tr":
      case "dt":
      case "dd":
        breakLines(1);
        return;
      case "td":
      case "th":
        if (!tag.closing) emit(" ");
        return;
      case "pre":
        if (!tag.closing) {
          breakLines(2);
          emit("```\n");
          pre++;
        } else if (pre > 0) {
          emit("\n```");
          pre--;
          breakLines(2);
        }
        return;
      case "code":
        if (pre === 0) emit("`");
        return;
      case "strong":
      case "b":
        emit("**");
        return;
      case "em":
      case "i":
        emit("*");
        return;
      case "a":
        if (!tag.closing) {
          const href = linkTarget(tag.attributes);
          links.push(href);
          if (href !== undefined) emit("[");
        } else if (links.length > 0) {
          const href = links.pop();
          if (href !== undefined) emit(`](${href})`);
        }
        return;
      default:
        if (BLOCK_TAGS.has(tag.name)) breakLines(2);
    }
  }
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isAlnum(c: number): boolean {
  return isLetter(c) || (c >= 48 && c <= 57);
}
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12;
}

function collapseWhitespace(s: string): string {
  let out = "";
  let space = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) {
      space = true;
      continue;
    }
    if (space) out += " ";
    space = false;
    out += s[i];
  }
  return space ? `${out} ` : out;
}

/** `href` of an `<a>` tag's attribute text, when it is a link worth keeping. */
function linkTarget(attributes: string): string | undefined {
  const lower = attributes.toLowerCase();
  let at = lower.indexOf("href");
  while (at >= 0 && at > 0 && !isSpace(lower.charCodeAt(at - 1))) at = lower.indexOf("href", at + 4);
  if (at < 0) return undefined;
  let j = at + 4;
  while (isSpace(lower.charCodeAt(j))) j++;
  if (lower[j] !== "=") return undefined;
  j++;
  while (isSpace(lower.charCodeAt(j))) j++;
  let value: string;
  const quote = attributes[j];
  if (quote === '"' || quote === "'") {
    const end = attributes.indexOf(quote, j + 1);
    value = attributes.slice(j + 1, end < 0 ? attributes.length : end);
  } else {
    let end = j;
    while (end < attributes.length && !isSpace(attributes.charCodeAt(end))) end++;
    value = attributes.slice(j, end);
  }
  value = decodeEntities(value).trim();
  if (value === "") return undefined;
  // Browsers drop tabs and newlines inside URLs ("java\tscript:"): a link with control characters is no link.
  for (let i = 0; i < value.length; i++)
    if (value.charCodeAt(i) < 32 || value.charCodeAt(i) === 127) return undefined;
  // Keep web and mail links and relative ones; never javascript:, data: and the like.
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== "http" && scheme !== "https" && scheme !== "mailto")
    return undefined;
  return value.replaceAll(" ", "%20").replaceAll(")", "%29");
}

/** Decodes the entities above and numeric ones; anything else stays as written. */
export function decodeEntities(s: string): string {
  let amp = s.indexOf("&");
  if (amp < 0) return s;
  let out = "";
  let from = 0;
  let semi = -2; // the next ';' after `amp` (-1: none left), remembered so "&&&&…" stays linear
  while (amp >= 0) {
    if (semi !== -1 && semi <= amp) semi = s.indexOf(";", amp + 1);
    let decoded: string | undefined;
    if (semi > amp + 1 && semi - amp <= ENTITY_MAX_CHARS) {
      const name = s.slice(amp + 1, semi);
      if (name.charCodeAt(0) === 35) {
        // '#'
        const hex = name[1] === "x" || name[1] === "X";
        const digits = name.slice(hex ? 2 : 1);
        const valid = digits !== "" && (hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits);
        const code = valid ? Number.parseInt(digits, hex ? 16 : 10) : Number.NaN;
        const markup = code === 60 || code === 62; // < and >: kept escaped (see the module doc)
        if (code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) && !markup) {
          decoded = String.fromCodePoint(code);
        }
      } else if (Object.hasOwn(NAMED_ENTITIES, name)) {
        decoded = NAMED_ENTITIES[name];
      }
    }
    if (decoded !== undefined) {
      out += s.slice(from, amp) + decoded;
      from = semi + 1;
      amp = s.indexOf("&", from);
    } else {
      amp = s.indexOf("&", amp + 1);
    }
  }
  return out + s.slice(from);
}
