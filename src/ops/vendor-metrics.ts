/**
 * `VendorMetrics`: one SQLite-backed Durable Object per vendor (`idFromName(vendor)`) counting
 * every finished tool call of that vendor, from every isolate (src/ops/metrics.ts sends each
 * call's {@link CallSample} once, in `waitUntil`).
 *
 * Exact: every method is synchronous over SQLite, so no two `record`s interleave and each
 * sample is added exactly once; an answer leaves the object only after its writes are durable.
 *
 * What it keeps (tables: src/storage/keys.ts, README "Storage schema"):
 * - per (tool, outcome), the count of each minute slot (kept {@link MINUTE_SLOTS_KEPT_MS}) and each
 *   hour slot (kept {@link HOUR_SLOTS_KEPT_MS}): the `hour` and `day` windows of {@link snapshot};
 * - per (tool, slot), a latency histogram over {@link LATENCY_BOUNDS_MS} (every outcome counts);
 * - totals since the object was created, never pruned: the Prometheus counters and histograms
 *   (`totals`), monotonic whatever the alarm deletes;
 * - the last {@link RECENT_FAILURES} failures (outcomes other than `ok` and `tool_error`).
 * A call writes only its minute row (one statement: the write is what a call costs). An alarm every
 * {@link PRUNE_INTERVAL_MS} folds the finished minutes into their hour rows and the totals (`fold`,
 * synchronous, so each minute is added exactly once; reads add the minutes not folded yet) and
 * deletes slots past their retention.
 *
 * Percentiles: as Prometheus' `histogram_quantile` computes them, so the JSON and a dashboard
 * built on `/metrics` agree: the bucket holding the rank, and linear interpolation inside it
 * (the first bucket starts at 0; a rank in the `+Inf` bucket answers the last finite bound).
 * Error bound: the estimate always lies in the same bucket as the true percentile, so it is off
 * by less than that bucket's width: at most the upper bound, at least the lower bound of the
 * true value's bucket, i.e. within a factor 2.5 of the truth (the widest ratio of the 1-2-5
 * series), and exact when the samples are spread evenly within the bucket.
 *
 * @module
 */
import { DurableObject } from "cloudflare:workers";
import {
  CALL_OUTCOMES,
  CALL_SAMPLE_MESSAGE_MAX_CHARS,
  type CallOutcome,
  type CallSample,
} from "../call-outcome.ts";
import {
  VENDOR_METRICS_FAILURES_TABLE,
  VENDOR_METRICS_FOLDED_KEY,
  VENDOR_METRICS_SLOTS_TABLE,
} from "../storage/keys.ts";
import type {
  MetricsBucket,
  MetricsWindow,
  OutcomeCounts,
  RecentFailure,
  ToolMetrics,
  VendorMetricsSnapshot,
  VendorMetricsTotals,
} from "./metrics-types.ts";

/**
 * Upper bounds (ms, inclusive like Prometheus' `le`) of the latency buckets; a last `+Inf`
 * bucket follows. Log-spaced 1-2-5 up to the longest `TOOL_EXECUTION_TIMEOUT` default (90 s).
 */
export const LATENCY_BOUNDS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 90_000,
] as const;
/** Buckets per histogram: the finite ones and `+Inf`. */
const BUCKETS = LATENCY_BOUNDS_MS.length + 1;

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
/** Minute slots: the hour window (60) plus room for a late sample or a clock a little behind. */
export const MINUTE_SLOTS_KEPT_MS = 2 * HOUR_MS;
/** Hour slots: the day window (24) plus the same room. */
export const HOUR_SLOTS_KEPT_MS = 26 * HOUR_MS;
/** How often the alarm prunes while the object holds slots. */
export const PRUNE_INTERVAL_MS = 10 * MINUTE_MS;
/** Failures kept for "recent failures". */
export const RECENT_FAILURES = 20;
/** Longest tool name stored: names come from compiled bundles; this bounds a row whatever they hold. */
const MAX_TOOL_CHARS = 200;
/** Longest error code stored (codes are short identifiers). */
const MAX_ERROR_CODE_CHARS = 64;
/** Samples per `record`: one per call today; a bound keeps one RPC from holding the object long. */
export const MAX_SAMPLES_PER_RECORD = 1_000;

/** Slot kinds in the tables' `kind` column; totals live in slot 0 of kind {@link TOTAL}. */
const MINUTE = 0;
const HOUR = 1;
const TOTAL = 2;

const OUTCOMES: ReadonlySet<string> = new Set(CALL_OUTCOMES);
/** The slot table's count columns: calls per outcome (`o_ok`, …) and per latency bucket (`b0` … `b15`). */
const OUTCOME_COLUMNS = CALL_OUTCOMES.map((outcome) => `o_${outcome}`);
const BUCKET_COLUMNS = Array.from({ length: BUCKETS }, (_, i) => `b${i}`);

/** The summed count columns, in table order (`sum(sum_ms) AS sum_ms, sum(o_ok) AS o_ok, …`). */
const SUMS = ["sum_ms", ...OUTCOME_COLUMNS, ...BUCKET_COLUMNS].map((c) => `sum(${c}) AS ${c}`).join(", ");

/** A row of the slot table. */
type SlotRow = { kind: number; start: number; tool: string; sum_ms: number } & Record<
  string,
  SqlStorageValue
>;

/** Outcomes that count as errors in a window: the vendor or the gateway failed the call. */
export function isErrorOutcome(outcome: CallOutcome): boolean {
  return outcome !== "ok" && outcome !== "tool_error";
}

/** The histogram bucket a latency falls in (`le` inclusive; NaN and negatives in the first). */
export function latencyBucket(latencyMs: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) {
    if (!(latencyMs > LATENCY_BOUNDS_MS[i]!)) return i;
  }
  return LATENCY_BOUNDS_MS.length;
}

/**
 * The `q` quantile (0 < q ≤ 1) of a histogram (counts per bucket), as Prometheus'
 * `histogram_quantile` computes it; `undefined` for an empty one.
 */
export function histogramQuantile(q: number, counts: readonly number[]): number | undefined {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] ?? 0;
    if (n > 0 && below + n >= rank) {
      if (i >= LATENCY_BOUNDS_MS.length) return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1];
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const upper = LATENCY_BOUNDS_MS[i]!;
      return lower + (upper - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1];
}

/** Percentiles of a histogram, rounded to 0.01 ms; absent when it is empty. */
function percentiles(counts: readonly number[]): Pick<MetricsWindow, "p50Ms" | "p95Ms" | "p99Ms"> {
  const p50 = histogramQuantile(0.5, counts);
  if (p50 === undefined) return {};
  const round = (v: number | undefined) => Math.round((v ?? 0) * 100) / 100;
  return {
    p50Ms: round(p50),
    p95Ms: round(histogramQuantile(0.95, counts)),
    p99Ms: round(histogramQuantile(0.99, counts)),
  };
}

/** A sample as stored: checked and bounded (the sender is the gateway, but a row must stay small). */
function storable(sample: CallSample): CallSample | undefined {
  if (typeof sample !== "object" || sample === null) return undefined;
  if (typeof sample.tool !== "string" || !OUTCOMES.has(sample.outcome)) return undefined;
  if (!Number.isFinite(sample.time) || !Number.isFinite(sample.latencyMs)) return undefined;
  return {
    ...sample,
    tool: sample.tool.slice(0, MAX_TOOL_CHARS),
    latencyMs: Math.max(0, sample.latencyMs),
    ...(typeof sample.errorCode === "string"
      ? { errorCode: sample.errorCode.slice(0, MAX_ERROR_CODE_CHARS) }
      : {}),
    ...(typeof sample.message === "string"
      ? { message: sample.message.slice(0, CALL_SAMPLE_MESSAGE_MAX_CHARS) }
      : {}),
  };
}

const slotStart = (time: number, size: number) => Math.floor(time / size) * size;

interface Acc {
  calls: number;
  errors: number;
  outcomes: OutcomeCounts;
  latency: number[];
}

const emptyAcc = (): Acc => ({ calls: 0, errors: 0, outcomes: {}, latency: new Array(BUCKETS).fill(0) });

function addCount(acc: Acc, outcome: CallOutcome, count: number): void {
  acc.calls += count;
  if (isErrorOutcome(outcome)) acc.errors += count;
  acc.outcomes[outcome] = (acc.outcomes[outcome] ?? 0) + count;
}

function windowTotals(acc: Acc): Omit<MetricsWindow, "buckets"> {
  return { calls: acc.calls, errors: acc.errors, outcomes: acc.outcomes, ...percentiles(acc.latency) };
}

export class VendorMetrics extends DurableObject<Env> {
  /** The object's clock for pruning (epoch ms). Tests replace it through `runInDurableObject`. */
  now: () => number = () => Date.now();

  private readonly sql: SqlStorage;
  /** An alarm is set (read once at start, then kept here so `record` never waits on storage). */
  private alarmSet = false;
  /** Minute rows before this (epoch ms) are in their hour rows and the totals too (`fold`). */
  private folded: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // One row per (slot, tool): a column per outcome and per latency bucket, so a call is one statement.
    const counters = [...OUTCOME_COLUMNS, ...BUCKET_COLUMNS].map((c) => `${c} INTEGER NOT NULL DEFAULT 0`);
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS ${VENDOR_METRICS_SLOTS_TABLE} (
         kind INTEGER NOT NULL, start INTEGER NOT NULL, tool TEXT NOT NULL, sum_ms REAL NOT NULL DEFAULT 0,
         ${counters.join(", ")}, PRIMARY KEY (kind, start, tool)) WITHOUT ROWID`,
    );
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS ${VENDOR_METRICS_FAILURES_TABLE} (
         id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, tool TEXT NOT NULL,
         outcome TEXT NOT NULL, error_code TEXT, message TEXT)`,
    );
    this.folded = ctx.storage.kv.get<number>(VENDOR_METRICS_FOLDED_KEY) ?? 0;
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmSet = (await ctx.storage.getAlarm()) !== null;
    });
  }

  /** Counts each finished call in its minute row (and, for a failure, in the recent failures). */
  record(samples: CallSample[]): number {
    let recorded = 0;
    for (const raw of samples.slice(0, MAX_SAMPLES_PER_RECORD)) {
      const sample = storable(raw);
      if (sample === undefined) continue;
      this.add(sample);
      recorded += 1;
    }
    if (recorded > 0 && !this.alarmSet) {
      this.alarmSet = true;
      void this.ctx.storage.setAlarm(Date.now() + PRUNE_INTERVAL_MS);
    }
    return recorded;
  }

  /** The `hour` and `day` windows ending in the slot of `now`, per vendor and per tool, and recent failures. */
  snapshot(now: number): VendorMetricsSnapshot {
    const currentMinute = slotStart(now, MINUTE_MS);
    const currentHour = slotStart(now, HOUR_MS);
    const hourFrom = currentMinute - 59 * MINUTE_MS;
    const dayFrom = currentHour - 23 * HOUR_MS;
    const hour = this.window(MINUTE, hourFrom, currentMinute, MINUTE_MS, 60);
    const day = this.window(HOUR, dayFrom, currentHour, HOUR_MS, 24);
    const toolNames = [...new Set([...hour.tools.keys(), ...day.tools.keys()])].sort();
    const tools: ToolMetrics[] = toolNames.map((tool) => ({
      tool,
      hour: windowTotals(hour.tools.get(tool) ?? emptyAcc()),
      day: windowTotals(day.tools.get(tool) ?? emptyAcc()),
    }));
    return {
      vendor: this.ctx.id.name ?? "",
      generatedAt: now,
      hour: hour.window,
      day: day.window,
      tools,
      recentFailures: this.recentFailures(),
    };
  }

  /** Counts and latency histograms since the object was created, for Prometheus (never pruned). */
  totals(): VendorMetricsTotals {
    const calls: VendorMetricsTotals["calls"] = [];
    const latency: VendorMetricsTotals["latency"] = [];
    for (const row of this.sql.exec<SlotRow>(
      `SELECT tool, ${SUMS} FROM ${VENDOR_METRICS_SLOTS_TABLE}
       WHERE kind = ${TOTAL} OR (kind = ${MINUTE} AND start >= ?) GROUP BY tool ORDER BY tool`,
      this.folded,
    )) {
      for (const outcome of CALL_OUTCOMES) {
        const count = row[`o_${outcome}`] as number;
        if (count > 0) calls.push({ tool: row.tool, outcome, count });
      }
      const buckets = BUCKET_COLUMNS.map((c) => row[c] as number);
      latency.push({ tool: row.tool, buckets, sumMs: row.sum_ms, count: buckets.reduce((a, n) => a + n, 0) });
    }
    return { vendor: this.ctx.id.name ?? "", boundsMs: [...LATENCY_BOUNDS_MS], calls, latency };
  }

  /** Forgets every count (an operator starting over; tests). */
  reset(): void {
    this.sql.exec(`DELETE FROM ${VENDOR_METRICS_SLOTS_TABLE}`);
    this.sql.exec(`DELETE FROM ${VENDOR_METRICS_FAILURES_TABLE}`);
    this.folded = 0;
    this.ctx.storage.kv.delete(VENDOR_METRICS_FOLDED_KEY);
  }

  /** Deletes slots past their retention; runs again while any slot is left. */
  override async alarm(): Promise<void> {
    this.prune(this.now());
    const left = this.sql
      .exec<{ n: number }>(`SELECT count(*) AS n FROM ${VENDOR_METRICS_SLOTS_TABLE} WHERE kind != ?`, TOTAL)
      .one().n;
    this.alarmSet = left > 0;
    if (this.alarmSet) await this.ctx.storage.setAlarm(Date.now() + PRUNE_INTERVAL_MS);
  }

  /** Deletes minute and hour slots older than their retention at `now`. */
  prune(now: number): void {
    this.fold(now);
    const table = VENDOR_METRICS_SLOTS_TABLE;
    this.sql.exec(
      `DELETE FROM ${table} WHERE kind = ? AND start < ?`,
      MINUTE,
      Math.min(now - MINUTE_SLOTS_KEPT_MS, this.folded),
    );
    this.sql.exec(`DELETE FROM ${table} WHERE kind = ? AND start < ?`, HOUR, now - HOUR_SLOTS_KEPT_MS);
  }

  /**
   * Adds the minute rows before the minute of `now` that are not folded yet to their hour rows and
   * the totals, in one synchronous step, so each minute is counted in them exactly once.
   */
  private fold(now: number): void {
    const through = slotStart(now, MINUTE_MS);
    if (through <= this.folded) return;
    const table = VENDOR_METRICS_SLOTS_TABLE;
    const columns = ["sum_ms", ...OUTCOME_COLUMNS, ...BUCKET_COLUMNS];
    const update = columns.map((c) => `${c} = ${c} + excluded.${c}`).join(", ");
    for (const [kind, start, group] of [
      [HOUR, `(start / ${HOUR_MS}) * ${HOUR_MS}`, "2, 3"],
      [TOTAL, "0", "3"],
    ] as const) {
      this.sql.exec(
        `INSERT INTO ${table} (kind, start, tool, ${columns.join(", ")})
         SELECT ${kind}, ${start}, tool, ${SUMS} FROM ${table}
         WHERE kind = ${MINUTE} AND start >= ? AND start < ? GROUP BY ${group}
         ON CONFLICT DO UPDATE SET ${update}`,
        this.folded,
        through,
      );
    }
    this.folded = through;
    this.ctx.storage.kv.put(VENDOR_METRICS_FOLDED_KEY, through);
  }

  private add(sample: CallSample): void {
    const o = `o_${sample.outcome}`;
    const b = BUCKET_COLUMNS[latencyBucket(sample.latencyMs)]!;
    const { tool, latencyMs } = sample;
    const minute = slotStart(sample.time, MINUTE_MS);
    // The minute row; its hour and total rows get it when the alarm folds it (one row per call).
    // A minute folded already (a late sample) goes into all three at once.
    const late = minute < this.folded;
    this.sql.exec(
      `INSERT INTO ${VENDOR_METRICS_SLOTS_TABLE} (kind, start, tool, sum_ms, ${o}, ${b})
       VALUES (${MINUTE}, ?, ?, ?, 1, 1)${late ? `, (${HOUR}, ?, ?, ?, 1, 1), (${TOTAL}, 0, ?, ?, 1, 1)` : ""}
       ON CONFLICT DO UPDATE SET sum_ms = sum_ms + excluded.sum_ms, ${o} = ${o} + 1, ${b} = ${b} + 1`,
      ...[minute, tool, latencyMs],
      ...(late ? [slotStart(sample.time, HOUR_MS), tool, latencyMs, tool, latencyMs] : []),
    );
    if (isErrorOutcome(sample.outcome)) {
      this.sql.exec(
        `INSERT INTO ${VENDOR_METRICS_FAILURES_TABLE} (time, tool, outcome, error_code, message) VALUES (?, ?, ?, ?, ?)`,
        sample.time,
        sample.tool,
        sample.outcome,
        sample.errorCode ?? null,
        sample.message ?? null,
      );
      this.sql.exec(
        `DELETE FROM ${VENDOR_METRICS_FAILURES_TABLE} WHERE id <= (SELECT max(id) FROM ${VENDOR_METRICS_FAILURES_TABLE}) - ?`,
        RECENT_FAILURES,
      );
    }
  }

  /** `count` slots of `size` from `from` to `last` (inclusive), oldest first, with totals and per-tool sums. */
  private window(
    kind: number,
    from: number,
    last: number,
    size: number,
    count: number,
  ): { window: MetricsWindow; tools: Map<string, Acc> } {
    const slots: Acc[] = Array.from({ length: count }, emptyAcc);
    const whole = emptyAcc();
    const tools = new Map<string, Acc>();
    const toolAcc = (tool: string) => {
      let acc = tools.get(tool);
      if (acc === undefined) {
        acc = emptyAcc();
        tools.set(tool, acc);
      }
      return acc;
    };
    // The day window's hour rows hold folded minutes only; the minutes not folded yet are added from their own rows.
    const unfolded = kind === HOUR ? this.folded : Number.POSITIVE_INFINITY;
    for (const row of this.sql.exec<SlotRow>(
      `SELECT * FROM ${VENDOR_METRICS_SLOTS_TABLE}
       WHERE start >= ? AND start <= ? AND (kind = ? OR (kind = ${MINUTE} AND start >= ?))`,
      from,
      last + size - 1,
      kind,
      unfolded,
    )) {
      const accs = [slots[Math.floor((row.start - from) / size)]!, whole, toolAcc(row.tool)];
      for (const outcome of CALL_OUTCOMES) {
        const count = row[`o_${outcome}`] as number;
        if (count > 0) for (const acc of accs) addCount(acc, outcome, count);
      }
      BUCKET_COLUMNS.forEach((column, i) => {
        const count = row[column] as number;
        if (count > 0) for (const acc of accs) acc.latency[i] = (acc.latency[i] ?? 0) + count;
      });
    }
    const buckets: MetricsBucket[] = slots.map((acc, i) => ({
      start: from + i * size,
      ...windowTotals(acc),
    }));
    return { window: { buckets, ...windowTotals(whole) }, tools };
  }

  private recentFailures(): RecentFailure[] {
    return this.sql
      .exec<{
        time: number;
        tool: string;
        outcome: string;
        error_code: string | null;
        message: string | null;
      }>(
        `SELECT time, tool, outcome, error_code, message FROM ${VENDOR_METRICS_FAILURES_TABLE} ORDER BY id DESC LIMIT ?`,
        RECENT_FAILURES,
      )
      .toArray()
      .map((r) => ({
        time: r.time,
        tool: r.tool,
        outcome: r.outcome as CallOutcome,
        ...(r.error_code === null ? {} : { errorCode: r.error_code }),
        ...(r.message === null ? {} : { message: r.message }),
      }));
  }
}
