/**
 * The audit log's store (src/ops/audit-log.ts): retention by the object's alarm on the injected
 * clock, in bounded batches; what it keeps of hostile strings; events surviving the object being
 * thrown away (no isolate memory holds them); and the `AUDIT_RETENTION_DAYS` setting.
 */
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type AuditEventInput, auditLogStub } from "../../../src/audit-events.ts";
import { auditRetentionDays, DEFAULT_AUDIT_RETENTION_DAYS } from "../../../src/config.ts";
import { GatewayError } from "../../../src/errors.ts";
import {
  type AuditLog,
  RETENTION_BATCH_PAUSE_MS,
  RETENTION_DELETE_BATCH,
} from "../../../src/ops/audit-log.ts";
import { gatewayFetch, type TestEnv } from "../auth/helpers.ts";

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 11, 5, 12);

function event(time: number, more: Partial<AuditEventInput> = {}): AuditEventInput & { time: number } {
  return { type: "sign_in", outcome: "success", userId: "u1", time, ...more };
}

async function appendMany(stub: DurableObjectStub<AuditLog>, events: (AuditEventInput & { time: number })[]) {
  for (let i = 0; i < events.length; i += 100) await stub.append(events.slice(i, i + 100));
}

/** Sets the object's clock (the one seam its alarm reads). */
async function setNow(stub: DurableObjectStub<AuditLog>, now: number): Promise<void> {
  await runInDurableObject(stub, (instance: AuditLog) => {
    instance.now = () => now;
  });
}

describe("retention (AUDIT_RETENTION_DAYS, default 90) by the object's alarm", () => {
  it("deletes events older than the setting and keeps the rest; the first append set the alarm", async () => {
    const stub = auditLogStub(env, "retention-a");
    // Written 20 days ago, when none was due yet: the alarm is due when the oldest expires.
    await setNow(stub, NOW - 20 * DAY);
    await stub.append([
      event(NOW - 100 * DAY),
      event(NOW - 91 * DAY),
      event(NOW - 89 * DAY),
      event(NOW - 20 * DAY),
    ]);
    await stub.append([event(NOW)]);
    expect(await stub.count()).toBe(5);
    const alarmAt = await runInDurableObject(stub, (_: AuditLog, state) => state.storage.getAlarm());
    expect((alarmAt ?? 0) - Date.now()).toBeGreaterThan(9 * DAY);
    await setNow(stub, NOW);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const kept = await stub.query({ limit: 10 });
    expect(kept.map((e) => e.time)).toEqual([NOW, NOW - 20 * DAY, NOW - 89 * DAY]);
    // The next alarm is due when the oldest kept event expires; running it early deletes nothing.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.count()).toBe(3);
    // Time passes on the object's clock: the 89-day-old event goes, the younger stay.
    await setNow(stub, NOW + 2 * DAY);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.query({ limit: 10 })).map((e) => e.time)).toEqual([NOW, NOW - 20 * DAY]);
    // Everything gone: no alarm is left behind.
    await setNow(stub, NOW + 91 * DAY);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.count()).toBe(0);
    expect(await runDurableObjectAlarm(stub)).toBe(false);
  });

  it("deletes in batches of RETENTION_DELETE_BATCH, rescheduling itself until done", async () => {
    const stub = auditLogStub(env, "retention-b");
    await setNow(stub, NOW - 150 * DAY);
    const old = Array.from({ length: 2 * RETENTION_DELETE_BATCH + 300 }, (_, i) =>
      event(NOW - 200 * DAY + i),
    );
    await appendMany(stub, [...old, event(NOW - 10 * DAY)]);
    await setNow(stub, NOW);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // One batch, and the next run scheduled shortly (RETENTION_BATCH_PAUSE_MS).
    expect(await stub.count()).toBe(RETENTION_DELETE_BATCH + 301);
    const next = await runInDurableObject(stub, (_: AuditLog, state) => state.storage.getAlarm());
    expect((next ?? 0) - Date.now()).toBeLessThanOrEqual(RETENTION_BATCH_PAUSE_MS);
    // The rest goes in further runs (the platform would run them on its own after the pause).
    for (let run = 0; run < 4 && (await stub.count()) > 1; run++) await runDurableObjectAlarm(stub);
    const left = await stub.query({ limit: 10 });
    expect(left.map((e) => e.time)).toEqual([NOW - 10 * DAY]);
  });
});

describe("what the store keeps", () => {
  it("bounds strings, strips control characters, drops unknown types and outcomes", async () => {
    const stub = auditLogStub(env, "bounds");
    const stored = await stub.append([
      event(NOW, { tool: `t\u0000\n\u2028${"x".repeat(500)}`, detail: "d".repeat(1000) }),
      { ...event(NOW), type: "made_up" as never },
      { ...event(NOW), outcome: "maybe" as never },
      { ...event(Number.NaN) },
    ]);
    expect(stored).toBe(1);
    const [row] = await stub.query({ limit: 10 });
    // Control characters and line separators become spaces; 128 characters at most, the cut marked.
    expect(row?.tool).toBe(`t   ${"x".repeat(123)}…`);
    expect(row?.detail?.length).toBe(200);
  });

  it("events survive the object being thrown away: nothing is held in memory", async () => {
    const stub = auditLogStub(env, "evicted");
    await stub.append([event(NOW, { detail: "before the abort" })]);
    await runInDurableObject(stub, (instance: AuditLog & { marker?: string }) => {
      instance.marker = "old instance";
    });
    await abortAllDurableObjects();
    const fresh = auditLogStub(env, "evicted");
    const marker = await runInDurableObject(
      fresh,
      (instance: AuditLog & { marker?: string }) => instance.marker,
    );
    expect(marker).toBeUndefined(); // a new instance: the old one's memory is gone
    expect((await fresh.query({ limit: 10 })).map((e) => e.detail)).toEqual(["before the abort"]);
  });
});

describe("AUDIT_RETENTION_DAYS", () => {
  it("a bad value fails the gateway's configuration check like any setting", async () => {
    const res = await gatewayFetch(
      { ...env, AUDIT_RETENTION_DAYS: "0" } as TestEnv,
      "http://127.0.0.1/health",
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      status: "misconfigured",
      error: { code: "invalid_configuration", details: { setting: "AUDIT_RETENTION_DAYS" } },
    });
  });

  it("defaults to 90, takes whole days from 1 to 3650, and names itself when wrong", () => {
    expect(DEFAULT_AUDIT_RETENTION_DAYS).toBe(90);
    expect(auditRetentionDays({})).toBe(90);
    expect(auditRetentionDays({ AUDIT_RETENTION_DAYS: "30" })).toBe(30);
    for (const bad of ["0", "3651", "1.5", "ninety", "-1"]) {
      let error: unknown;
      try {
        auditRetentionDays({ AUDIT_RETENTION_DAYS: bad });
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).message, bad).toContain("AUDIT_RETENTION_DAYS");
    }
  });
});
