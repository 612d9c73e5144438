/**
 * `GATEWAY_QUOTAS`: per-user and per-team call limits, per minute and per day, across vendors or
 * per vendor, with per-team overrides (README.md#quotas-and-per-user-rate-limits). Checked with
 * valibot once per env; a bad value is `invalid_configuration` naming `GATEWAY_QUOTAS` and the
 * path, like the auth variables. Unset: no quotas, and nothing on the call path changes.
 *
 * ```json
 * {"user": {"perMinute": 60, "perDay": 5000}, "team": {"perDay": 50000},
 *  "vendors": {"github": {"user": {"perMinute": 10}}},
 *  "teams": {"eng": {"team": {"perDay": 100000}, "user": {"perMinute": null}}},
 *  "whenUnavailable": "admit"}
 * ```
 *
 * A team's override replaces the default of the same scope, window and vendor; `null` there
 * lifts that default for the team. With `GATEWAY_AUTH=none` every call is the one local user
 * (quota-client.ts), so the user limits bound the whole gateway. That the overridden teams exist in `GATEWAY_TEAMS` is checked with the whole env
 * (src/health/configuration.ts), which sees the auth service's parse.
 *
 * @module
 */
import * as v from "valibot";
import { type EnvVars, envString, parseJsonVariable, TEAM_ID, VENDOR_NAME } from "../config.ts";
import { GatewayError } from "../errors.ts";
import { memoized } from "../memo.ts";
import type { QuotaUsage } from "./quota-types.ts";

/** Largest limit: a day of calls at the guard's ~1,000 calls/s per object, so any real limit fits. */
const MAX_QUOTA_LIMIT = 100_000_000;

const LIMIT = v.pipe(
  v.number("an integer"),
  v.integer("an integer"),
  v.minValue(1, "at least 1"),
  v.maxValue(MAX_QUOTA_LIMIT, `at most ${MAX_QUOTA_LIMIT}`),
);

const Windows = v.strictObject({ perMinute: v.optional(LIMIT), perDay: v.optional(LIMIT) });
/** In a team's override: `null` lifts the default for that team. */
const OverrideWindows = v.strictObject({
  perMinute: v.optional(v.nullable(LIMIT)),
  perDay: v.optional(v.nullable(LIMIT)),
});
const Scopes = v.strictObject({ user: v.optional(Windows), team: v.optional(Windows) });
const OverrideScopes = v.strictObject({
  user: v.optional(OverrideWindows),
  team: v.optional(OverrideWindows),
});

const QuotasSchema = v.strictObject({
  user: v.optional(Windows),
  team: v.optional(Windows),
  vendors: v.optional(v.record(VENDOR_NAME, Scopes)),
  teams: v.optional(
    v.record(
      TEAM_ID,
      v.strictObject({
        user: v.optional(OverrideWindows),
        team: v.optional(OverrideWindows),
        vendors: v.optional(v.record(VENDOR_NAME, OverrideScopes)),
      }),
    ),
  ),
  /** The quota guard cannot answer: `admit` (default) lets the call through uncounted, `refuse` refuses it. */
  whenUnavailable: v.optional(v.picklist(["admit", "refuse"], 'one of "admit", "refuse"')),
});

type QuotasJson = v.InferOutput<typeof QuotasSchema>;

/** One limit that applies to a call, before it is bound to the caller (`subject` comes from the call). */
export interface QuotaLimit {
  scope: QuotaUsage["scope"];
  window: QuotaUsage["window"];
  /** Absent: counts calls to every vendor. */
  vendor?: string;
  limit: number;
}

/** `GATEWAY_QUOTAS`, parsed, with the limits of each (team, vendor) resolved on first use. */
export interface QuotaPolicy {
  whenUnavailable: "admit" | "refuse";
  /** The limits of a call of a user of `teamId` (absent: no team) to `vendor`; empty: none apply. */
  limitsFor(teamId: string | undefined, vendor: string): readonly QuotaLimit[];
  /** The limits of every vendor the setting names plus the across-vendor ones: what `gateway_status` shows. */
  allLimitsFor(teamId: string | undefined): readonly QuotaLimit[];
  /** The teams `teams` overrides. */
  overriddenTeams: readonly string[];
}

const WINDOWS = [
  ["minute", "perMinute"],
  ["day", "perDay"],
] as const;
const SCOPES = ["user", "team"] as const;

type OverrideWindowsJson = v.InferOutput<typeof OverrideWindows>;

/** Own keys only: a vendor or team named `constructor` is just unknown. */
function own<T>(record: Record<string, T> | undefined, key: string | undefined): T | undefined {
  return record !== undefined && key !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

function ownKeys(record: Record<string, unknown> | undefined): string[] {
  return record === undefined ? [] : Object.keys(record);
}

function resolveLimits(
  json: QuotasJson,
  teamId: string | undefined,
  vendor: string | undefined,
): QuotaLimit[] {
  const team = own(json.teams, teamId);
  const limits: QuotaLimit[] = [];
  for (const scope of SCOPES) {
    // Team limits count a team's calls: a user without a team has none.
    if (scope === "team" && teamId === undefined) continue;
    const base = vendor === undefined ? json[scope] : own(json.vendors, vendor)?.[scope];
    const override: OverrideWindowsJson | undefined =
      vendor === undefined ? team?.[scope] : own(team?.vendors, vendor)?.[scope];
    for (const [window, field] of WINDOWS) {
      const value = override?.[field] !== undefined ? override[field] : base?.[field];
      if (value === undefined || value === null) continue;
      limits.push({ scope, window, ...(vendor === undefined ? {} : { vendor }), limit: value });
    }
  }
  return limits;
}

function buildPolicy(json: QuotasJson): QuotaPolicy {
  const perCall = new Map<string, readonly QuotaLimit[]>();
  const perTeam = new Map<string, readonly QuotaLimit[]>();
  const vendorsOf = (teamId: string | undefined) =>
    new Set([...ownKeys(json.vendors), ...ownKeys(own(json.teams, teamId)?.vendors)]);
  return {
    whenUnavailable: json.whenUnavailable ?? "admit",
    overriddenTeams: ownKeys(json.teams),
    limitsFor(teamId, vendor) {
      // Keys come from config (teams) and the registry (vendors): a bounded set.
      return memoized(perCall, `${teamId ?? ""}\n${vendor}`, () => {
        const named =
          own(json.vendors, vendor) !== undefined ||
          own(own(json.teams, teamId)?.vendors, vendor) !== undefined;
        return [
          ...resolveLimits(json, teamId, undefined),
          ...(named ? resolveLimits(json, teamId, vendor) : []),
        ];
      });
    },
    allLimitsFor(teamId) {
      return memoized(perTeam, teamId ?? "", () => [
        ...resolveLimits(json, teamId, undefined),
        ...[...vendorsOf(teamId)].sort().flatMap((vendor) => resolveLimits(json, teamId, vendor)),
      ]);
    },
  };
}

const policies = new WeakMap<object, QuotaPolicy | null | GatewayError>();

function parsePolicy(env: EnvVars): QuotaPolicy | null | GatewayError {
  const raw = envString(env, "GATEWAY_QUOTAS");
  if (raw === undefined) return null;
  try {
    return buildPolicy(parseJsonVariable("GATEWAY_QUOTAS", raw, QuotasSchema, {}));
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
}

/**
 * The quota policy of `env`, or `undefined` when `GATEWAY_QUOTAS` is unset: one `WeakMap` lookup
 * per call after the first.
 *
 * @throws {GatewayError} `invalid_configuration` naming `GATEWAY_QUOTAS`.
 */
export function loadQuotaPolicy(env: EnvVars): QuotaPolicy | undefined {
  const cached = memoized(policies, env, parsePolicy);
  if (cached instanceof GatewayError) throw cached;
  return cached ?? undefined;
}
