/**
 * Password sign-in throttling (src/auth/signin-guard.ts, src/auth/signin-throttle.ts):
 * attempts are reserved atomically in Durable Objects before the password is checked,
 * per account and per client address; a browser that signed in before keeps working
 * while an attacker is locked out; counters expire on the guard's clock.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ACCOUNT_MAX_CONSECUTIVE,
  ACCOUNT_MAX_FAILURES,
  ADDRESS_MAX_FAILURES,
  CONSECUTIVE_MEMORY_MS,
  DEVICE_MAX_FAILURES,
  FAILURE_WINDOW_MS,
  type SignInGuard,
} from "../../../src/auth/signin-guard.ts";
import { accountGuardName, addressGuardName } from "../../../src/auth/signin-throttle.ts";
import { authEnv, Browser, location, PASSWORDS, type TestEnv } from "./helpers.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await authEnv();
});

async function guardOf(name: string): Promise<DurableObjectStub<SignInGuard>> {
  return env.SIGNIN_GUARD.get(env.SIGNIN_GUARD.idFromName(name));
}

async function accountGuard(user: string): Promise<DurableObjectStub<SignInGuard>> {
  return guardOf(await accountGuardName(user));
}

/** Moves a guard's clock `ms` ahead of real time. */
async function advance(stub: DurableObjectStub<SignInGuard>, ms: number): Promise<void> {
  await runInDurableObject(stub, (instance: SignInGuard) => {
    instance.now = () => Date.now() + ms;
  });
}

/** Forgets the session but keeps every other cookie (the device cookie): the user signed out. */
function signOut(browser: Browser): void {
  browser.cookies.delete("__Host-gw-session");
}

describe("sign-in throttling", () => {
  it("checks at most the limit of 40 concurrent wrong passwords; the rest get a 429 page", async () => {
    const attacker = new Browser(env, "198.51.100.7");
    const token = await attacker.formToken();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        attacker.post("/signin", { username: "dave", password: `wrong-${i}`, form_token: token }),
      ),
    );
    const statuses = answers.map((r) => r.status);
    // 401 means the password was checked (and wrong); 429 means it never was.
    expect(statuses.filter((s) => s === 401)).toHaveLength(ACCOUNT_MAX_FAILURES);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40 - ACCOUNT_MAX_FAILURES);
    const refused = answers.find((r) => r.status === 429);
    expect(refused?.headers.get("content-type")).toContain("text/html");
    const retryAfter = Number(refused?.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(FAILURE_WINDOW_MS / 1000);
    expect(await refused?.text()).toContain("Too many failed sign-ins for this user");

    // The right password from the same untrusted browser is refused too, unchecked.
    const right = await attacker.signInWith("dave", PASSWORDS.dave);
    expect(right.status).toBe(429);
    expect(right.headers.getSetCookie().some((c) => c.startsWith("__Host-gw-session="))).toBe(false);
  });

  it("does not lock out a browser that signed in as the user before (device cookie)", async () => {
    const user = new Browser(env, "192.0.2.10");
    expect(location(await user.signIn("bob"))).toBe("/credentials");
    const device = [...user.cookies.keys()].find((name) => name.startsWith("__Host-gw-device-"));
    expect(device).toBeDefined();
    signOut(user);

    // An attacker elsewhere exhausts the account's limit for untrusted clients...
    const attacker = new Browser(env, "203.0.113.66");
    for (let i = 0; i < ACCOUNT_MAX_FAILURES; i++) {
      expect((await attacker.signInWith("bob", `guess-${i}`)).status).toBe(401);
    }
    expect((await attacker.signInWith("bob", PASSWORDS.bob)).status).toBe(429);
    // ...and a forged device cookie does not make the attacker trusted.
    attacker.cookies.set(device ?? "", "A".repeat(43));
    expect((await attacker.signInWith("bob", PASSWORDS.bob)).status).toBe(429);

    // The user's own browser still signs in, even from the attacker's address.
    expect(location(await user.signInWith("bob", PASSWORDS.bob))).toBe("/credentials");
    signOut(user);
    const sameNetwork = new Browser(env, "203.0.113.66");
    sameNetwork.cookies.set(device ?? "", user.cookies.get(device ?? "") ?? "");
    expect(location(await sameNetwork.signInWith("bob", PASSWORDS.bob))).toBe("/credentials");
  });

  it("limits failures per client address across accounts, without touching other addresses", async () => {
    const sprayer = "2001:db8:1:2:aaaa::1";
    const address = await guardOf(addressGuardName(sprayer));
    await runInDurableObject(address, (instance: SignInGuard) => {
      for (let i = 0; i < ADDRESS_MAX_FAILURES; i++) instance.reserveAddress();
    });
    // Another host of the same /64 is the same client.
    const refused = await new Browser(env, "2001:db8:1:2:bbbb::9").signInWith("carol", PASSWORDS.carol);
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain("from your network");
    // The refused attempt was given back to the account: it counts nothing there.
    const counted = await (await accountGuard("carol")).inspect();
    expect(counted.window?.failures ?? 0).toBe(0);
    expect(counted.consecutive).toBe(0);
    expect(location(await new Browser(env, "2001:db8:1:3::1").signIn("carol"))).toBe("/credentials");
  });

  it("forgets failures when the window ends (guard clock), and the alarm deletes the state", async () => {
    const browser = new Browser(env, "198.51.100.44");
    for (let i = 0; i < ACCOUNT_MAX_FAILURES; i++) {
      expect((await browser.signInWith("carol", `nope-${i}`)).status).toBe(401);
    }
    expect((await browser.signInWith("carol", PASSWORDS.carol)).status).toBe(429);

    const account = await accountGuard("carol");
    const address = await guardOf(addressGuardName("198.51.100.44"));
    await advance(account, FAILURE_WINDOW_MS - 1000);
    expect((await browser.signInWith("carol", PASSWORDS.carol)).status).toBe(429);
    await advance(account, FAILURE_WINDOW_MS);
    await advance(address, FAILURE_WINDOW_MS);
    expect(await runDurableObjectAlarm(address)).toBe(true);
    await runInDurableObject(address, (_instance, state) => {
      expect(state.storage.kv.get("state")).toBeUndefined();
    });
    expect(location(await browser.signInWith("carol", PASSWORDS.carol))).toBe("/credentials");
  });

  it("stops untrusted clients after 100 consecutive failures (NIST SP 800-63B), not trusted devices", async () => {
    const stub = await accountGuard("nist-user");
    await runInDurableObject(stub, (instance: SignInGuard) => {
      let now = Date.now();
      instance.now = () => now;
      instance.succeeded("trusted-device");
      let checked = 0;
      // An attacker who waits out every window still gets at most 100 checks.
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < ACCOUNT_MAX_FAILURES; i++) {
          if (instance.reserveAccount().allowed) checked += 1;
        }
        now += FAILURE_WINDOW_MS;
      }
      expect(checked).toBe(ACCOUNT_MAX_CONSECUTIVE);
      const refused = instance.reserveAccount();
      expect(refused).toMatchObject({ allowed: false, reason: "consecutive" });
      expect(instance.reserveAccount("trusted-device")).toEqual({ allowed: true, trusted: true });
      now += CONSECUTIVE_MEMORY_MS;
      expect(instance.reserveAccount()).toEqual({ allowed: true, trusted: false });
    });
  });

  it("a trusted device has its own limit, past which it counts as untrusted", async () => {
    const stub = await accountGuard("device-limit-user");
    await runInDurableObject(stub, (instance: SignInGuard) => {
      instance.succeeded("laptop");
      for (let i = 0; i < DEVICE_MAX_FAILURES; i++) {
        expect(instance.reserveAccount("laptop")).toEqual({ allowed: true, trusted: true });
      }
      // Past its own limit the device is just another client: the account-wide window applies.
      expect(instance.reserveAccount("laptop")).toEqual({ allowed: true, trusted: false });
      expect(instance.inspect().window?.failures).toBe(1);
      // A successful sign-in from it clears its count.
      instance.succeeded("laptop-2", "laptop");
      expect(instance.reserveAccount("laptop-2")).toEqual({ allowed: true, trusted: true });
      expect(instance.reserveAccount("laptop")).toEqual({ allowed: true, trusted: false });
    });
  });

  it("fails closed with a 503 page when the guard cannot answer", async () => {
    const down = new Error("Durable Object is overloaded");
    const broken = {
      ...env,
      SIGNIN_GUARD: {
        idFromName: (name: string) => env.SIGNIN_GUARD.idFromName(name),
        get: () => ({ reserveAccount: () => Promise.reject(down) }),
      },
    } as unknown as TestEnv;
    const res = await new Browser(broken, "192.0.2.99").signInWith("alice", PASSWORDS.alice);
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("retry-after")).toBe("30");
    expect(res.headers.getSetCookie().some((c) => c.startsWith("__Host-gw-session="))).toBe(false);
  });
});
