/**
 * Swagger 2.0 → OpenAPI 3.0 with swagger2openapi (collectionFormat becomes
 * style/explode, formData becomes a form or multipart body, definitions move
 * to components). Lossy spots are reported as warnings, not dropped silently.
 *
 * @module
 */
import s2o from "swagger2openapi";
import { SpecValidationError } from "./errors.ts";
import { isObject, joinPointer } from "./pointer.ts";

export interface ConvertedSpec {
  document: Record<string, unknown>;
  warnings: { pointer: string; message: string }[];
}

export async function swaggerToOpenApi(doc: unknown, file: string): Promise<ConvertedSpec> {
  let openapi: Record<string, unknown>;
  try {
    // `text` stops the converter from re-serialising the whole spec to YAML just for its messages.
    const result = await s2o.convertObj(structuredClone(doc), {
      patch: true,
      warnOnly: true,
      resolve: false,
      text: " ",
    });
    openapi = result.openapi;
  } catch (error) {
    throw new SpecValidationError(file, [
      { message: `Swagger 2.0 conversion failed: ${(error as Error).message}` },
    ]);
  }
  restoreRequiredFormBodies(doc, openapi);
  const warnings: ConvertedSpec["warnings"] = [];
  const stack: { value: unknown; pointer: string }[] = [{ value: openapi, pointer: "" }];
  while (stack.length > 0) {
    const { value, pointer } = stack.pop()!;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++)
        stack.push({ value: value[i], pointer: joinPointer(pointer, i) });
    } else if (isObject(value)) {
      if (typeof value["x-s2o-warning"] === "string") {
        warnings.push({ pointer, message: `Swagger 2.0 conversion: ${value["x-s2o-warning"]}` });
      }
      for (const [key, child] of Object.entries(value)) {
        if (typeof child === "object" && child !== null)
          stack.push({ value: child, pointer: joinPointer(pointer, key) });
      }
    }
  }
  warnings.sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0));
  return { document: openapi, warnings };
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch"];

/**
 * swagger2openapi drops `requestBody.required` when it folds `formData` parameters into a
 * body; a required form field means the body is required.
 */
function restoreRequiredFormBodies(swagger: unknown, openapi: Record<string, unknown>): void {
  if (!isObject(swagger) || !isObject(swagger.paths) || !isObject(openapi.paths)) return;
  const shared = isObject(swagger.parameters) ? swagger.parameters : {};
  const resolve = (param: unknown): unknown => {
    if (isObject(param) && typeof param.$ref === "string" && param.$ref.startsWith("#/parameters/")) {
      return shared[decodeURIComponent(param.$ref.slice("#/parameters/".length))];
    }
    return param;
  };
  for (const [path, item] of Object.entries(swagger.paths)) {
    const converted = openapi.paths[path];
    if (!isObject(item) || !isObject(converted)) continue;
    const common = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of METHODS) {
      const op = item[method];
      const target = converted[method];
      if (!isObject(op) || !isObject(target) || !isObject(target.requestBody) || "$ref" in target.requestBody)
        continue;
      const params = [...common, ...(Array.isArray(op.parameters) ? op.parameters : [])].map(resolve);
      if (params.some((p) => isObject(p) && p.in === "formData" && p.required === true)) {
        target.requestBody.required = true;
      }
    }
  }
}
