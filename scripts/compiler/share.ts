/**
 * Shares repeated subschemas of one tool input schema through `$defs`, for schemas that
 * are over the size limit only because the same subschema is inlined many times
 * (Kubernetes' Pod: containers, initContainers and ephemeralContainers each inline the
 * same probes, volume mounts and resource requirements).
 *
 * References below {@link INLINE_REF_MAX_BYTES} are inlined because clients handle inline
 * schemas best; this pass runs only on a schema over the limit, and shares repeated
 * subschemas until the schema fits: the spec's own components first (named after them),
 * the one that saves the most first. Validation is unchanged:
 * `{"$ref": "#/$defs/<name>"}` holds exactly the schema it replaces.
 *
 * @module
 */
import type { JsonSchema } from "../../src/bundle/types.ts";
import { isObject } from "./pointer.ts";
import { subschemas } from "./schema.ts";

/** Subschemas smaller than this are not worth a `$ref` (it costs ~30 bytes per use). */
export const SHARE_MIN_BYTES = 256;
/** Sharing rounds before giving up (each shares one subschema everywhere it occurs). */
const MAX_SHARE_ROUNDS = 200;

export interface Shared {
  schema: JsonSchema;
  bytes: number;
  /** `$defs` names added. */
  added: string[];
}

interface Slot {
  parent: Record<string, unknown>;
  tokens: (string | number)[];
}

/** A copy of `schema` with repeated subschemas moved to `$defs` until it is at most `maxBytes`. */
export function shareRepeatedSubschemas(
  schema: JsonSchema,
  maxBytes: number,
  nameOf: (node: object) => string | undefined = () => undefined,
): Shared {
  // Names come from the original tree (object identity: the converter knows what each inlined object was).
  const names = new Map<string, string>();
  for (const slot of slots(schema)) {
    const node = read(slot);
    const name = isObject(node) ? nameOf(node) : undefined;
    if (name !== undefined) names.set(JSON.stringify(node), name);
  }
  const root = structuredClone(schema) as JsonSchema;
  const added: string[] = [];
  let bytes = JSON.stringify(root).length;
  for (let round = 0; round < MAX_SHARE_ROUNDS && bytes > maxBytes; round++) {
    const candidates = new Map<string, Slot[]>();
    for (const slot of slots(root)) {
      const node = read(slot);
      if (!isObject(node)) continue;
      const text = JSON.stringify(node);
      if (text.length < SHARE_MIN_BYTES) continue;
      const list = candidates.get(text);
      if (list === undefined) candidates.set(text, [slot]);
      else list.push(slot);
    }
    // The spec's own components first (what its author factored out), then any repeated subschema.
    let best: { text: string; slots: Slot[]; saving: number; named: boolean } | undefined;
    for (const [text, list] of candidates) {
      if (list.length < 2) continue;
      const saving = (list.length - 1) * text.length;
      const named = names.has(text);
      const better =
        best === undefined ||
        (named && !best.named) ||
        (named === best.named && (saving > best.saving || (saving === best.saving && text < best.text)));
      if (better) best = { text, slots: list, saving, named };
    }
    if (best === undefined) break;
    if (!isObject(root.$defs)) root.$defs = {};
    const defs = root.$defs as Record<string, unknown>;
    const name = defName(names.get(best.text), JSON.parse(best.text) as Record<string, unknown>, defs);
    defs[name] = JSON.parse(best.text);
    added.push(name);
    const ref = { $ref: `#/$defs/${name}` };
    // Slots were collected before any replacement: one inside another occurrence of a bigger
    // schema is already gone from the tree, and writing to it is harmless.
    for (const slot of best.slots) write(slot, { ...ref });
    bytes = JSON.stringify(root).length;
  }
  return { schema: root, bytes, added };
}

/** Every subschema position under the root (the root's `$defs` included), parents first. */
function* slots(root: JsonSchema): Generator<Slot> {
  const stack: Record<string, unknown>[] = [root];
  if (isObject(root.$defs)) {
    for (const name of Object.keys(root.$defs)) {
      const slot = { parent: root, tokens: ["$defs", name] };
      yield slot;
      const node = read(slot);
      if (isObject(node)) stack.push(node);
    }
  }
  while (stack.length > 0) {
    const node = stack.pop()!;
    for (const [tokens] of subschemas(node)) {
      const slot = { parent: node, tokens };
      yield slot;
      const child = read(slot);
      if (isObject(child)) stack.push(child);
    }
  }
}

function read({ parent, tokens }: Slot): unknown {
  let value: unknown = parent;
  for (const t of tokens) value = (value as Record<string | number, unknown>)[t];
  return value;
}

function write({ parent, tokens }: Slot, value: unknown): void {
  let holder = parent as Record<string | number, unknown>;
  for (const t of tokens.slice(0, -1)) holder = holder[t] as Record<string | number, unknown>;
  holder[tokens[tokens.length - 1]!] = value;
}

/** `$defs` name for a shared subschema: the component it came from, else its title, else "shared". */
function defName(
  origin: string | undefined,
  node: Record<string, unknown>,
  defs: Record<string, unknown>,
): string {
  const title =
    typeof node.title === "string" ? node.title.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 60) : "";
  const base = origin ?? (title !== "" && !/^_+$/.test(title) ? title : "shared");
  let name = base;
  for (let n = 2; Object.hasOwn(defs, name); n++) name = `${base}_${n}`;
  return name;
}
