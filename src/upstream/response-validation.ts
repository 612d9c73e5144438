/**
 * Checks upstream JSON against the response schema the spec documents for the
 * status (`RESPONSE_VALIDATION_MODE`):
 *
 * - `off`: nothing is checked.
 * - `warn` (default): a mismatch is logged and counted as drift for the tool
 *   (surfaced in `/health/vendors`); the data is returned unchanged.
 * - `strict`: a mismatch becomes a tool error saying what does not match.
 *
 * Validation is the gateway's own interpreter (`src/schema/validate.ts`, the
 * one that checks arguments): Workers forbid the code generation ajv relies on,
 * and it is several times faster than @cfworker/json-schema on the same schemas
 * (README, design notes). Schemas may `$ref: "#/$defs/<name>"` into the vendor's
 * shared `bundle.schemas`; only the definitions a response reaches are gathered
 * into its root schema, built once per tool and status per isolate.
 *
 * @module
 */
import type { JsonSchema, ResponseRecipe, ToolRecipe, VendorBundle } from "../bundle/types.ts";
import type { ResponseValidationMode } from "../config.ts";
import { memoized } from "../memo.ts";
import { validate } from "../schema/validate.ts";

/** Enough mismatches to act on without flooding a model's context. */
const MAX_REPORTED_MISMATCHES = 5;
const DEFS_REF_PREFIX = "#/$defs/";

export type ResponseCheck =
  | { valid: true; checked: boolean }
  | { valid: false; checked: true; mismatches: string[]; summary: string };

/** What the executor does with a response after the check. */
export type ValidationVerdict =
  | { action: "pass" }
  | { action: "drift"; summary: string }
  | { action: "reject"; summary: string; mismatches: string[] };

/** The documented response for a status: exact code, then `2XX`-style range, then `default`. */
export function responseRecipeFor(tool: ToolRecipe, status: number): ResponseRecipe | undefined {
  const code = String(status);
  return tool.responses[code] ?? tool.responses[`${code[0]}XX`] ?? tool.responses.default;
}

/** Per tool and status: the root schema to validate against (`null`: none documented). */
const roots = new WeakMap<ToolRecipe, Map<number, JsonSchema | null>>();

function rootFor(bundle: VendorBundle, tool: ToolRecipe, status: number): JsonSchema | null {
  const perStatus = memoized(roots, tool, () => new Map());
  return memoized(perStatus, status, () => {
    const schema = responseRecipeFor(tool, status)?.schema;
    return schema ? rootSchema(schema, bundle.schemas) : null;
  });
}

/**
 * A self-contained copy of `schema` whose `$defs` hold the shared schemas it
 * reaches. Copied because the validator annotates schema objects in place.
 */
function rootSchema(schema: JsonSchema, shared: Record<string, JsonSchema>): JsonSchema {
  const own = (schema.$defs ?? {}) as Record<string, JsonSchema>;
  const defs: Record<string, JsonSchema> = {};
  const pending: unknown[] = [schema];
  while (pending.length > 0) {
    const node = pending.pop();
    if (node === null || typeof node !== "object") continue;
    if (Array.isArray(node)) {
      pending.push(...node);
      continue;
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string" && value.startsWith(DEFS_REF_PREFIX)) {
        const name = decodePointerSegment(value.slice(DEFS_REF_PREFIX.length).split("/")[0] ?? "");
        const target = shared[name];
        if (!(name in defs) && !(name in own) && target) {
          defs[name] = target;
          pending.push(target);
        }
      } else {
        pending.push(value);
      }
    }
  }
  // A new root object: the bundle's schemas are shared and never modified.
  return { ...schema, $defs: { ...defs, ...own } };
}

function decodePointerSegment(segment: string): string {
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // Not percent-encoded: use as is.
  }
  return decoded.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** Validates parsed upstream JSON against the documented schema for `status`. */
export function validateResponse(
  bundle: VendorBundle,
  tool: ToolRecipe,
  status: number,
  data: unknown,
): ResponseCheck {
  const root = rootFor(bundle, tool, status);
  if (!root) return { valid: true, checked: false };
  const result = validate(root, data, { maxIssues: MAX_REPORTED_MISMATCHES });
  if (result.valid) return { valid: true, checked: true };
  const mismatches = result.issues.map((issue) => `at ${issue.pointer || "(root)"}: ${issue.message}`);
  return {
    valid: false,
    checked: true,
    mismatches,
    summary: `The ${status} response of ${tool.name} does not match its documented schema: ${mismatches.join("; ")}`,
  };
}

/**
 * Applies `mode` to a response: `off` passes without checking; `warn` reports a
 * mismatch as drift (the caller logs it); `strict` rejects it.
 */
export function judgeResponse(
  mode: ResponseValidationMode,
  bundle: VendorBundle,
  tool: ToolRecipe,
  status: number,
  data: unknown,
): ValidationVerdict {
  if (mode === "off") return { action: "pass" };
  const check = validateResponse(bundle, tool, status, data);
  if (check.valid) return { action: "pass" };
  if (mode === "strict") return { action: "reject", summary: check.summary, mismatches: check.mismatches };
  return { action: "drift", summary: check.summary };
}
