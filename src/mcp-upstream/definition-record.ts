/**
 * The per-vendor record of approved tool definitions (KV `tooldefs:<vendor>`, src/storage/keys.ts)
 * and the pure steps on it: comparing a fetched tool list with it ({@link observeDefinitions}) and
 * an operator's re-approval ({@link approveDefinitions}). No I/O here: the Worker
 * (`definitions.ts`) and the operator command (`scripts/approve-tools.ts`) share these functions.
 *
 * The record, JSON:
 *
 * ```json
 * {"version":1,"tools":[
 *   {"name":"search","approved":"<sha256 hex>","approvedAt":"2026-12-01T09:00:00.000Z"},
 *   {"name":"send","approved":"<hash>","approvedAt":"snapshot","current":"<hash>","changedAt":"2026-12-05T10:00:00.000Z"}]}
 * ```
 *
 * `name` is the upstream's tool name (before any vendor.json rename). `approved` is the definition
 * hash the gateway trusts: the first one it saw, or one an operator approved. `approvedAt` is when
 * that happened, or `"snapshot"` when the approved hash is the bundle's compile-time snapshot.
 * `current`/`changedAt`: the tool now comes with another definition, first seen at `changedAt`.
 * An array, not an object keyed by name: a hostile name such as `__proto__` is just a string.
 *
 * @module
 */
import * as v from "valibot";

export const DEFINITION_RECORD_VERSION = 1;
/**
 * Tools one record holds: hundreds of tools is a large server; an entry is ~250 bytes, so a record
 * stays well under 1 MB (KV allows 25 MiB, but every changed list rewrites the whole value).
 */
export const MAX_RECORDED_TOOLS = 1_000;
/** Longer upstream names are not recorded (MCP names SHOULD be at most 128 characters). */
export const MAX_RECORDED_NAME_CHARS = 128;
/** Definition hashes are SHA-256 hex (64); anything far longer is not one. */
const MAX_HASH_CHARS = 128;
/** `approvedAt` of an entry whose approved hash is the bundle's compile-time snapshot. */
export const SNAPSHOT_APPROVAL = "snapshot";

const HASH = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_HASH_CHARS));
const TIME = v.pipe(v.string(), v.maxLength(40));

const ENTRY = v.object({
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_RECORDED_NAME_CHARS)),
  approved: HASH,
  approvedAt: TIME,
  current: v.optional(HASH),
  changedAt: v.optional(TIME),
});

const RECORD = v.object({
  version: v.literal(DEFINITION_RECORD_VERSION),
  tools: v.pipe(v.array(ENTRY), v.maxLength(MAX_RECORDED_TOOLS)),
});

export type DefinitionEntry = v.InferOutput<typeof ENTRY>;
export type DefinitionRecord = v.InferOutput<typeof RECORD>;

/** A record with nothing in it: what a vendor starts with. */
export function emptyRecord(): DefinitionRecord {
  return { version: DEFINITION_RECORD_VERSION, tools: [] };
}

/** The stored text as a record; `undefined` when it is not one (never throws). */
export function parseRecord(text: string): DefinitionRecord | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = v.safeParse(RECORD, json);
  return result.success ? result.output : undefined;
}

export function serializeRecord(record: DefinitionRecord): string {
  return JSON.stringify(record);
}

/** What the comparison found for one listed tool. */
export type DefinitionState =
  /** Its hash is an approved one. */
  | { kind: "approved" }
  /** Never seen before: its hash is now the approved one (trust on first use). */
  | { kind: "new" }
  /** Another definition than the approved one. */
  | { kind: "changed"; approved: string; approvedAt: string; changedAt: string }
  /** Could not be recorded (the record is full, or the name is too long): it has no baseline. */
  | { kind: "unrecorded" }
  /** The record could not be read and there is no snapshot: nothing to compare with. */
  | { kind: "unknown" };

export interface Observation {
  name: string;
  hash: string;
  state: DefinitionState;
}

export interface ObservedList {
  /** The record with what this list added (new tools, changes, changes that went back). */
  record: DefinitionRecord;
  /** The record differs from the one given: it should be written. */
  dirty: boolean;
  /** Per listed tool, in list order. */
  observations: Observation[];
  /** Tools whose change this comparison recorded first (`current` was not this hash yet). */
  newlyChanged: Observation[];
}

/** The part of a listed tool the comparison reads. */
export interface ListedDefinition {
  upstreamName: string;
  definitionHash: string;
}

/**
 * Compares a tool list with the record. `record` undefined: the record could not be read; the
 * list is compared with the snapshot alone and nothing is recorded. `snapshot`: the bundle's
 * compile-time hashes by upstream name, approved like the record's. `now`: ISO time.
 */
export function observeDefinitions(
  record: DefinitionRecord | undefined,
  tools: readonly ListedDefinition[],
  snapshot: ReadonlyMap<string, string> | undefined,
  now: string,
): ObservedList {
  const writable = record !== undefined;
  const entries = new Map<string, DefinitionEntry>();
  for (const entry of record?.tools ?? []) entries.set(entry.name, entry);
  let dirty = false;
  const listed = new Set(tools.map((tool) => tool.upstreamName));
  // Entries of tools the list no longer has, oldest first: what gives way when the record is full.
  const unlisted = [...entries.keys()].filter((name) => !listed.has(name));
  const makeRoom = (): boolean => {
    if (entries.size < MAX_RECORDED_TOOLS) return true;
    const victim = unlisted.shift();
    if (victim === undefined) return false;
    entries.delete(victim);
    return true;
  };
  const observations: Observation[] = [];
  const newlyChanged: Observation[] = [];
  for (const { upstreamName: name, definitionHash: hash } of tools) {
    const observation = (state: DefinitionState): Observation => {
      const seen = { name, hash, state };
      observations.push(seen);
      return seen;
    };
    const snap = snapshot?.get(name);
    const entry = entries.get(name);
    if (entry === undefined && snap === undefined) {
      if (!writable) observation({ kind: "unknown" });
      else if (name.length > MAX_RECORDED_NAME_CHARS || !makeRoom()) observation({ kind: "unrecorded" });
      else {
        entries.set(name, { name, approved: hash, approvedAt: now });
        dirty = true;
        observation({ kind: "new" });
      }
      continue;
    }
    if (hash === snap || hash === entry?.approved) {
      if (writable && entry?.current !== undefined) {
        // The definition went back to an approved one: the change is over.
        entries.set(name, { name, approved: entry.approved, approvedAt: entry.approvedAt });
        dirty = true;
      }
      observation({ kind: "approved" });
      continue;
    }
    const approved = entry?.approved ?? (snap as string);
    const approvedAt = entry?.approvedAt ?? SNAPSHOT_APPROVAL;
    if (entry?.current === hash && entry.changedAt !== undefined) {
      observation({ kind: "changed", approved, approvedAt, changedAt: entry.changedAt });
      continue;
    }
    if (writable && entry === undefined && (name.length > MAX_RECORDED_NAME_CHARS || !makeRoom())) {
      // A snapshot tool whose change cannot be recorded is still a change against the snapshot.
      observation({ kind: "changed", approved, approvedAt, changedAt: now });
      continue;
    }
    if (writable) {
      entries.set(name, { name, approved, approvedAt, current: hash, changedAt: now });
      dirty = true;
    }
    newlyChanged.push(observation({ kind: "changed", approved, approvedAt, changedAt: now }));
  }
  return {
    record: dirty
      ? { version: DEFINITION_RECORD_VERSION, tools: [...entries.values()] }
      : (record ?? emptyRecord()),
    dirty,
    observations,
    newlyChanged,
  };
}

/** The record's tools whose definition changed since approval. */
export function changedEntries(
  record: DefinitionRecord,
): (DefinitionEntry & { current: string; changedAt: string })[] {
  return record.tools.filter(
    (entry): entry is DefinitionEntry & { current: string; changedAt: string } =>
      entry.current !== undefined && entry.changedAt !== undefined,
  );
}

export interface Approval {
  record: DefinitionRecord;
  /** Tools whose current definition is now the approved one. */
  approved: string[];
  /** Named tools that had no change to approve. */
  unchanged: string[];
  /** Named tools the record does not know. */
  unknown: string[];
}

/**
 * Makes the current definition of `names` (every changed tool when empty) the approved one, as
 * of `now` (ISO time).
 */
export function approveDefinitions(
  record: DefinitionRecord,
  names: readonly string[],
  now: string,
): Approval {
  const wanted = new Set(names);
  const known = new Set(record.tools.map((entry) => entry.name));
  const approved: string[] = [];
  const unchanged: string[] = [];
  const tools = record.tools.map((entry) => {
    if (wanted.size > 0 && !wanted.has(entry.name)) return entry;
    if (entry.current === undefined) {
      if (wanted.size > 0) unchanged.push(entry.name);
      return entry;
    }
    approved.push(entry.name);
    return { name: entry.name, approved: entry.current, approvedAt: now };
  });
  return {
    record: { version: DEFINITION_RECORD_VERSION, tools },
    approved,
    unchanged,
    unknown: [...wanted].filter((name) => !known.has(name)),
  };
}
