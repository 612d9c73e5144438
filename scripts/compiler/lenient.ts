/**
 * Lenient mode (`"lenient": true` in vendor.json): real specs break the OpenAPI
 * schema in small ways that should cost one operation, not the whole vendor.
 *
 * 1. {@link repairSpec} fixes what has one obvious meaning, before validation:
 *    - `"schema": null` (Directus) → `{}`: no schema, any value;
 *    - OpenAPI 3.0 only: `{type: "null"}` inside `anyOf`/`oneOf` (Blockfrost) → the
 *      alternative is removed and the schema gets `nullable: true`; a `type: "null"`
 *      elsewhere → `nullable: true, enum: [null]`; `type: [T, "null"]` → `type: T,
 *      nullable: true`.
 * 2. {@link dropBroken} takes the problems validation still finds and removes what they
 *    are in: the operation (or every operation of a path item, for path-level
 *    parameters), or a component together with every operation that reaches it through
 *    `$ref`s. A problem outside both (`info`, `servers`, …) still fails the vendor.
 *
 * Every repair and removal is reported with its JSON pointer and what was done.
 *
 * @module
 */
import type { SpecProblem } from "./errors.ts";
import type { CompileWarning, SkippedOperation } from "./operations.ts";
import {
  escapeToken,
  getByPointer,
  isObject,
  joinPointer,
  pointerFromFragment,
  pointerFromTokens,
  tokensFromPointer,
} from "./pointer.ts";

/** Keys whose values are data (examples, defaults, enums) or extensions: never repaired. */
const DATA_KEYS = new Set(["example", "examples", "default", "enum", "const"]);
/** Keys whose values map names to schemas. */
const NAME_MAPS = new Set(["properties", "patternProperties"]);
const METHOD_KEYS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);
/** `$ref` chain length followed while locating a problem (chains in real specs are 1–3 long). */
const MAX_REF_HOPS = 32;

const isNullAlternative = (value: unknown) =>
  isObject(value) &&
  value.type === "null" &&
  Object.keys(value).every((k) => k === "type" || k === "description" || k === "title");

/** Repairs `doc` in place (give it a copy); returns one warning per repair. */
export function repairSpec(doc: unknown, dialect: "2.0" | "3.0" | "3.1", file: string): CompileWarning[] {
  const warnings: CompileWarning[] = [];
  const repaired = (pointer: string, message: string) =>
    warnings.push({ file, pointer, message: `lenient: ${message}` });
  // Iterative walk: nesting depth is attacker-controlled.
  // `names`: the node maps names to schemas (`properties`), so a property called "default" is walked.
  const stack: { node: unknown; pointer: string; names?: boolean }[] = [{ node: doc, pointer: "" }];
  while (stack.length > 0) {
    const { node, pointer, names } = stack.pop()!;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--)
        stack.push({ node: node[i], pointer: joinPointer(pointer, i) });
      continue;
    }
    if (!isObject(node)) continue;
    if (Object.hasOwn(node, "schema") && node.schema === null) {
      node.schema = {};
      repaired(joinPointer(pointer, "schema"), '"schema": null replaced with {} (no schema: any value)');
    }
    if (dialect === "3.0") repairNullType(node, pointer, repaired);
    const keys = Object.keys(node);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      if (!names && (DATA_KEYS.has(key) || key.startsWith("x-"))) continue;
      stack.push({
        node: node[key],
        pointer: joinPointer(pointer, key),
        names: !names && NAME_MAPS.has(key),
      });
    }
  }
  return warnings;
}

function repairNullType(
  node: Record<string, unknown>,
  pointer: string,
  repaired: (pointer: string, message: string) => void,
): void {
  for (const key of ["anyOf", "oneOf"]) {
    const list = node[key];
    if (!Array.isArray(list) || !list.some(isNullAlternative)) continue;
    const kept = list.filter((alt) => !isNullAlternative(alt));
    if (kept.length === 0) continue; // only null alternatives: handled one by one below
    node[key] = kept;
    node.nullable = true;
    repaired(
      joinPointer(pointer, key),
      `{type: "null"} alternative (not OpenAPI 3.0) removed from ${key}; the schema is marked "nullable": true`,
    );
  }
  if (node.type === "null") {
    delete node.type;
    node.nullable = true;
    node.enum = [null];
    repaired(
      joinPointer(pointer, "type"),
      'type "null" (not OpenAPI 3.0) replaced with "nullable": true, "enum": [null]',
    );
  } else if (Array.isArray(node.type) && node.type.every((t) => typeof t === "string")) {
    const types = node.type.filter((t) => t !== "null");
    if (types.length !== 1) return; // several types have no 3.0 spelling that keeps the other keywords
    const nullable = types.length < node.type.length;
    node.type = types[0];
    if (nullable) node.nullable = true;
    repaired(
      joinPointer(pointer, "type"),
      `type array (not OpenAPI 3.0) replaced with type "${types[0]}"${nullable ? ' and "nullable": true' : ""}`,
    );
  }
}

export interface Dropped {
  skipped: SkippedOperation[];
  warnings: CompileWarning[];
  /** Problems that are in no operation or component: they still fail the vendor. */
  fatal: SpecProblem[];
}

/**
 * Removes from `doc` (in place) every operation and component a problem is in, and the
 * operations that reach a removed component. `file` names the spec in warnings.
 */
export function dropBroken(
  doc: Record<string, unknown>,
  problems: readonly SpecProblem[],
  file: string,
): Dropped {
  const out: Dropped = { skipped: [], warnings: [], fatal: [] };
  const paths = isObject(doc.paths) ? doc.paths : {};
  // operation pointer (`/paths/<p>/<method>`, or `/paths/<p>` for a path item that is a $ref) → reason
  const brokenOps = new Map<string, string>();
  const brokenComponents = new Map<string, string>(); // component pointer → reason
  for (const problem of problems) {
    const where = problem.pointer === undefined ? undefined : realPointer(doc, problem.pointer);
    const tokens = where === undefined ? undefined : tokensFromPointer(where);
    const reason = `invalid${where !== undefined ? ` at ${where}` : ""}: ${problem.message}`;
    const component = tokens === undefined ? undefined : componentOf(tokens);
    if (tokens?.[0] === "paths" && tokens.length >= 2 && isObject(paths[tokens[1]!])) {
      const item = paths[tokens[1]!] as Record<string, unknown>;
      const method = tokens[2];
      const methods =
        method !== undefined && METHOD_KEYS.has(method)
          ? [method]
          : Object.keys(item).filter((k) => METHOD_KEYS.has(k));
      for (const m of methods) {
        const op = `/paths/${escapeToken(tokens[1]!)}/${m}`;
        if (!brokenOps.has(op)) brokenOps.set(op, reason);
      }
      if (methods.length === 0 && typeof item.$ref === "string") {
        const itemPointer = joinPointer("/paths", tokens[1]!);
        if (!brokenOps.has(itemPointer)) brokenOps.set(itemPointer, reason);
      } else if (methods.length === 0) {
        out.fatal.push(problem);
      }
    } else if (component !== undefined && getByPointer(doc, component).found) {
      if (!brokenComponents.has(component)) brokenComponents.set(component, reason);
    } else {
      out.fatal.push(problem);
    }
  }
  if (out.fatal.length > 0) return out;

  // Every component that reaches a broken one (through $refs) goes too, with the operations that use any of them.
  if (brokenComponents.size > 0) {
    const referrers = new Map<string, Set<string>>(); // component → who refers to it (component or operation pointers)
    const addRefs = (from: string, node: unknown) => {
      for (const target of componentRefs(node)) {
        const set = referrers.get(target) ?? new Set<string>();
        referrers.set(target, set);
        set.add(from);
      }
    };
    for (const [component, value] of components(doc)) addRefs(component, value);
    for (const [path, item] of Object.entries(paths)) {
      if (!isObject(item)) continue;
      const itemPointer = joinPointer("/paths", path);
      const methods = Object.keys(item).filter((k) => METHOD_KEYS.has(k));
      for (const [key, value] of Object.entries(item)) {
        // Path-level parameters belong to every operation of the item; a path-item $ref to the item itself.
        const owners = METHOD_KEYS.has(key)
          ? [joinPointer(itemPointer, key)]
          : key === "$ref"
            ? [itemPointer]
            : methods.map((m) => joinPointer(itemPointer, m));
        for (const owner of owners) addRefs(owner, { [key]: value });
      }
    }
    const queue = [...brokenComponents.keys()];
    while (queue.length > 0) {
      const component = queue.shift()!;
      const reason = brokenComponents.get(component)!;
      // The reason always names the component that is invalid, however far away it is.
      const because = reason.startsWith("uses ") ? reason : `uses ${component}, ${reason}`;
      for (const from of referrers.get(component) ?? []) {
        const map = from.startsWith("/paths/") ? brokenOps : brokenComponents;
        if (map.has(from)) continue;
        map.set(from, because);
        if (map === brokenComponents) queue.push(from);
      }
    }
  }
  // Operations first: a path item that is a $ref lists the methods of the component it names.
  for (const [op, reason] of brokenOps) {
    const tokens = tokensFromPointer(op)!;
    const path = tokens[1]!;
    const item = paths[path] as Record<string, unknown>;
    const skip = (method: string, operation: unknown) => {
      const operationId =
        isObject(operation) && typeof operation.operationId === "string" ? operation.operationId : undefined;
      out.skipped.push({
        method: method.toUpperCase(),
        path,
        ...(operationId !== undefined ? { operationId } : {}),
        reason: `lenient: skipped (${reason})`,
        pointer: joinPointer(joinPointer("/paths", path), method),
      });
    };
    if (tokens.length === 2) {
      const target = typeof item.$ref === "string" ? pointerFromFragment(item.$ref) : undefined;
      const found = target === undefined ? undefined : getByPointer(doc, target);
      if (found?.found && isObject(found.value)) {
        for (const m of Object.keys(found.value).filter((k) => METHOD_KEYS.has(k))) skip(m, found.value[m]);
      }
      delete paths[path];
    } else {
      skip(tokens[2]!, item[tokens[2]!]);
      delete item[tokens[2]!];
    }
  }
  for (const [component, reason] of brokenComponents) {
    const tokens = tokensFromPointer(component)!;
    const parent = getByPointer(doc, pointerFromTokens(tokens.slice(0, -1)));
    if (parent.found && isObject(parent.value)) delete parent.value[tokens[tokens.length - 1]!];
    out.warnings.push({ file, pointer: component, message: `lenient: component removed (${reason})` });
  }
  return out;
}

/** Swagger 2.0 keeps reusable parts at the root; OpenAPI 3 under `components/<kind>`. */
const SWAGGER_COMPONENT_GROUPS = new Set(["definitions", "parameters", "responses"]);

/** The reusable component a pointer is in (`/components/<kind>/<name>`, `/definitions/<name>`), if any. */
function componentOf(tokens: readonly string[]): string | undefined {
  if (tokens[0] === "components" && tokens.length >= 3) return pointerFromTokens(tokens.slice(0, 3));
  if (SWAGGER_COMPONENT_GROUPS.has(tokens[0]!) && tokens.length >= 2)
    return pointerFromTokens(tokens.slice(0, 2));
  return undefined;
}

/** Every reusable component of the document, by pointer. */
function* components(doc: Record<string, unknown>): Generator<[string, unknown]> {
  if (isObject(doc.components)) {
    for (const [kind, group] of Object.entries(doc.components)) {
      if (!isObject(group)) continue;
      for (const [name, value] of Object.entries(group))
        yield [pointerFromTokens(["components", kind, name]), value];
    }
  }
  for (const kind of SWAGGER_COMPONENT_GROUPS) {
    const group = doc[kind];
    if (!isObject(group)) continue;
    for (const [name, value] of Object.entries(group)) yield [pointerFromTokens([kind, name]), value];
  }
}

/** Local `$ref`s under `node`, as component pointers. */
function componentRefs(node: unknown): Set<string> {
  const out = new Set<string>();
  const stack = [node];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) stack.push(...value);
    else if (isObject(value)) {
      if (typeof value.$ref === "string") {
        const tokens = tokensFromPointer(pointerFromFragment(value.$ref) ?? "x");
        const component = tokens === undefined ? undefined : componentOf(tokens);
        if (component !== undefined) out.add(component);
      }
      for (const [key, child] of Object.entries(value)) if (!key.startsWith("x-")) stack.push(child);
    }
  }
  return out;
}

/**
 * The validator reports pointers into the dereferenced document; this follows them through
 * `$ref`s to where the value really is.
 */
export function realPointer(doc: unknown, pointer: string): string {
  const tokens = tokensFromPointer(pointer);
  if (tokens === undefined) return pointer;
  let node: unknown = doc;
  let at = "";
  for (const token of tokens) {
    for (let hops = 0; isObject(node) && typeof node.$ref === "string" && hops < MAX_REF_HOPS; hops++) {
      const target = pointerFromFragment(node.$ref);
      const found = target === undefined ? undefined : getByPointer(doc, target);
      if (!found?.found) break;
      at = target!;
      node = found.value;
    }
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = node[token];
    else return joinPointer(at, token);
    at = joinPointer(at, token);
  }
  return at;
}
