import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileVendor, VendorConfigError } from "../../../scripts/compiler/index.ts";
import { INPUT_SCHEMA_MAX_BYTES } from "../../../scripts/compiler/operations.ts";
import { INLINE_REF_MAX_BYTES } from "../../../scripts/compiler/schema.ts";
import { validate } from "../../../src/schema/validate.ts";
import { openapi, tempDir, toolNamed, writeFiles } from "./helpers.ts";

/** `n` string properties with distinct ~90-character descriptions. */
function fields(prefix: string, n: number): Record<string, object> {
  return Object.fromEntries(
    Array.from({ length: n }, (_, i) => [
      `${prefix}${i}`,
      {
        type: "string",
        description: `The ${prefix} number ${i}; a description long enough to weigh what real ones weigh.`,
      },
    ]),
  );
}

/**
 * Kubernetes' shape: a Container schema just under the inline threshold, used by many
 * arrays of a PodSpec, so the Pod's input schema is over 256 KiB only because of inlining.
 */
function podSpec(containerArrays: number): object {
  const arrays = Object.fromEntries(
    Array.from({ length: containerArrays }, (_, i) => [
      i === 0 ? "containers" : i === 1 ? "initContainers" : `containerGroup${i}`,
      { type: "array", items: { $ref: "#/components/schemas/Container" } },
    ]),
  );
  return openapi(
    {
      "/api/v1/namespaces/{namespace}/pods": {
        post: {
          operationId: "createCoreV1NamespacedPod",
          parameters: [{ name: "namespace", in: "path", required: true, schema: { type: "string" } }],
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/Pod" } } },
          },
          responses: { "201": { description: "created" } },
        },
      },
    },
    {
      components: {
        schemas: {
          Pod: {
            type: "object",
            properties: { spec: { type: "object", required: ["containers"], properties: arrays } },
          },
          Container: {
            type: "object",
            required: ["name"],
            properties: {
              name: { type: "string" },
              ports: {
                type: "array",
                items: { type: "object", properties: { containerPort: { type: "integer" } } },
              },
              ...fields("field", 125),
            },
          },
        },
      },
    },
  );
}

async function vendor(spec: object, vendorJson: object = {}): Promise<string> {
  const dir = join(await tempDir(), "kube");
  await writeFiles(dir, { "vendor.json": vendorJson, "openapi.json": spec });
  return dir;
}

describe("input schemas over the size limit only because of inlining (Kubernetes' Pod)", () => {
  it("repeated subschemas are shared through $defs: the tool is kept and validates arguments", async () => {
    const spec = podSpec(24);
    const container = JSON.stringify(
      (spec as { components: { schemas: { Container: object } } }).components.schemas.Container,
    );
    // The premise: Container is inlined (under the threshold), and inlined 24 times it is over the limit.
    expect(container.length).toBeLessThan(INLINE_REF_MAX_BYTES);
    expect(container.length * 24).toBeGreaterThan(INPUT_SCHEMA_MAX_BYTES);

    const { bundle, summary } = await compileVendor(await vendor(spec));
    expect(summary.skipped).toEqual([]);
    const tool = toolNamed(bundle, "createCoreV1NamespacedPod");
    const size = JSON.stringify(tool.inputSchema).length;
    expect(size).toBeLessThan(INPUT_SCHEMA_MAX_BYTES / 10);
    expect(Object.keys(tool.inputSchema.$defs as object)).toEqual(["Container"]);
    expect(summary.warnings).toContainEqual({
      pointer: "/paths/~1api~1v1~1namespaces~1{namespace}~1pods/post",
      message: expect.stringMatching(
        /^input schema of \d+ bytes is over the 262144-byte limit inlined; 1 repeated subschema\(s\) shared through \$defs bring it to \d+ bytes$/,
      ),
    });

    // The Worker's own validator, on the shipped schema.
    const ok = {
      namespace: "default",
      spec: { containers: [{ name: "web", ports: [{ containerPort: 80 }] }] },
    };
    expect(validate(tool.inputSchema, ok).valid).toBe(true);
    const bad = {
      namespace: "default",
      spec: { containers: [{ name: "web" }], initContainers: [{ ports: [{ containerPort: "80" }] }] },
    };
    const outcome = validate(tool.inputSchema, bad);
    expect(outcome.valid).toBe(false);
    expect(outcome.issues.map((i) => i.pointer).sort()).toEqual([
      "/spec/initContainers/0/name",
      "/spec/initContainers/0/ports/0/containerPort",
    ]);
    expect(validate(tool.inputSchema, { namespace: "default", spec: {} }).valid).toBe(false);
  });

  it("a schema too big even shared is skipped, naming vendor.json limits.inputSchemaMaxBytes, which keeps it", async () => {
    const spec = openapi({
      "/big": {
        post: {
          operationId: "bigForm",
          requestBody: {
            content: { "application/json": { schema: { type: "object", properties: fields("f", 3000) } } },
          },
          responses: { "200": { description: "ok" } },
        },
      },
    });
    const strict = await compileVendor(await vendor(spec));
    expect(strict.bundle.tools).toEqual([]);
    expect(strict.summary.skipped[0]!.reason).toMatch(
      /^input schema is \d+ bytes \(\d+ with repeated subschemas shared through \$defs\); the limit is 262144 \(vendor.json "limits": \{"inputSchemaMaxBytes": …\} raises it\)$/,
    );

    const raised = await compileVendor(await vendor(spec, { limits: { inputSchemaMaxBytes: 1024 * 1024 } }));
    expect(raised.bundle.tools.map((t) => t.name)).toEqual(["bigForm"]);
    expect(raised.summary.skipped).toEqual([]);
  });

  it("limits.inputSchemaMaxBytes is validated", async () => {
    const error = await compileVendor(
      await vendor(openapi({}), { limits: { inputSchemaMaxBytes: 100, other: 1 } }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VendorConfigError);
    expect((error as VendorConfigError).issues).toEqual([
      { key: "limits.inputSchemaMaxBytes", message: "expected an integer from 16384 to 4194304; got 100" },
      { key: "limits.other", message: "unknown key; allowed keys in limits: inputSchemaMaxBytes" },
    ]);
  });
});
