/**
 * The audit log's API (README.md#audit-log):
 *
 * - `GET /admin/audit`: one page of events, newest first, as JSON
 *   `{"team":…,"events":[…],"nextCursor"?:…}`. Filters `type`, `outcome`, `user`, `vendor`,
 *   `since`, `until` (ISO 8601 or epoch ms), `limit` (default 100, at most 1000), `cursor` (the
 *   previous page's `nextCursor`), `team` (viewers who see everything; `_gateway` is the log of
 *   events that belong to no team, and the default for them).
 * - `GET /admin/audit/export?format=ndjson|csv`: every matching event, streamed (paged inside).
 *
 * Access: `opsViewer(c, env, "audit")` (src/ops/access.ts): the ops token or a gateway admin see
 * any team's log, a team admin their own team's, members none. Every error is the gateway's JSON.
 *
 * A cursor is `base64url(JSON {v, id, f})`: the last event's id, and a digest of the team and
 * filters it was made for. A cursor sent with other filters is refused (400): it would silently
 * skip or repeat events. Editing its id only moves within a list the viewer may see anyway.
 *
 * @module
 */
import type { Context } from "hono";
import * as v from "valibot";
import {
  AUDIT_EVENT_TYPES,
  AUDIT_OUTCOMES,
  type AuditEvent,
  type AuditFilter,
  auditLogStub,
} from "../audit-events.ts";
import { base64UrlDecode, base64UrlEncode } from "../base64.ts";
import { GatewayError } from "../errors.ts";
import { opsViewer } from "../ops/access.ts";
import { MAX_AUDIT_PAGE } from "../ops/audit-log.ts";

type AuditContext = Context<{ Bindings: Env }>;

/** Events per page without `limit`. */
export const DEFAULT_AUDIT_LIMIT = 100;
/** The `team` value naming the log of events without a team (team ids cannot start with `_`). */
export const GATEWAY_LOG_TEAM = "_gateway";
/** Longest cursor accepted (a valid one is under 100 characters). */
const MAX_CURSOR_CHARS = 256;
/** Events per internal page of an export. */
const EXPORT_PAGE = MAX_AUDIT_PAGE;

/** `since`/`until`: epoch ms digits, or an ISO 8601 date-time `Date.parse` reads. */
const instant = (name: string) =>
  v.pipe(
    v.string(),
    v.maxLength(40, `${name}: at most 40 characters`),
    v.transform((text) => (/^\d{1,16}$/.test(text) ? Number(text) : Date.parse(text))),
    v.number(`${name}: an ISO 8601 time (2026-12-01T00:00:00Z) or epoch milliseconds`),
    v.check(
      (n) => Number.isSafeInteger(n) && n >= 0,
      `${name}: an ISO 8601 time (2026-12-01T00:00:00Z) or epoch milliseconds`,
    ),
  );

const querySchema = v.strictObject(
  {
    type: v.optional(v.picklist(AUDIT_EVENT_TYPES, `type: one of ${AUDIT_EVENT_TYPES.join(", ")}`)),
    outcome: v.optional(v.picklist(AUDIT_OUTCOMES, `outcome: one of ${AUDIT_OUTCOMES.join(", ")}`)),
    user: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9._@+-]{1,128}$/, "user: a user id"))),
    vendor: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,128}$/, "vendor: a vendor name"))),
    since: v.optional(instant("since")),
    until: v.optional(instant("until")),
    limit: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^\d{1,4}$/, `limit: an integer from 1 to ${MAX_AUDIT_PAGE}`),
        v.transform(Number),
        v.number(),
        v.minValue(1, `limit: an integer from 1 to ${MAX_AUDIT_PAGE}`),
        v.maxValue(MAX_AUDIT_PAGE, `limit: an integer from 1 to ${MAX_AUDIT_PAGE}`),
      ),
    ),
    cursor: v.optional(v.pipe(v.string(), v.maxLength(MAX_CURSOR_CHARS, "cursor: not one this API made"))),
    team: v.optional(
      v.pipe(v.string(), v.regex(/^(?:_gateway|[a-z0-9][a-z0-9_-]{0,63})$/, "team: a team id, or _gateway")),
    ),
    format: v.optional(v.picklist(["ndjson", "csv"], "format: ndjson or csv")),
  },
  (issue) =>
    issue.expected === "never"
      ? `unknown parameter (allowed: type, outcome, user, vendor, since, until, limit, cursor, team, format)`
      : "a query parameter",
);

type AuditQuery = v.InferOutput<typeof querySchema>;

function parseQuery(c: AuditContext): AuditQuery {
  const url = new URL(c.req.url);
  const raw: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (Object.hasOwn(raw, key)) throw new GatewayError("bad_request", `${key}: given more than once`);
    raw[key] = value;
  }
  const result = v.safeParse(querySchema, raw);
  if (!result.success) {
    const issue = result.issues[0];
    const key = issue?.path?.[0]?.key;
    throw new GatewayError("bad_request", issue?.message ?? "Invalid query.", {
      details: typeof key === "string" ? { parameter: key } : {},
    });
  }
  return result.output;
}

/** The team whose log the viewer asked for and may see (`undefined`: the gateway-wide log). */
async function teamOf(c: AuditContext, query: AuditQuery): Promise<string | undefined> {
  const viewer = await opsViewer(c, c.env, "audit");
  if (viewer.scope === "team") {
    if (query.team !== undefined && query.team !== viewer.teamId) {
      throw new GatewayError("forbidden", "You see your own team's audit log only.");
    }
    return viewer.teamId;
  }
  return query.team === undefined || query.team === GATEWAY_LOG_TEAM ? undefined : query.team;
}

function filterOf(query: AuditQuery): AuditFilter {
  return {
    type: query.type,
    outcome: query.outcome,
    userId: query.user,
    vendor: query.vendor,
    since: query.since,
    until: query.until,
  };
}

/** A digest of the team and filters a cursor belongs to. */
async function filterDigest(team: string | undefined, filter: AuditFilter): Promise<string> {
  const canonical = JSON.stringify([
    team ?? GATEWAY_LOG_TEAM,
    filter.type ?? null,
    filter.outcome ?? null,
    filter.userId ?? null,
    filter.vendor ?? null,
    filter.since ?? null,
    filter.until ?? null,
  ]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return base64UrlEncode(new Uint8Array(digest).slice(0, 12));
}

function encodeCursor(id: number, digest: string): string {
  return base64UrlEncode(new TextEncoder().encode(JSON.stringify({ v: 1, id, f: digest })));
}

const cursorSchema = v.strictObject({
  v: v.literal(1),
  id: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  f: v.pipe(v.string(), v.maxLength(64)),
});

function decodeCursor(cursor: string, digest: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(base64UrlDecode(cursor)));
  } catch {
    parsed = undefined;
  }
  const result = v.safeParse(cursorSchema, parsed);
  if (!result.success) {
    throw new GatewayError("bad_request", "cursor: not one this API made", {
      details: { parameter: "cursor" },
    });
  }
  if (result.output.f !== digest) {
    throw new GatewayError("bad_request", "cursor: made for other filters; repeat the query it came from", {
      details: { parameter: "cursor" },
    });
  }
  return result.output.id;
}

/** An event as the API shows it: `time` as ISO 8601, `timeMs` as stored. */
function publicEvent(event: AuditEvent): Record<string, unknown> {
  const { id, time, ...rest } = event;
  return { id, time: new Date(time).toISOString(), timeMs: time, ...rest };
}

/** `GET /admin/audit`. */
export async function auditListHandler(c: AuditContext): Promise<Response> {
  const query = parseQuery(c);
  if (query.format !== undefined) {
    throw new GatewayError("bad_request", "format: only on /admin/audit/export", {
      details: { parameter: "format" },
    });
  }
  const team = await teamOf(c, query);
  const filter = filterOf(query);
  const digest = await filterDigest(team, filter);
  const beforeId = query.cursor === undefined ? undefined : decodeCursor(query.cursor, digest);
  const limit = query.limit ?? DEFAULT_AUDIT_LIMIT;
  const events = await auditLogStub(c.env, team).query({ ...filter, beforeId, limit });
  const last = events.at(-1);
  const body: Record<string, unknown> = {
    team: team ?? GATEWAY_LOG_TEAM,
    events: events.map(publicEvent),
  };
  // A full page may have more behind it; a short one is the end.
  if (events.length === limit && last !== undefined) body.nextCursor = encodeCursor(last.id, digest);
  return c.json(body, 200, { "cache-control": "no-store" });
}

const CSV_COLUMNS = [
  "id",
  "time",
  "type",
  "outcome",
  "userId",
  "teamId",
  "clientId",
  "vendor",
  "tool",
  "detail",
  "requestId",
  "traceId",
] as const;

/**
 * One CSV cell (RFC 4180 quoting). A cell a spreadsheet would read as a formula (`=`, `+`, `-`,
 * `@`, tab or CR first: OWASP "CSV Injection"; and their full-width forms, which some locales'
 * spreadsheets read the same) gets a leading `'`, so it stays text.
 */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return "";
  let text = String(value);
  if (/^[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(event: Record<string, unknown>): string {
  return `${CSV_COLUMNS.map((column) => csvCell(event[column])).join(",")}\r\n`;
}

/** `GET /admin/audit/export?format=ndjson|csv`: every matching event, newest first, streamed. */
export async function auditExportHandler(c: AuditContext): Promise<Response> {
  const query = parseQuery(c);
  if (query.cursor !== undefined || query.limit !== undefined) {
    throw new GatewayError("bad_request", "The export takes filters only, not limit or cursor.");
  }
  const team = await teamOf(c, query);
  const filter = filterOf(query);
  const format = query.format ?? "ndjson";
  const stub = auditLogStub(c.env, team);
  // The first page before the response, so a failing store answers a JSON error, not a cut stream.
  const first = await stub.query({ ...filter, limit: EXPORT_PAGE });
  const encoder = new TextEncoder();
  let page: readonly AuditEvent[] = first;
  let started = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        if (format === "csv") controller.enqueue(encoder.encode(`${CSV_COLUMNS.join(",")}\r\n`));
      } else {
        const last = page.at(-1);
        page =
          page.length < EXPORT_PAGE || last === undefined
            ? []
            : await stub.query({ ...filter, beforeId: last.id, limit: EXPORT_PAGE });
      }
      if (page.length === 0) {
        controller.close();
        return;
      }
      let chunk = "";
      for (const event of page) {
        const shown = publicEvent(event);
        chunk += format === "csv" ? csvLine(shown) : `${JSON.stringify(shown)}\n`;
      }
      controller.enqueue(encoder.encode(chunk));
    },
  });
  const name = `audit-${team ?? "gateway"}.${format === "csv" ? "csv" : "ndjson"}`;
  return new Response(stream, {
    headers: {
      "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
      "content-disposition": `attachment; filename="${name}"`,
      "cache-control": "no-store",
    },
  });
}
