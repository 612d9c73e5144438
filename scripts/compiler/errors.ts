/**
 * Typed compiler errors. Every failure the operator can fix is one of these,
 * with a message that says where (file, JSON pointer, line:column) and what is
 * allowed; anything else is a bug in the compiler.
 *
 * @module
 */

export type CompilerErrorCode =
  | "spec_invalid"
  | "vendor_config_invalid"
  | "vendor_name_invalid"
  | "spec_missing"
  | "spec_ambiguous"
  | "vendor_config_missing"
  | "specs_dir_invalid"
  | "mcp_snapshot_failed";

export class CompilerError extends Error {
  readonly code: CompilerErrorCode;
  constructor(code: CompilerErrorCode, message: string) {
    super(message);
    this.name = "CompilerError";
    this.code = code;
  }
}

/** One problem in a spec: what is wrong and where. */
export interface SpecProblem {
  message: string;
  /** JSON pointer into the document (`/paths/~1pets/get`), `""` for the root. */
  pointer?: string;
  /** The file the problem is in, when it is not the spec file itself. */
  file?: string;
  line?: number;
  column?: number;
}

export const SPEC_VALIDATION_FAILED = "Specification validation failed";

export function formatProblem(problem: SpecProblem): string {
  const where: string[] = [];
  if (problem.file !== undefined) where.push(problem.file);
  if (problem.pointer !== undefined) where.push(problem.pointer === "" ? "(document root)" : problem.pointer);
  if (problem.line !== undefined) {
    where.push(
      problem.column !== undefined ? `line ${problem.line}:${problem.column}` : `line ${problem.line}`,
    );
  }
  return where.length > 0 ? `${where.join(" ")}: ${problem.message}` : problem.message;
}

/** The spec is not a usable OpenAPI document; `problems` lists each error with its location. */
export class SpecValidationError extends CompilerError {
  readonly file: string;
  readonly problems: readonly SpecProblem[];
  constructor(file: string, problems: readonly SpecProblem[]) {
    const lines = problems.map((p) => `  - ${formatProblem(p)}`);
    super("spec_invalid", [`${SPEC_VALIDATION_FAILED}: ${file}`, ...lines].join("\n"));
    this.name = "SpecValidationError";
    this.file = file;
    this.problems = problems;
  }
}

/** One bad entry in vendor.json: the dotted key and what is allowed there. */
export interface VendorConfigIssue {
  key: string;
  message: string;
}

export class VendorConfigError extends CompilerError {
  readonly file: string;
  readonly issues: readonly VendorConfigIssue[];
  constructor(file: string, issues: readonly VendorConfigIssue[]) {
    const lines = issues.map((i) => `  - ${i.key === "" ? "(root)" : i.key}: ${i.message}`);
    super("vendor_config_invalid", [`Invalid vendor configuration: ${file}`, ...lines].join("\n"));
    this.name = "VendorConfigError";
    this.file = file;
    this.issues = issues;
  }
}
