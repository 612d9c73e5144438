/**
 * Spec validation. Our own checks come first because they say exactly what is
 * wrong and where (version, `info`, `paths`, path keys);
 * then @readme/openapi-parser checks the document against the official
 * OpenAPI/Swagger schemas. Its messages carry a code frame of the dereferenced
 * document, which we map back to a JSON pointer.
 *
 * @module
 */
import $RefParser, { getJsonSchemaRefParserDefaultOptions } from "@apidevtools/json-schema-ref-parser";
import { validate as validateWithSchemas } from "@readme/openapi-parser";
import type { SpecProblem } from "./errors.ts";
import { realPointer } from "./lenient.ts";
import { getByPointer, isObject, joinPointer } from "./pointer.ts";

export type SpecDialect = "2.0" | "3.0" | "3.1";

export interface SpecVersion {
  dialect: SpecDialect;
  /** As written: `2.0`, `3.0.3`, `3.1.0`. */
  version: string;
}

/** The version field, or the problem with it. */
export function detectVersion(doc: unknown): SpecVersion | SpecProblem {
  if (!isObject(doc)) return { pointer: "", message: "the document is not an object" };
  if ("openapi" in doc) {
    const value = doc.openapi;
    if (typeof value !== "string") {
      return {
        pointer: "/openapi",
        message: `"openapi" must be a string such as "3.1.0", got ${JSON.stringify(value)} (quote it in YAML)`,
      };
    }
    const match = /^3\.([01])\.\d+(?:-[0-9A-Za-z.-]+)?$/.exec(value);
    if (!match) {
      return {
        pointer: "/openapi",
        message: `unsupported OpenAPI version "${value}": supported are 3.0.x, 3.1.x and Swagger 2.0`,
      };
    }
    return { dialect: match[1] === "0" ? "3.0" : "3.1", version: value };
  }
  if ("swagger" in doc) {
    const value = doc.swagger;
    if (value !== "2.0") {
      return {
        pointer: "/swagger",
        message: `unsupported Swagger version ${JSON.stringify(value)}: only "2.0" (a string; quote it in YAML) is supported`,
      };
    }
    return { dialect: "2.0", version: "2.0" };
  }
  return {
    pointer: "",
    message: 'missing version field: expected "openapi" (3.0.x or 3.1.x) or "swagger" ("2.0")',
  };
}

/** Checks the structure the compiler relies on; returns every problem found. */
export function checkStructure(doc: Record<string, unknown>, dialect: SpecDialect): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (!("info" in doc)) {
    problems.push({ pointer: "", message: 'missing "info" object (with "title" and "version")' });
  } else if (!isObject(doc.info)) {
    problems.push({ pointer: "/info", message: '"info" must be an object with "title" and "version"' });
  } else {
    for (const key of ["title", "version"]) {
      if (typeof doc.info[key] !== "string") {
        problems.push({ pointer: "/info", message: `"info.${key}" is missing or not a string` });
      }
    }
  }
  if (!("paths" in doc)) {
    if (dialect !== "3.1") {
      problems.push({ pointer: "", message: 'missing "paths" object' });
    } else if (!("components" in doc) && !("webhooks" in doc)) {
      problems.push({
        pointer: "",
        message:
          'missing "paths" object (OpenAPI 3.1 needs at least one of "paths", "components" or "webhooks")',
      });
    }
  } else if (!isObject(doc.paths)) {
    problems.push({ pointer: "/paths", message: '"paths" must be an object' });
  } else {
    for (const path of Object.keys(doc.paths)) {
      if (!path.startsWith("/") && !path.startsWith("x-")) {
        problems.push({
          pointer: joinPointer("/paths", path),
          message: `path "${path}" must start with "/"`,
        });
      }
    }
  }
  problems.push(...checkParameterLocations(doc, dialect));
  return problems;
}

const OPERATION_KEYS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const STYLES_BY_LOCATION: Record<string, string[]> = {
  path: ["simple", "label", "matrix"],
  query: ["form", "spaceDelimited", "pipeDelimited", "deepObject"],
  header: ["simple"],
  cookie: ["form"],
};

/** A wrong `in` or `style` makes the schema validator blame an unrelated keyword, so they get their own message. */
function checkParameterLocations(doc: Record<string, unknown>, dialect: SpecDialect): SpecProblem[] {
  const allowed =
    dialect === "2.0"
      ? ["path", "query", "header", "body", "formData"]
      : ["path", "query", "header", "cookie"];
  const problems: SpecProblem[] = [];
  const checkOne = (param: unknown, pointer: string) => {
    if (!isObject(param) || "$ref" in param || !("in" in param)) return;
    if (!allowed.includes(param.in as string)) {
      problems.push({
        pointer: joinPointer(pointer, "in"),
        message: `parameter "in" is ${JSON.stringify(param.in)}; expected one of ${allowed.join(", ")}`,
      });
      return;
    }
    const styles = STYLES_BY_LOCATION[param.in as string];
    if (dialect !== "2.0" && styles && "style" in param && !styles.includes(param.style as string)) {
      problems.push({
        pointer: joinPointer(pointer, "style"),
        message: `parameter style ${JSON.stringify(param.style)} is not allowed in ${param.in}; expected one of ${styles.join(", ")}`,
      });
    }
  };
  const check = (list: unknown, pointer: string) => {
    if (!Array.isArray(list)) return;
    for (let i = 0; i < list.length; i++) checkOne(list[i], joinPointer(pointer, i));
  };
  const shared =
    dialect === "2.0" ? doc.parameters : isObject(doc.components) ? doc.components.parameters : undefined;
  if (isObject(shared)) {
    const base = dialect === "2.0" ? "/parameters" : "/components/parameters";
    for (const [name, param] of Object.entries(shared)) checkOne(param, joinPointer(base, name));
  }
  if (isObject(doc.paths)) {
    for (const [path, item] of Object.entries(doc.paths)) {
      if (!isObject(item)) continue;
      const itemPointer = joinPointer("/paths", path);
      check(item.parameters, joinPointer(itemPointer, "parameters"));
      for (const method of OPERATION_KEYS) {
        const op = item[method];
        if (isObject(op)) check(op.parameters, joinPointer(joinPointer(itemPointer, method), "parameters"));
      }
    }
  }
  return problems;
}

export interface SchemaCheck {
  problems: SpecProblem[];
  /** Rules we downgrade (repeated operationIds are renamed `_2`, `_3` instead of failing). */
  warnings: string[];
}

/** Starts the last problem when the validator stopped early: the next pass finds the rest. */
export const MORE_ERRORS_PREFIX = "and ";

/** Full validation against the official schemas (@readme/openapi-parser). */
export async function checkAgainstSchemas(doc: unknown, dialect: SpecDialect): Promise<SchemaCheck> {
  const result = await validateWithSchemas(structuredClone(doc) as never, {
    resolve: { external: false },
    validate: {
      errors: { colorize: false },
      rules: {
        openapi: { "duplicate-operation-id": "warning" },
        swagger: { "duplicate-operation-id": "warning" },
      },
    },
  });
  const warnings = result.warnings.map((w) => w.message);
  if (result.valid) return { problems: [], warnings };
  let lines: (string | undefined)[] | undefined;
  const problems: SpecProblem[] = [];
  for (const error of result.errors) {
    const [headline = "", ...rest] = error.message.split("\n");
    const marker = /^>\s*(\d+)\s*\|/m.exec(error.message);
    let pointer: string | undefined;
    if (marker) {
      lines ??= await dereferencedLinePointers(doc);
      pointer = lines?.[Number(marker[1])];
    }
    // "REQUIRED must have required property 'x'" → "must have required property 'x'" (+ the frame's hint).
    const text = headline.replace(/^[A-Z][A-Z ]*[A-Z] (?=must )/, "");
    const hint = rest
      .map((l) => /\^\s+(.*)$/.exec(l)?.[1]?.replace(/^\w+ (?=must )/, ""))
      .find((h) => h !== undefined);
    const message =
      (pointer !== undefined ? knownMistake(doc, pointer, dialect) : undefined) ??
      (hint && !text.toLowerCase().includes(hint.toLowerCase()) ? `${text} (${hint})` : text);
    problems.push(pointer !== undefined ? { pointer, message } : { message });
  }
  if (result.additionalErrors > 0) {
    problems.push({
      message: `${MORE_ERRORS_PREFIX}${result.additionalErrors} more schema errors (fix these first)`,
    });
  }
  return { problems, warnings };
}

/**
 * Mistakes real specs make, for which the validator's own hint points the wrong way
 * (`type: "null"` in 3.0 gets "Did you mean number here?"): say what the fix is.
 */
function knownMistake(doc: unknown, pointer: string, dialect: SpecDialect): string | undefined {
  const found = getByPointer(doc, realPointer(doc, pointer));
  if (!found.found) return undefined;
  const value = found.value;
  if (dialect !== "3.1" && pointer.endsWith("/type")) {
    const types = Array.isArray(value) ? value : [value];
    if (types.includes("null")) {
      return `type "null" does not exist in OpenAPI ${dialect} (it is OpenAPI 3.1 / JSON Schema): remove the {type: "null"} alternative and put "nullable": true on the schema that holds it (or declare "openapi": "3.1.0" if the spec really is 3.1); "lenient": true in vendor.json does this for you`;
    }
    if (Array.isArray(value)) {
      return `type arrays do not exist in OpenAPI ${dialect}: use one type (with "nullable": true for null) or anyOf; "lenient": true in vendor.json repairs [T, "null"]`;
    }
  }
  if (value === null && pointer.endsWith("/schema")) {
    return `"schema" is null: leave the key out or give a schema object ({} accepts any value); "lenient": true in vendor.json replaces it with {}`;
  }
  return undefined;
}

/**
 * Line number → JSON pointer in `JSON.stringify(dereferenced, null, 2)`: the text the
 * validator's code frames are drawn from.
 */
async function dereferencedLinePointers(doc: unknown): Promise<(string | undefined)[] | undefined> {
  const defaults = getJsonSchemaRefParserDefaultOptions();
  const parser = new $RefParser();
  try {
    await parser.dereference(
      "/spec.json",
      structuredClone(doc) as never,
      {
        ...defaults,
        dereference: {
          ...defaults.dereference,
          circular: "ignore",
          preservedProperties: ["summary", "description"],
        },
        resolve: { ...defaults.resolve, external: false },
      } as never,
    );
  } catch {
    return undefined;
  }
  const lines: (string | undefined)[] = [undefined];
  let line = 1;
  const seen = new Set<object>();
  const walk = (value: unknown, pointer: string) => {
    lines[line] ??= pointer;
    if (typeof value !== "object" || value === null) return;
    if (seen.has(value)) return; // cannot happen for JSON.stringify-able values; defensive
    seen.add(value);
    const entries: [string, unknown][] = Array.isArray(value)
      ? value.map((v, i) => [String(i), v])
      : Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== "function");
    if (entries.length > 0) {
      for (const [key, child] of entries) {
        line++;
        walk(child, joinPointer(pointer, key));
      }
      line++;
      lines[line] ??= pointer;
    }
    seen.delete(value);
  };
  walk(parser.schema, "");
  return lines;
}
