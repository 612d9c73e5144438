/**
 * vendor.json `tools`: the operator's curation of the generated tools (rename, new title or
 * description, arguments hidden behind fixed values), checked against the tools the spec gave.
 * Every override that names no tool, a clashing or too long name, a fixed argument the tool does
 * not have, or a fixed value its schema refuses fails the vendor with the key that is wrong.
 *
 * @module
 */
import type { JsonSchema, ToolRecipe, VendorBundle } from "../../src/bundle/types.ts";
import { withoutFixed } from "../../src/mcp-upstream/curate.ts";
import { validate } from "../../src/schema/validate.ts";
import { credentialParams } from "../../src/upstream/auth.ts";
import { encodeStrict } from "../../src/upstream/serialize.ts";
import { VendorConfigError, type VendorConfigIssue } from "./errors.ts";
import type { RenamedTool } from "./operations.ts";
import { isObject } from "./pointer.ts";
import type { ToolOverride } from "./vendor-config.ts";

/**
 * Applies `overrides` to `built.tools` in place, and records renames in `built.renamed` (the
 * compile summary). Keys name a generated tool name, else an operationId (as `healthTool`
 * does). Throws a `VendorConfigError` naming `configFile` and every bad key.
 */
export function applyToolOverrides(
  built: { tools: ToolRecipe[]; renamed: RenamedTool[] },
  /** What decides which parameters carry the vendor's credential (as the Worker reads it). */
  auth: Pick<VendorBundle, "securitySchemes" | "auth">,
  overrides: Readonly<Record<string, ToolOverride>>,
  maxNameChars: number,
  configFile: string,
): void {
  const { tools, renamed } = built;
  const issues: VendorConfigIssue[] = [];
  const byName = new Map(tools.map((t) => [t.name, t]));
  const claimed = new Map<ToolRecipe, string>();
  const curated: [ToolRecipe, ToolOverride, string][] = [];
  for (const [key, override] of Object.entries(overrides)) {
    const tool = byName.get(key) ?? tools.find((t) => t.operationId === key);
    if (tool === undefined) {
      issues.push({
        key: `tools.${key}`,
        message: `no tool or operationId "${key}" (after include/exclude)`,
      });
      continue;
    }
    const earlier = claimed.get(tool);
    if (earlier !== undefined) {
      issues.push({ key: `tools.${key}`, message: `names the same tool as tools.${earlier}; merge them` });
      continue;
    }
    claimed.set(tool, key);
    curated.push([tool, override, key]);
  }

  const finalNames = new Map<string, string>();
  for (const tool of tools) finalNames.set(tool.name, tool.name);
  for (const [tool, override] of curated)
    if (override.name !== undefined) finalNames.set(tool.name, override.name);
  const holders = new Map<string, string[]>();
  for (const [from, to] of finalNames) holders.set(to, [...(holders.get(to) ?? []), from]);

  for (const [tool, override, key] of curated) {
    if (override.name !== undefined) {
      if (override.name.length > maxNameChars) {
        issues.push({
          key: `tools.${key}.name`,
          message: `"${override.name}" is ${override.name.length} characters; the limit for this vendor is ${maxNameChars} so the prefixed name fits 64`,
        });
      }
      const others = (holders.get(override.name) ?? []).filter((n) => n !== tool.name);
      if (others.length > 0) {
        issues.push({
          key: `tools.${key}.name`,
          message: `"${override.name}" is already the name of tool ${others.map((o) => JSON.stringify(o)).join(", ")}`,
        });
      }
    }
    if (override.fixed !== undefined) issues.push(...fixedProblems(tool, auth, override.fixed, key));
  }
  if (issues.length > 0) throw new VendorConfigError(configFile, issues);

  for (const [tool, override] of curated) {
    if (override.name !== undefined && override.name !== tool.name) {
      const entry = renamed.find((r) => r.name === tool.name);
      if (entry) {
        entry.name = override.name;
        entry.reasons.push("vendor.json");
      } else {
        const from = tool.operationId ?? `${tool.method} ${tool.path}`;
        renamed.push({ name: override.name, from, reasons: ["vendor.json"] });
      }
      tool.name = override.name;
    }
    if (override.title !== undefined) tool.title = override.title;
    if (override.description !== undefined) tool.description = override.description;
    if (override.fixed !== undefined) hideFixed(tool, override.fixed);
  }
}

function fixedProblems(
  tool: ToolRecipe,
  auth: Pick<VendorBundle, "securitySchemes" | "auth">,
  fixed: Record<string, unknown>,
  key: string,
): VendorConfigIssue[] {
  const issues: VendorConfigIssue[] = [];
  const reserved = credentialParams(tool, auth as VendorBundle);
  for (const [arg, value] of Object.entries(fixed)) {
    const where = `tools.${key}.fixed.${arg}`;
    const param = tool.params.find((p) => p.key === arg);
    if (param?.in === "header" && param.name.toLowerCase() === tool.idempotencyKeyHeader?.toLowerCase()) {
      issues.push({
        key: where,
        message: `"${arg}" is the idempotency key the gateway fills with a fresh value per call; a fixed one would make every call look like a retry of the first`,
      });
      continue;
    }
    const wire = param?.in === "query" ? encodeStrict(param.name) : param?.name;
    if (param !== undefined && param.in !== "path" && reserved[param.in].has(wire!.toLowerCase())) {
      issues.push({
        key: where,
        message: `"${arg}" carries the vendor's API key; credentials belong in auth.secrets, never in vendor.json`,
      });
      continue;
    }
    const issue = fixedArgumentIssue(tool.inputSchema, tool.name, arg, value, where);
    if (issue !== undefined) issues.push(issue);
  }
  return issues;
}

/**
 * The problem with fixing argument `arg` of a tool to `value`, or `undefined`: the tool has no
 * such argument, or the argument's schema (with the input schema's local `$defs`/`definitions`
 * its `$ref`s may point into) refuses the value. Both vendor kinds check fixed values this way.
 */
export function fixedArgumentIssue(
  inputSchema: JsonSchema,
  toolName: string,
  arg: string,
  value: unknown,
  where: string,
): VendorConfigIssue | undefined {
  const properties = isObject(inputSchema.properties) ? inputSchema.properties : {};
  if (!Object.hasOwn(properties, arg)) {
    const known = Object.keys(properties);
    return {
      key: where,
      message: `tool "${toolName}" has no argument "${arg}"; ${known.length > 0 ? `expected one of ${known.join(", ")}` : "it takes none"}`,
    };
  }
  const schema: JsonSchema = {
    type: "object",
    properties: { [arg]: properties[arg] },
    required: [arg],
    ...(inputSchema.$defs !== undefined ? { $defs: inputSchema.$defs } : {}),
    ...(inputSchema.definitions !== undefined ? { definitions: inputSchema.definitions } : {}),
  };
  const outcome = validate(schema, { [arg]: value }, { exactIntegers: true });
  if (outcome.valid) return undefined;
  const detail = outcome.issues.map((i) => `${i.pointer || "/"}: ${i.message}`).join("; ");
  return { key: where, message: `the fixed value does not fit the argument's schema (${detail})` };
}

/** Drops the fixed arguments from the listed schema (and `required`); the executor adds them back. */
function hideFixed(tool: ToolRecipe, fixed: Record<string, unknown>): void {
  tool.inputSchema = withoutFixed(tool.inputSchema, fixed);
  tool.fixed = fixed;
}
