/** What the mixed deployment's tests (test/e2e/mcp-vendors/) share: health, control routes, tool results. */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { BASE } from "../../worker/mcp/helpers.ts";

/** `/health/vendors` through the Worker, asserted JSON. */
export async function vendorHealth(): Promise<Record<string, Record<string, unknown>>> {
  const res = await exports.default.fetch(`${BASE}/health/vendors`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return ((await res.json()) as { vendors: Record<string, Record<string, unknown>> }).vendors;
}

/** One `/_control/<name>` route of a test MCP server (test/support/mcp-servers/http-host.ts). */
export async function control<T = Record<string, unknown>>(
  origin: string,
  name: string,
  method = "POST",
): Promise<T> {
  const res = await fetch(`${origin}/_control/${name}`, { method });
  expect(res.status, `${method} /_control/${name}`).toBe(200);
  return (await res.json()) as T;
}

/** The first text item of a tool result. */
export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.find((c) => c.type === "text")?.text ?? "";
}
