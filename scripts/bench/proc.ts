/**
 * Child processes for the bench: servers run pinned to one core, the load generator
 * to the other, so neither steals the other's CPU (`taskset`, Linux only).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/** The load generator's core; servers get `SERVER_CORE`. */
export const LOAD_CORE = 0;
export const SERVER_CORE = 1;
/** A server that does not print its ready line within this time is reported as failed. */
const READY_TIMEOUT_MS = 120_000;

let tasksetAvailable: boolean | undefined;
export function hasTaskset(): boolean {
  if (tasksetAvailable === undefined) {
    try {
      execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
      tasksetAvailable = true;
    } catch {
      tasksetAvailable = false;
    }
  }
  return tasksetAvailable;
}

export interface Child<T> {
  process: ChildProcess;
  /** The JSON object the child printed on its first stdout line. */
  ready: T;
  /** Everything the child wrote to stderr (for error reports). */
  stderr: () => string;
  stop(): Promise<void>;
}

/**
 * Spawns `command args` pinned to `core` and waits for its first stdout line that parses
 * as JSON. Stdout after that line and stderr are kept (bounded) for diagnostics.
 */
export function spawnPinned<T>(
  core: number,
  command: string,
  args: string[],
  opts: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    /** Parses the ready line; `null`: the child prints none, resolve once spawned. */
    readyLine?: ((line: string) => T | undefined) | null;
  } = {},
): Promise<Child<T>> {
  const [cmd, argv] = hasTaskset() ? ["taskset", ["-c", String(core), command, ...args]] : [command, args];
  const child = spawn(cmd as string, argv as string[], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let errText = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    errText = (errText + chunk.toString()).slice(-20_000);
  });
  const parse =
    opts.readyLine ??
    ((line: string) => {
      if (!line.startsWith("{")) return undefined;
      try {
        return JSON.parse(line) as T;
      } catch {
        return undefined;
      }
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
      // A child that ignores SIGTERM (a stuck runtime) must not hang the bench.
      setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
    });
  if (opts.readyLine === null) {
    child.stdout?.resume();
    return new Promise((resolve, reject) => {
      child.once("spawn", () =>
        resolve({ process: child, ready: undefined as T, stderr: () => errText, stop }),
      );
      child.once("error", reject);
    });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${command} ${args.join(" ")}: not ready after ${READY_TIMEOUT_MS} ms\n${errText}`));
    }, READY_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    let done = false;
    lines.on("line", (line) => {
      if (done) return;
      const value = parse(line.trim());
      if (value === undefined) return;
      done = true;
      clearTimeout(timer);
      resolve({ process: child, ready: value, stderr: () => errText, stop });
    });
    child.once("exit", (code, signal) => {
      if (done) return;
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(" ")} exited (${signal ?? code}) before ready\n${errText}`));
    });
  });
}

/** Resident set size of a process in bytes (Linux `/proc`), or undefined. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Direct children of `pid` (Linux `/proc`). */
export function childPids(pid: number): number[] {
  try {
    const out = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
    return out
      .split("\n")
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/** Process name from `/proc/<pid>/comm`. */
export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`; 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process (all its threads) has used, from `/proc/<pid>/stat`. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name (which may contain spaces).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
