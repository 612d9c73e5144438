/**
 * `$ref` discovery, checking and bundling.
 *
 * Every `$ref` in the spec and in the files it references is found (skipping
 * literal data such as examples and extensions, where a `$ref` key is just
 * data), checked against the reference policy (`remote.ts`) and checked to
 * point somewhere. Referenced files are read by us, under the policy; the
 * bundling itself (rewriting external refs into internal ones) is done by
 * @apidevtools/json-schema-ref-parser, fed only from what we already read.
 *
 * @module
 */
import { resolve as resolvePath } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import $RefParser from "@apidevtools/json-schema-ref-parser";
import { type SpecProblem, SpecValidationError } from "./errors.ts";
import { formatFromName, type ParsedDocument, parseDocumentText, readTextFile } from "./load.ts";
import { fragmentFromPointer, getByPointer, isObject, joinPointer, pointerFromFragment } from "./pointer.ts";
import { decideFile, decideUrl, fetchRemoteDocument, type RefPolicy } from "./remote.ts";

/** Referenced documents one spec may pull in (guards against reference explosions). */
export const MAX_EXTERNAL_DOCUMENTS = 200;

/** Keys whose members are names chosen by the author, never keywords. */
const NAME_CONTAINERS = new Set([
  "properties",
  "patternProperties",
  "$defs",
  "definitions",
  "dependentSchemas",
  "schemas",
  "responses",
  "parameters",
  "examples",
  "requestBodies",
  "headers",
  "securitySchemes",
  "securityDefinitions",
  "links",
  "callbacks",
  "pathItems",
  "paths",
  "webhooks",
  "content",
  "encoding",
  "variables",
  "scopes",
  "mapping",
]);

/** Keywords whose values are literal data: a `$ref` inside is not a reference. */
const LITERAL_KEYS = new Set(["example", "default", "const", "enum"]);

/** Where a walker stands: keyword positions are OpenAPI/JSON Schema keywords, name positions are author-chosen names. */
interface WalkState {
  key: string | undefined;
  /** This value's members are names (`properties`, `paths`, `components/schemas`, ...). */
  container: boolean;
  /** This value is one entry of an `examples` map (its `value` is literal data). */
  exampleEntry: boolean;
}

const ROOT_STATE: WalkState = { key: undefined, container: false, exampleEntry: false };

/** The state of member `key` of a value in `parent` state; `undefined` when the member is literal data. */
function step(parent: WalkState, key: string, value: unknown, nextKey?: string): WalkState | undefined {
  const keyword = !parent.container;
  if (keyword) {
    if (LITERAL_KEYS.has(key) || key.startsWith("x-")) return undefined;
    const isArray =
      Array.isArray(value) || (value === undefined && nextKey !== undefined && /^\d+$/.test(nextKey));
    if (key === "examples" && isArray) return undefined;
    if (key === "value" && parent.exampleEntry) return undefined;
  }
  return {
    key,
    container: keyword && NAME_CONTAINERS.has(key),
    exampleEntry: parent.container && parent.key === "examples",
  };
}

/** Same rule for json-schema-ref-parser's path matchers (`#/a/b` strings). */
function isLiteralPath(path: string, value?: unknown): boolean {
  const hash = path.indexOf("#");
  const pointer = hash >= 0 ? path.slice(hash + 1) : path;
  const tokens = pointer.split("/").slice(1).map(decodeToken);
  let state: WalkState | undefined = ROOT_STATE;
  for (let i = 0; i < tokens.length && state; i++) {
    state = step(state, tokens[i]!, i === tokens.length - 1 ? value : undefined, tokens[i + 1]);
  }
  return state === undefined;
}

function decodeToken(token: string): string {
  let decoded = token;
  try {
    decoded = decodeURIComponent(token);
  } catch {}
  return decoded.replaceAll("~1", "/").replaceAll("~0", "~");
}

export interface RefSite {
  /** The `$ref` value. */
  ref: string;
  /** Pointer of the object that holds the `$ref`. */
  pointer: string;
}

/** Every `$ref` in a document, in document order (iterative: adversarial nesting cannot blow the stack). */
export function collectRefs(root: unknown): RefSite[] {
  const sites: RefSite[] = [];
  type Frame = { value: unknown; pointer: string; state: WalkState };
  const stack: Frame[] = [{ value: root, pointer: "", state: ROOT_STATE }];
  while (stack.length > 0) {
    const { value, pointer, state } = stack.pop()!;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        const item = value[i];
        if (typeof item !== "object" || item === null) continue;
        const next = step(state, String(i), item);
        if (next) stack.push({ value: item, pointer: `${pointer}/${i}`, state: next });
      }
      continue;
    }
    if (!isObject(value)) continue;
    const ref = value.$ref;
    if (typeof ref === "string" && !state.container) sites.push({ ref, pointer });
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const child = value[key];
      if (typeof child !== "object" || child === null) continue;
      const next = step(state, key, child);
      if (next) stack.push({ value: child, pointer: joinPointer(pointer, key), state: next });
    }
  }
  return sites;
}

interface LoadedDocument {
  /** Absolute path or http(s) URL, without fragment. */
  id: string;
  parsed: ParsedDocument;
}

function describePointerMiss(doc: unknown, pointer: string): string {
  const lookup = getByPointer(doc, pointer);
  if (lookup.found) return "";
  const parent = lookup.parent === "" ? "the document root" : fragmentFromPointer(lookup.parent);
  return ` ("${lookup.missingToken}" does not exist in ${parent})`;
}

export interface ResolvedSpec {
  /** The spec with every `$ref` internal (`#/...`). */
  document: unknown;
  /** Referenced documents that were pulled in (paths relative to the vendor folder, or URLs). */
  externalDocuments: string[];
}

/**
 * Checks every `$ref` (policy, existence, target) and bundles referenced files into the
 * spec. Problems are collected across all documents and thrown together.
 */
export async function resolveRefs(
  main: ParsedDocument,
  mainPath: string,
  policy: RefPolicy,
  displayName: (id: string) => string,
): Promise<ResolvedSpec> {
  const mainId = resolvePath(mainPath);
  const documents = new Map<string, LoadedDocument>([[mainId, { id: mainId, parsed: main }]]);
  const problems: SpecProblem[] = [];
  const queue: LoadedDocument[] = [documents.get(mainId)!];
  const failed = new Set<string>();
  let external = false;

  const problemAt = (doc: LoadedDocument, pointer: string, message: string): SpecProblem => {
    const pos = doc.parsed.locate(pointer);
    return {
      message,
      pointer,
      ...(doc.id !== mainId ? { file: displayName(doc.id) } : {}),
      ...(pos ? { line: pos.line, column: pos.column } : {}),
    };
  };

  while (queue.length > 0) {
    const doc = queue.shift()!;
    for (const site of collectRefs(doc.parsed.value)) {
      const hash = site.ref.indexOf("#");
      const location = hash >= 0 ? site.ref.slice(0, hash) : site.ref;
      const fragment = hash >= 0 ? site.ref.slice(hash) : "";
      const pointer = pointerFromFragment(fragment);
      if (pointer === undefined) {
        problems.push(
          problemAt(
            doc,
            site.pointer,
            `$ref "${site.ref}": only JSON-pointer fragments (#/...) are supported`,
          ),
        );
        continue;
      }
      let target: LoadedDocument | undefined;
      if (location === "") {
        target = doc;
      } else {
        external = true;
        const id = await targetId(doc.id, location);
        if (id === undefined) {
          problems.push(problemAt(doc, site.pointer, `$ref "${site.ref}" is not a valid reference`));
          continue;
        }
        if (failed.has(id)) continue;
        target = documents.get(id);
        if (!target) {
          const loaded = await loadReferenced(id, doc.id, policy, displayName);
          if ("problem" in loaded) {
            failed.add(id);
            problems.push(problemAt(doc, site.pointer, `$ref "${site.ref}" ${loaded.problem}`));
            if (loaded.nested) problems.push(...loaded.nested);
            continue;
          }
          if (documents.size >= MAX_EXTERNAL_DOCUMENTS) {
            failed.add(id);
            problems.push(
              problemAt(
                doc,
                site.pointer,
                `$ref "${site.ref}": more than ${MAX_EXTERNAL_DOCUMENTS} referenced documents`,
              ),
            );
            continue;
          }
          target = { id, parsed: loaded.parsed };
          documents.set(id, target);
          queue.push(target);
        }
      }
      const lookup = getByPointer(target.parsed.value, pointer);
      if (!lookup.found) {
        const where = target === doc ? "" : ` in ${displayName(target.id)}`;
        problems.push(
          problemAt(
            doc,
            site.pointer,
            `$ref "${site.ref}" points nowhere${where}${describePointerMiss(target.parsed.value, pointer)}`,
          ),
        );
      }
    }
  }
  if (problems.length > 0) throw new SpecValidationError(main.file, problems);
  if (!external) return { document: main.value, externalDocuments: [] };

  const bundled = await bundleLoaded(mainId, documents);
  const leftovers = collectRefs(bundled).filter((site) => !site.ref.startsWith("#"));
  if (leftovers.length > 0) {
    throw new SpecValidationError(
      main.file,
      leftovers.map((site) => ({
        pointer: site.pointer,
        message: `$ref "${site.ref}" could not be bundled`,
      })),
    );
  }
  return {
    document: bundled,
    externalDocuments: [...documents.keys()].filter((id) => id !== mainId).map(displayName),
  };
}

async function targetId(baseId: string, location: string): Promise<string | undefined> {
  const base = /^https?:/i.test(baseId) ? new URL(baseId) : pathToFileURL(baseId);
  let url: URL;
  try {
    url = new URL(location, base);
  } catch {
    return undefined;
  }
  url.hash = "";
  if (url.protocol === "file:") {
    try {
      return fileURLToPath(url);
    } catch {
      return undefined;
    }
  }
  return url.href;
}

type LoadResult = { parsed: ParsedDocument } | { problem: string; nested?: SpecProblem[] };

async function loadReferenced(
  id: string,
  fromId: string,
  policy: RefPolicy,
  displayName: (id: string) => string,
): Promise<LoadResult> {
  const isRemote = /^[a-z][a-z0-9+.-]*:/i.test(id);
  if (isRemote) {
    let url: URL;
    try {
      url = new URL(id);
    } catch {
      return { problem: "is not a valid URL" };
    }
    const decision = decideUrl(url, policy);
    if (!decision.allowed) return { problem: `refused: ${decision.reason}` };
    let text: string;
    try {
      text = await fetchRemoteDocument(url, decision.requirePublic);
    } catch (error) {
      return { problem: `could not be fetched: ${(error as Error).message}` };
    }
    return parseReferenced(text, id, displayName);
  }
  if (/^https?:/i.test(fromId))
    return { problem: "refused: a remote document may not reference local files" };
  const decision = await decideFile(id, policy);
  if (!decision.allowed) return { problem: `refused: ${decision.reason}` };
  let text: string;
  try {
    text = await readTextFile(id);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      problem:
        code === "ENOENT"
          ? `points to a file that does not exist (${displayName(id)})`
          : `cannot be read: ${(error as Error).message}`,
    };
  }
  return parseReferenced(text, id, displayName);
}

function parseReferenced(text: string, id: string, displayName: (id: string) => string): LoadResult {
  try {
    return { parsed: parseDocumentText(text, displayName(id), formatFromName(id, text)) };
  } catch (error) {
    if (error instanceof SpecValidationError) {
      return {
        problem: `points to a document that does not parse`,
        nested: error.problems.map((p) => ({ ...p, file: displayName(id) })),
      };
    }
    throw error;
  }
}

/** Rewrites external refs into internal ones; reads only the documents already loaded. */
async function bundleLoaded(mainId: string, documents: Map<string, LoadedDocument>): Promise<unknown> {
  const byId = (url: string): LoadedDocument | undefined => {
    if (documents.has(url)) return documents.get(url);
    try {
      const id = url.startsWith("file:")
        ? fileURLToPath(url)
        : /^https?:/i.test(url)
          ? new URL(url).href
          : resolvePath(decodeURI(url));
      return documents.get(id);
    } catch {
      return undefined;
    }
  };
  const parser = new $RefParser();
  const main = structuredClone(documents.get(mainId)!.parsed.value) as object;
  await parser.bundle(
    mainId,
    main as never,
    {
      resolve: {
        file: false,
        http: false,
        loaded: {
          order: 1,
          canRead: true,
          read: (file: { url: string }) => {
            if (!byId(file.url)) throw new Error(`${file.url} was not checked against the reference policy`);
            return file.url;
          },
        },
      },
      parse: {
        json: false,
        yaml: false,
        text: false,
        binary: false,
        loaded: {
          order: 1,
          canParse: true,
          parse: (file: { url: string }) => structuredClone(byId(file.url)!.parsed.value),
        },
      },
      resolveExcludedPathMatcher: isLiteralPath,
      bundle: { excludedPathMatcher: isLiteralPath },
    } as never,
  );
  return parser.schema;
}
