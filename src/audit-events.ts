/**
 * What the audit log records, and how a request records it: the closed list of event types, one
 * event's fields, and {@link recordAudit} (the store is `AuditLog` in src/ops/audit-log.ts, one
 * SQLite-backed Durable Object per team). A leaf, so every layer that sees a security event
 * (auth routes, the MCP layer, upstream MCP definitions) records it without importing the
 * services above it (src/ops/ imports src/auth/ for operator access, so auth cannot import ops).
 *
 * Writes: each event goes to its team's object in the request that caused it, inside
 * `waitUntil` (the response never waits) and never buffered in isolate memory, so an evicted
 * isolate loses nothing not yet written. A failed write logs `audit_write_failed` once and drops
 * only that event. README.md#audit-log lists the types.
 *
 * @module
 */
import type { Context } from "hono";
import { type Clock, clockFor } from "./clock.ts";
import { errorText, log } from "./log.ts";
import { AUDIT_LOG_GATEWAY_NAME, auditLogTeamName } from "./storage/keys.ts";

/**
 * Every audit event type (closed: the API's `type` filter and the README list exactly these).
 *
 * - `sign_in`: a password or OpenID Connect sign-in, `success`, `failure` or `denied` (throttled)
 *   (`detail`: the method and, when it did not succeed, why).
 * - `consent_granted`: a user approved an MCP client (`clientId`; `detail`: the scopes).
 * - `client_registered`: dynamic client registration (RFC 7591) created an OAuth client.
 * - `token_revoked`: a user revoked a client's grant on /credentials, or refresh-token reuse
 *   revoked it (`detail` says which).
 * - `credential_connected`, `credential_changed`, `credential_removed`: a personal or team
 *   upstream credential was stored for the first time, replaced, or removed (`vendor`; `detail`:
 *   whose).
 * - `access_denied`: an MCP request refused by the team allowlist or for a missing scope.
 * - `write_tool_call`: a call of a tool that is not read-only (`outcome` from the call's result).
 * - `tool_definition_changed`: an upstream MCP server changed a tool after it was approved.
 */
export const AUDIT_EVENT_TYPES = [
  "sign_in",
  "consent_granted",
  "client_registered",
  "token_revoked",
  "credential_connected",
  "credential_changed",
  "credential_removed",
  "access_denied",
  "write_tool_call",
  "tool_definition_changed",
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export const AUDIT_OUTCOMES = ["success", "failure", "denied"] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** One event as a call site reports it (the time comes from the request's clock). */
export interface AuditEventInput {
  type: AuditEventType;
  outcome: AuditOutcome;
  /** The acting user's opaque id (`GATEWAY_USERS` id or `oidc.<hash>`), never an email. */
  userId?: string | undefined;
  /** The team whose log keeps the event; absent: the gateway-wide log. */
  teamId?: string | undefined;
  /** The OAuth client (MCP client) id. */
  clientId?: string | undefined;
  vendor?: string | undefined;
  tool?: string | undefined;
  /** Short text the gateway writes (never client input verbatim); bounded to {@link MAX_DETAIL_CHARS}. */
  detail?: string | undefined;
  requestId?: string | undefined;
  traceId?: string | undefined;
}

/** A stored event: {@link AuditEventInput} with its id and time. */
export interface AuditEvent extends Omit<AuditEventInput, "teamId"> {
  /** Increasing per log: newest first is `id` descending. */
  id: number;
  /** Epoch ms. */
  time: number;
  teamId?: string;
}

/** What a query selects (all optional, combined with AND). */
export interface AuditFilter {
  type?: AuditEventType | undefined;
  outcome?: AuditOutcome | undefined;
  userId?: string | undefined;
  vendor?: string | undefined;
  /** Epoch ms, inclusive. */
  since?: number | undefined;
  /** Epoch ms, exclusive. */
  until?: number | undefined;
}

/** One page: `beforeId` continues after the last event of the previous page. */
export interface AuditPageRequest extends AuditFilter {
  beforeId?: number | undefined;
  limit: number;
}

/** The object of a team's log, or of the gateway-wide one. */
export function auditLogStub(env: Env, teamId: string | undefined) {
  const name = teamId === undefined ? AUDIT_LOG_GATEWAY_NAME : auditLogTeamName(teamId);
  return env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(name));
}

/** Where {@link recordAudit} runs its write: the request's `waitUntil`. */
export type WaitUntil = (promise: Promise<unknown>) => void;

/**
 * Writes one event now (for code that already runs inside `waitUntil`); never throws: a failure
 * logs `audit_write_failed`.
 */
export async function writeAudit(
  env: Env,
  event: AuditEventInput,
  clock: Clock = clockFor(env),
): Promise<void> {
  try {
    await auditLogStub(env, event.teamId).append([{ ...event, time: clock.now() }]);
  } catch (error) {
    log({ event: "audit_write_failed", op: "append", type: event.type, error: errorText(error) });
  }
}

/**
 * Records one event: its time from the request's clock, written to its team's object inside
 * `waitUntil`. Never throws and never delays the response; a failed write logs
 * `audit_write_failed` and loses only this event.
 */
export function recordAudit(
  env: Env,
  waitUntil: WaitUntil,
  event: AuditEventInput,
  clock: Clock = clockFor(env),
): void {
  const write = writeAudit(env, event, clock);
  try {
    waitUntil(write);
  } catch {
    // No execution context (a test calling a handler directly): the write still runs.
  }
}

/**
 * {@link recordAudit} from a route: the request's `waitUntil`, request id and trace id (hono
 * variables set by src/errors.ts `requestId()` and the MCP endpoint) are filled in.
 */
export function recordAuditFrom(c: Context, event: AuditEventInput): void {
  const requestId: unknown = c.get("requestId");
  const traceId: unknown = c.get("traceId");
  let waitUntil: WaitUntil;
  try {
    const ctx = c.executionCtx;
    waitUntil = (promise) => ctx.waitUntil(promise);
  } catch {
    waitUntil = () => {};
  }
  recordAudit(c.env as Env, waitUntil, {
    ...(typeof requestId === "string" ? { requestId } : {}),
    ...(typeof traceId === "string" ? { traceId } : {}),
    ...event,
  });
}

/** What {@link auditToolCall} needs of an MCP request (a subset of the MCP layer's scope). */
export interface AuditCallScope {
  env: Env;
  waitUntil: WaitUntil;
  requestId: string;
  trace?: { traceId: string } | undefined;
  caller?: { userId: string; teamId?: string | undefined } | undefined;
}

/**
 * `write_tool_call`: a finished call of a tool that is not read-only (`ok`: the tool succeeded;
 * `errorCode`: the tool error's code, kept as the detail). Read-only calls are not audited
 * (metrics count them).
 */
export function auditToolCall(
  scope: AuditCallScope,
  call: { vendor: string; tool: string; readOnly: boolean; ok: boolean; errorCode?: string | undefined },
): void {
  if (call.readOnly) return;
  recordAudit(scope.env, scope.waitUntil, {
    type: "write_tool_call",
    outcome: call.ok ? "success" : "failure",
    userId: scope.caller?.userId,
    teamId: scope.caller?.teamId,
    vendor: call.vendor,
    tool: call.tool,
    detail: call.ok ? undefined : call.errorCode,
    requestId: scope.requestId,
    traceId: scope.trace?.traceId,
  });
}

/** `access_denied` for an MCP request: `detail` names the rule (`team allowlist`, `scope mcp:write`). */
export function auditDenied(
  scope: AuditCallScope,
  denial: { vendor?: string | undefined; tool?: string | undefined; detail: string },
): void {
  recordAudit(scope.env, scope.waitUntil, {
    type: "access_denied",
    outcome: "denied",
    userId: scope.caller?.userId,
    teamId: scope.caller?.teamId,
    vendor: denial.vendor,
    tool: denial.tool,
    detail: denial.detail,
    requestId: scope.requestId,
    traceId: scope.trace?.traceId,
  });
}
