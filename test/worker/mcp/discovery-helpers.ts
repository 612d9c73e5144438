/** Shared by the discovery-mode tests (test/worker/mcp/discovery*.test.ts): the fixture vendor and its calls. */
import { expect } from "vitest";
import { getBundle } from "../../../src/bundle/registry.ts";
import type { VendorBundle } from "../../../src/bundle/types.ts";
import { call, legacyRequest } from "./helpers.ts";

export const VENDOR_PATH = "/v1/mcp-discovery/mcp";

export interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
}

export interface Hit {
  name: string;
  method: string;
  path: string;
  summary: string;
  tags: string[];
}

export interface Echo {
  method: string;
  path: string;
  rawQuery: string;
  bodyText: string;
}

export async function callTool(path: string, name: string, args: unknown): Promise<ToolResult> {
  const { status, body } = await call(path, legacyRequest("tools/call", { name, arguments: args }));
  expect(status).toBe(200);
  expect(body.error).toBeUndefined();
  return body.result as unknown as ToolResult;
}

export function json(result: ToolResult): Record<string, unknown> {
  return JSON.parse(result.content[0]?.text ?? "null") as Record<string, unknown>;
}

export async function listAll(
  path: string,
): Promise<Array<{ name: string; annotations?: Record<string, unknown> }>> {
  const tools: Array<{ name: string }> = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const { body } = await call(path, legacyRequest("tools/list", cursor ? { cursor } : {}));
    const result = body.result as { tools: Array<{ name: string }>; nextCursor?: string };
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  return tools;
}

export function fixture(): VendorBundle {
  const bundle = getBundle("mcp-discovery");
  if (!bundle)
    throw new Error("mcp-discovery fixture missing: run npm test (it compiles test/fixtures/specs)");
  return bundle;
}
