/**
 * What an upstream MCP server sends back, made safe to hand on: content items reduced to the
 * types MCP defines, sanitised at the vendor's `SANITIZATION_LEVEL`, and the whole answer kept
 * within `MAX_RESPONSE_BYTES` (one budget per answer: a tool result, a prompt's messages, a
 * resource's contents). Everything in it is untrusted.
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { SanitizationLevel, VendorSettings } from "../config.ts";
import { isRecord } from "../is-record.ts";
import { sanitize, sanitizeJsonText } from "../redaction/sanitize.ts";

type ContentItem = CallToolResult["content"][number];

/** What bounding an answer reads of the vendor's settings. */
export type ContentLimits = Pick<VendorSettings, "sanitizationLevel" | "maxResponseBytes">;

/** Content item types an answer may carry (MCP 2025-11-25); anything else is dropped. */
const CONTENT_TYPES: ReadonlySet<string> = new Set(["text", "image", "audio", "resource", "resource_link"]);

/**
 * One answer's size budget: items that fit are kept (sanitised), a text item that does not is
 * cut with a notice, anything else past the budget (or of an unknown type) is counted and
 * reported by {@link ContentBudget.notice}.
 */
export class ContentBudget {
  #left: number;
  #dropped = 0;
  readonly #limits: ContentLimits;

  constructor(limits: ContentLimits) {
    this.#limits = limits;
    this.#left = limits.maxResponseBytes;
  }

  /** `raw` as a safe content item, or `undefined` when it is left out. */
  item(raw: unknown): ContentItem | undefined {
    if (!isRecord(raw) || !CONTENT_TYPES.has(String(raw["type"]))) {
      this.#dropped++;
      return undefined;
    }
    const clean = sanitizedItem(raw as unknown as ContentItem, this.#limits.sanitizationLevel);
    const size = JSON.stringify(clean).length;
    if (size <= this.#left) {
      this.#left -= size;
      return clean;
    }
    if (clean.type === "text" && typeof clean.text === "string" && this.#left > 0) {
      const text = `${clean.text.slice(0, this.#left)}\n[truncated: the answer is larger than the gateway's ${this.#limits.maxResponseBytes}-byte limit]`;
      this.#left = 0;
      return { type: "text", text };
    }
    this.#dropped++;
    return undefined;
  }

  /**
   * A JSON value kept whole (sanitised) when it fits what is left of the budget, else
   * `undefined` (counted as left out). `count`: whether leaving it out is reported.
   */
  value<T>(raw: T, count = true): T | undefined {
    const size = JSON.stringify(raw)?.length ?? 0;
    if (size <= this.#left) {
      this.#left -= size;
      return sanitize(raw, this.#limits.sanitizationLevel);
    }
    if (count) this.#dropped++;
    return undefined;
  }

  /** How many items were left out. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The text item saying what was left out, when anything was. */
  notice(): ContentItem | undefined {
    if (this.#dropped === 0) return undefined;
    return {
      type: "text",
      text: `[gateway: ${this.#dropped} content item(s) left out: unknown type or over the size limit]`,
    };
  }
}

/** A content item with sensitive keys redacted, in JSON text too (`SANITIZATION_LEVEL`). */
function sanitizedItem(item: ContentItem, level: SanitizationLevel): ContentItem {
  if (item.type !== "text") return sanitize(item, level);
  const text = sanitizeJsonText(item.text, level);
  return text === item.text ? item : { ...item, text };
}

/** An upstream tool result reduced to what MCP defines, sanitised and bounded. */
export function safeResult(raw: Record<string, unknown>, limits: ContentLimits): CallToolResult {
  const budget = new ContentBudget(limits);
  const content: CallToolResult["content"] = [];
  const items = Array.isArray(raw["content"]) ? raw["content"] : [];
  for (const item of items) {
    const clean = budget.item(item);
    if (clean !== undefined) content.push(clean);
  }
  const notice = budget.notice();
  if (notice !== undefined) content.push(notice);
  const result: CallToolResult = { content };
  const structured = raw["structuredContent"];
  // Judged against the whole limit, as before: the text items already carry the same data.
  if (isRecord(structured) && JSON.stringify(structured).length <= limits.maxResponseBytes)
    result.structuredContent = sanitize(structured, limits.sanitizationLevel);
  if (raw["isError"] === true) result.isError = true;
  return result;
}
