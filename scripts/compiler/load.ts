/**
 * Reads JSON and YAML documents and keeps a way back from a JSON pointer to
 * the line and column it came from, so every error can say where it is.
 *
 * @module
 */
import { open } from "node:fs/promises";
import { extname } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { type SpecProblem, SpecValidationError } from "./errors.ts";
import { tokensFromPointer } from "./pointer.ts";

/** Largest spec or referenced file read (GitHub's spec is 13 MB; far larger input is not a spec). */
export const DOCUMENT_MAX_BYTES = 64 * 1024 * 1024;
/** YAML alias expansions allowed while converting to JSON (guards against "billion laughs"). */
const YAML_MAX_ALIAS_COUNT = 1_000;

export type DocumentFormat = "json" | "yaml";

export interface Position {
  line: number;
  column: number;
}

export interface ParsedDocument {
  /** How the file is named in messages. */
  file: string;
  format: DocumentFormat;
  value: unknown;
  /** Line and column of the value a pointer names, when the pointer exists in this file. */
  locate(pointer: string): Position | undefined;
}

export function formatFromName(name: string, text: string): DocumentFormat {
  const ext = extname(name).toLowerCase();
  if (ext === ".json") return "json";
  if (ext === ".yaml" || ext === ".yml") return "yaml";
  return /^\s*[[{]/.test(text) ? "json" : "yaml";
}

/** Reads a regular file of at most `DOCUMENT_MAX_BYTES` (never a device or FIFO that could hang). */
export async function readTextFile(path: string): Promise<string> {
  const handle = await open(path, "r");
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(`${path} is not a regular file`);
    if (stat.size > DOCUMENT_MAX_BYTES) {
      throw new Error(`${path} is ${stat.size} bytes; the limit is ${DOCUMENT_MAX_BYTES}`);
    }
    return (await handle.readFile()).toString("utf8");
  } finally {
    await handle.close();
  }
}

/** Parses JSON or YAML text; syntax errors become a `SpecValidationError` with line and column. */
export function parseDocumentText(text: string, file: string, format: DocumentFormat): ParsedDocument {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (source.trim() === "") {
    throw new SpecValidationError(file, [{ message: "the file is empty", line: 1, column: 1 }]);
  }
  if (format === "json") {
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch (error) {
      throw new SpecValidationError(file, [jsonSyntaxProblem(source, error)]);
    }
    let yamlLocator: ((pointer: string) => Position | undefined) | undefined;
    return {
      file,
      format,
      value,
      // Positions are only needed when something is wrong, so the (slower) CST parse is lazy.
      locate: (pointer) => {
        yamlLocator ??= yamlPositions(source).locate;
        return yamlLocator(pointer);
      },
    };
  }
  const { document, locate, lineCounter } = yamlPositions(source);
  const problems: SpecProblem[] = document.errors.map((error) => {
    const pos = lineCounter.linePos(error.pos[0]);
    return { message: `YAML syntax error: ${firstLine(error.message)}`, line: pos.line, column: pos.col };
  });
  if (problems.length > 0) throw new SpecValidationError(file, problems);
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: YAML_MAX_ALIAS_COUNT });
  } catch (error) {
    throw new SpecValidationError(file, [{ message: `YAML error: ${firstLine(String(error))}` }]);
  }
  return { file, format, value, locate };
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}

function yamlPositions(source: string) {
  const lineCounter = new LineCounter();
  // `merge`: `<<` merge keys are common in hand-written OpenAPI YAML.
  const document = parseDocument(source, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
    version: "1.2",
    merge: true,
  });
  const locate = (pointer: string): Position | undefined => {
    const tokens = tokensFromPointer(pointer);
    if (!tokens) return undefined;
    let node: Node | null | undefined = document.contents as Node | null;
    let offset = node?.range?.[0];
    for (const token of tokens) {
      if (isMap(node)) {
        const pair = node.items.find((item) => {
          const key = isScalar(item.key) ? item.key.value : item.key;
          return String(key) === token;
        });
        if (!pair) return undefined;
        const keyNode = pair.key as Node | null;
        node = pair.value as Node | null;
        offset = node?.range?.[0] ?? keyNode?.range?.[0];
      } else if (isSeq(node)) {
        const item = node.items[Number(token)] as Node | undefined;
        if (!item || !/^\d+$/.test(token)) return undefined;
        node = item;
        offset = item.range?.[0];
      } else {
        return undefined;
      }
    }
    if (offset === undefined) return undefined;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  return { document, locate, lineCounter };
}

/** Finds where JSON text stops being JSON (V8's messages do not always carry a position). */
function jsonSyntaxProblem(text: string, error: unknown): SpecProblem {
  let located: { offset: number; message: string } | undefined;
  try {
    located = findJsonSyntaxError(text);
  } catch {
    located = undefined; // absurd nesting: fall back to V8's message
  }
  if (!located) return { message: `JSON syntax error: ${String((error as Error).message ?? error)}` };
  const { line, column } = offsetToPosition(text, located.offset);
  return { message: `JSON syntax error: ${located.message}`, line, column };
}

export function offsetToPosition(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** A small JSON recogniser that reports the first offending offset. */
export function findJsonSyntaxError(text: string): { offset: number; message: string } | undefined {
  let i = 0;
  const fail = (message: string): never => {
    throw new JsonSyntax(i, message);
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const describe = () => (i >= text.length ? "end of input" : `'${text[i]}'`);
  const str = () => {
    i++; // opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 32) fail("control character in string (escape it)");
      if (c === 92) {
        const next = text[i + 1];
        if (next === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            i++;
            fail("invalid \\u escape");
          }
          i += 6;
        } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
          i += 2;
        } else {
          i++;
          fail("invalid escape in string");
        }
      } else {
        i++;
      }
    }
    fail("unterminated string");
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a property name in double quotes, found ${describe()}`);
        str();
        ws();
        if (text[i] !== ":") fail(`expected ':' after property name, found ${describe()}`);
        i++;
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail(`expected ',' or '}' after property value, found ${describe()}`);
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail(`expected ',' or ']' after array element, found ${describe()}`);
      }
    }
    if (c === '"') {
      str();
      return;
    }
    const literal = /^(?:true|false|null)/.exec(text.slice(i, i + 5));
    if (literal) {
      i += literal[0].length;
      return;
    }
    const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (number) {
      i += number[0].length;
      return;
    }
    fail(`expected a value, found ${describe()}`);
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${describe()} after the document`);
  } catch (error) {
    if (error instanceof JsonSyntax) return { offset: error.offset, message: error.message };
    throw error;
  }
  return undefined;
}

class JsonSyntax extends Error {
  readonly offset: number;
  constructor(offset: number, message: string) {
    super(message);
    this.offset = offset;
  }
}
