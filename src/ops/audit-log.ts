/**
 * The audit log: security events (who signed in, consented, registered a client, revoked a
 * grant, connected or removed a credential, was denied, called a tool that changes data, and
 * which upstream tool definitions changed), kept in one SQLite-backed Durable Object per team
 * (`idFromName("team:<teamId>")`, src/storage/keys.ts) and one for events that belong to no team
 * (`"gateway"`: failed sign-ins of unknown users, users without a team, tool-definition changes).
 * README.md#audit-log documents the event types and the API (src/status/audit-api.ts); the design
 * note "Audit log: a SQLite Durable Object per team" says why this store.
 *
 * Writes come through `recordAudit` (src/audit-events.ts, a leaf so the auth routes can record
 * too): one event per RPC, in the request that caused it.
 *
 * Stored fields are opaque ids (user, team, OAuth client), names the gateway resolved (vendor,
 * tool) and a short detail the gateway writes; never an email, a token, an argument or a client IP
 * (the sign-in throttle keeps addresses where they are needed, for 15 minutes; an audit log that
 * outlives them by months would be a second, longer-lived copy of personal data). Every string is
 * bounded and stripped of control characters here, at the storage boundary.
 *
 * @module
 */
import { DurableObject } from "cloudflare:workers";
import {
  AUDIT_EVENT_TYPES,
  AUDIT_OUTCOMES,
  type AuditEvent,
  type AuditEventInput,
  type AuditEventType,
  type AuditOutcome,
  type AuditPageRequest,
} from "../audit-events.ts";
import { clockFor } from "../clock.ts";
import { auditRetentionDays } from "../config.ts";
import { errorText, log } from "../log.ts";
import { AUDIT_LOG_TABLE } from "../storage/keys.ts";

/** Longest `detail` kept: a sentence, never a body. */
export const MAX_DETAIL_CHARS = 200;
/** Longest id or name kept (tool names are at most 128 characters, MCP's SHOULD). */
const MAX_FIELD_CHARS = 128;
/** Events per {@link AuditLog.append} call: one request makes a handful at most. */
const MAX_EVENTS_PER_APPEND = 100;
/** Largest page the object answers (the API caps `limit` at the same). */
export const MAX_AUDIT_PAGE = 1000;
/**
 * Rows deleted per retention alarm run: bounds one alarm's CPU and write batch; when more are
 * due the alarm runs again after {@link RETENTION_BATCH_PAUSE_MS}.
 */
export const RETENTION_DELETE_BATCH = 1000;
/** Pause between deletion batches, so appends and queries run in between (still 1,800 rows/min). */
export const RETENTION_BATCH_PAUSE_MS = 2000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Retry delay of a retention run that could not read its setting. */
const RETENTION_RETRY_MS = 60 * 60 * 1000;

// Control characters (C0, DEL, C1) and the Unicode line/paragraph separators: never stored.
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function bounded(value: unknown, max: number): string | null {
  if (typeof value !== "string") return null;
  const clean = value.replace(CONTROL, " ").trim();
  if (clean === "") return null;
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

const COLUMNS =
  "id, time, type, outcome, user_id, team_id, client_id, vendor, tool, detail, request_id, trace_id";

type Row = {
  id: number;
  time: number;
  type: string;
  outcome: string;
  user_id: string | null;
  team_id: string | null;
  client_id: string | null;
  vendor: string | null;
  tool: string | null;
  detail: string | null;
  request_id: string | null;
  trace_id: string | null;
};

function eventOf(row: Row): AuditEvent {
  const event: AuditEvent = {
    id: row.id,
    time: row.time,
    type: row.type as AuditEventType,
    outcome: row.outcome as AuditOutcome,
  };
  if (row.user_id !== null) event.userId = row.user_id;
  if (row.team_id !== null) event.teamId = row.team_id;
  if (row.client_id !== null) event.clientId = row.client_id;
  if (row.vendor !== null) event.vendor = row.vendor;
  if (row.tool !== null) event.tool = row.tool;
  if (row.detail !== null) event.detail = row.detail;
  if (row.request_id !== null) event.requestId = row.request_id;
  if (row.trace_id !== null) event.traceId = row.trace_id;
  return event;
}

const TYPES: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);
const OUTCOMES: ReadonlySet<string> = new Set(AUDIT_OUTCOMES);

/**
 * One team's audit log (or the gateway-wide one): a SQLite table, an index per filter, and an
 * alarm that deletes events older than `AUDIT_RETENTION_DAYS` in batches. RPC methods only.
 */
export class AuditLog extends DurableObject<Env> {
  /** The object's clock (epoch ms) for retention. Tests replace it through `runInDurableObject`. */
  now: () => number = () => clockFor(this.env).now();

  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // Idempotent; runs before the first call (constructors are synchronous over SQLite).
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ${AUDIT_LOG_TABLE} (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      time INTEGER NOT NULL,
      type TEXT NOT NULL,
      outcome TEXT NOT NULL,
      user_id TEXT, team_id TEXT, client_id TEXT, vendor TEXT, tool TEXT,
      detail TEXT, request_id TEXT, trace_id TEXT
    )`);
    // Filters combine with `ORDER BY id DESC`: each index ends in id so a page is an index range.
    this.sql.exec(`CREATE INDEX IF NOT EXISTS audit_time ON ${AUDIT_LOG_TABLE} (time)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS audit_type ON ${AUDIT_LOG_TABLE} (type, id)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS audit_user ON ${AUDIT_LOG_TABLE} (user_id, id)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS audit_vendor ON ${AUDIT_LOG_TABLE} (vendor, id)`);
  }

  /**
   * Stores events (each with its time, epoch ms from the caller's clock). Invalid types or
   * outcomes are dropped (the union is closed); strings are bounded. Returns how many were stored.
   */
  async append(events: readonly (AuditEventInput & { time: number })[]): Promise<number> {
    let stored = 0;
    let oldest = Number.POSITIVE_INFINITY;
    for (const event of events.slice(0, MAX_EVENTS_PER_APPEND)) {
      if (!TYPES.has(event.type) || !OUTCOMES.has(event.outcome)) continue;
      if (!Number.isSafeInteger(event.time) || event.time < 0) continue;
      this.sql.exec(
        `INSERT INTO ${AUDIT_LOG_TABLE} (time, type, outcome, user_id, team_id, client_id, vendor, tool, detail, request_id, trace_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        event.time,
        event.type,
        event.outcome,
        bounded(event.userId, MAX_FIELD_CHARS),
        bounded(event.teamId, MAX_FIELD_CHARS),
        bounded(event.clientId, MAX_FIELD_CHARS * 4),
        bounded(event.vendor, MAX_FIELD_CHARS),
        bounded(event.tool, MAX_FIELD_CHARS),
        bounded(event.detail, MAX_DETAIL_CHARS),
        bounded(event.requestId, MAX_FIELD_CHARS),
        bounded(event.traceId, MAX_FIELD_CHARS),
      );
      stored += 1;
      oldest = Math.min(oldest, event.time);
    }
    if (stored > 0 && (await this.ctx.storage.getAlarm()) === null) {
      // The first expiry: the oldest new event's, so an object that only ever holds fresh events
      // sets one alarm per retention period, not one per write.
      const retention = this.retentionMs();
      const due = retention === undefined ? this.now() + RETENTION_RETRY_MS : oldest + retention;
      await this.ctx.storage.setAlarm(this.alarmTime(due));
    }
    return stored;
  }

  /** A page of events matching `request`, newest first. */
  query(request: AuditPageRequest): AuditEvent[] {
    const where: string[] = [];
    const bind: (string | number)[] = [];
    const add = (clause: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      bind.push(value);
    };
    add("id < ?", request.beforeId);
    add("type = ?", request.type);
    add("outcome = ?", request.outcome);
    add("user_id = ?", request.userId);
    add("vendor = ?", request.vendor);
    add("time >= ?", request.since);
    add("time < ?", request.until);
    const limit = Math.max(1, Math.min(MAX_AUDIT_PAGE, Math.trunc(request.limit)));
    const sql = `SELECT ${COLUMNS} FROM ${AUDIT_LOG_TABLE}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ${limit}`;
    return this.sql
      .exec<Row>(sql, ...bind)
      .toArray()
      .map(eventOf);
  }

  /** How many events the log holds (status and tests). */
  count(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${AUDIT_LOG_TABLE}`).one().n;
  }

  /**
   * Retention: deletes up to {@link RETENTION_DELETE_BATCH} events older than the setting, then
   * sets the next alarm (at once when more are due, else at the oldest remaining event's expiry;
   * none when the log is empty: the next append sets one).
   */
  override async alarm(): Promise<void> {
    const retention = this.retentionMs();
    const now = this.now();
    if (retention === undefined) {
      await this.ctx.storage.setAlarm(this.alarmTime(now + RETENTION_RETRY_MS));
      return;
    }
    const cutoff = now - retention;
    const deleted = this.sql.exec(
      `DELETE FROM ${AUDIT_LOG_TABLE} WHERE id IN (SELECT id FROM ${AUDIT_LOG_TABLE} WHERE time < ? ORDER BY time LIMIT ${RETENTION_DELETE_BATCH})`,
      cutoff,
    ).rowsWritten;
    if (deleted >= RETENTION_DELETE_BATCH) {
      await this.ctx.storage.setAlarm(Date.now() + RETENTION_BATCH_PAUSE_MS);
      return;
    }
    const oldest = this.sql
      .exec<{ t: number | null }>(`SELECT MIN(time) AS t FROM ${AUDIT_LOG_TABLE}`)
      .one().t;
    if (oldest !== null) await this.ctx.storage.setAlarm(this.alarmTime(oldest + retention));
  }

  private retentionMs(): number | undefined {
    try {
      return auditRetentionDays(this.env) * DAY_MS;
    } catch (error) {
      // An invalid setting deletes nothing (the Worker answers every route with the error).
      log({ event: "audit_write_failed", op: "retention", error: errorText(error) });
      return undefined;
    }
  }

  /**
   * Alarms run on the platform's clock; `due` is on the object's. The same in production;
   * under a test clock the alarm is run by the test (`runDurableObjectAlarm`), and this keeps it
   * from landing in the real past.
   */
  private alarmTime(due: number): number {
    return Date.now() + Math.max(0, due - this.now());
  }
}
