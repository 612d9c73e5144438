/**
 * Tool-poisoning hygiene for text an upstream MCP server wrote for the model (tool and argument
 * descriptions, titles): characters a person reviewing the text cannot see are removed, so what
 * the operator reads is what the model reads, and the text is cut to a bound. One pass over the
 * code points, no regular expression: linear in the part of the input it keeps.
 *
 * Removed: C0 and C1 control characters except tab and line feed; zero-width characters and
 * joiners and invisible format characters (U+200B–U+200D, U+2060–U+206F, U+FEFF, U+180E, U+034F); bidirectional marks, embeddings,
 * overrides and isolates (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069); line and
 * paragraph separators (U+2028, U+2029); soft hyphens; invisible fillers (U+115F, U+1160, U+3164,
 * U+FFA0); variation selectors (U+FE00–U+FE0F, U+E0100–U+E01EF) and tag characters
 * (U+E0000–U+E007F), both used to smuggle invisible text; lone surrogates.
 *
 * @module
 */

/** What an upstream tool description is cut to unless vendor.json says otherwise (`mcp.maxDescriptionChars`). */
export const MAX_DESCRIPTION_CHARS = 2_000;
/** Appended to a cut text so the model (and a reviewer) knows there was more. */
const CUT_MARK = "…";

function invisible(code: number): boolean {
  if (code < 0x20) return code !== 0x09 && code !== 0x0a;
  if (code < 0x7f) return false;
  if (code <= 0x9f) return true; // DEL and C1 controls
  switch (code) {
    case 0xad:
    case 0x34f:
    case 0x61c:
    case 0x115f:
    case 0x1160:
    case 0x180e:
    case 0x3164:
    case 0xfeff:
    case 0xffa0:
      return true;
  }
  return (
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2060 && code <= 0x206f) ||
    (code >= 0xd800 && code <= 0xdfff) ||
    (code >= 0xfe00 && code <= 0xfe0f) ||
    (code >= 0xe0000 && code <= 0xe007f) ||
    (code >= 0xe0100 && code <= 0xe01ef)
  );
}

/**
 * `text` without invisible and control characters, at most `maxChars` code points long (the last
 * one `…` when it was cut). Stops reading once the bound is reached, so a megabyte description
 * costs what its first `maxChars` characters cost.
 */
export function screenDescription(text: string, maxChars: number = MAX_DESCRIPTION_CHARS): string {
  const limit = Math.max(0, Math.floor(maxChars));
  const kept: string[] = [];
  let count = 0;
  let cut = false;
  // `for…of` walks code points; a lone surrogate comes out alone and is dropped as invisible.
  for (const char of text) {
    if (invisible(char.codePointAt(0) ?? 0)) continue;
    if (count === limit) {
      cut = true;
      break;
    }
    kept.push(char);
    count++;
  }
  if (cut && limit > 0) kept[limit - 1] = CUT_MARK;
  return kept.join("");
}
