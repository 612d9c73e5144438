/**
 * `SignInGuard`: the password sign-in throttle, one SQLite-backed Durable Object
 * per account (`account:<sha256(lower-case name)>`) and one per client address
 * (`address:<ip or /64>`), so counting is atomic across every isolate.
 *
 * The rules follow the OWASP Authentication Cheat Sheet ("Protect against
 * automated attacks": account lockout that an attacker cannot turn against the
 * user, via its device-cookie scheme) and NIST SP 800-63B §5.2.2 (rate limiting,
 * at most 100 consecutive failed attempts per account):
 *
 * - An attempt is *reserved* before the password is checked: the reservation
 *   counts as a failure at once, so concurrent attempts cannot all pass the
 *   check. A correct password then releases it ({@link SignInGuard.succeeded},
 *   {@link SignInGuard.release}); a wrong one leaves it counted.
 * - Untrusted clients (no device cookie for this account): at most
 *   {@link ACCOUNT_MAX_FAILURES} failures per account per window, and
 *   {@link ADDRESS_MAX_FAILURES} per address (all accounts) per window.
 * - A trusted device (a browser that signed in as this account before holds a
 *   random device token whose hash the account's object keeps): is not subject
 *   to the account-wide or address limits, only to its own
 *   {@link DEVICE_MAX_FAILURES} per window; past that it counts as untrusted.
 *   So an attacker's failures never lock the user's own browsers out.
 * - {@link ACCOUNT_MAX_CONSECUTIVE} consecutive failures (any client) stop
 *   untrusted attempts until a successful sign-in or until
 *   {@link CONSECUTIVE_MEMORY_MS} after the last failure.
 *
 * Windows are fixed: they start at the first failure and end `FAILURE_WINDOW_MS`
 * later. An alarm deletes expired state, so idle objects hold nothing.
 * Every method body is synchronous over the synchronous SQLite KV API, so calls
 * are serialized. Storage key: `SIGNIN_GUARD_STATE_KEY` (src/storage/keys.ts, README "Storage schema").
 *
 * @module
 */
import { DurableObject } from "cloudflare:workers";
import { SIGNIN_GUARD_STATE_KEY } from "../storage/keys.ts";

/** The throttling window (OWASP: lockout for a period, not until an admin acts). */
export const FAILURE_WINDOW_MS = 15 * 60 * 1000;
/** Failures per account per window from clients without a device cookie for it. */
export const ACCOUNT_MAX_FAILURES = 10;
/** Failures per device cookie per window; past it, the device counts as untrusted. */
export const DEVICE_MAX_FAILURES = 5;
/** Failures per client address per window, all accounts together (password spraying). */
export const ADDRESS_MAX_FAILURES = 50;
/** NIST SP 800-63B §5.2.2: no more than 100 consecutive failed attempts on one account. */
export const ACCOUNT_MAX_CONSECUTIVE = 100;
/** A run of consecutive failures is forgotten this long after its last failure. */
export const CONSECUTIVE_MEMORY_MS = 24 * 60 * 60 * 1000;
/** How long a device cookie stays trusted after its last successful sign-in. */
export const DEVICE_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** Trusted devices kept per account (oldest dropped): bounds the stored value. */
const MAX_DEVICES = 20;

interface Window {
  failures: number;
  startedAt: number;
}

interface Device {
  /** sha256 of the device token (the cookie's value never reaches storage). */
  hash: string;
  expiresAt: number;
  window: Window | null;
}

interface State {
  /** Untrusted failures (account) or all failures (address) in the current window. */
  window: Window | null;
  consecutive: number;
  lastFailureAt: number | null;
  devices: Device[];
}

/** A reservation: `trusted` when it was counted against the presented device, not the account. */
export type Reservation =
  | { allowed: true; trusted: boolean }
  | { allowed: false; reason: "account" | "address" | "consecutive"; retryAfterMs: number };

function emptyState(): State {
  return { window: null, consecutive: 0, lastFailureAt: null, devices: [] };
}

export class SignInGuard extends DurableObject<Env> {
  /** The guard's clock (epoch ms). Tests replace it through `runInDurableObject`. */
  now: () => number = () => Date.now();

  private readonly kv: SyncKvStorage;
  private state: State;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.kv = ctx.storage.kv;
    this.state = this.kv.get<State>(SIGNIN_GUARD_STATE_KEY) ?? emptyState();
  }

  /**
   * Reserves one attempt on an account. `deviceHash`: the sha256 of the device
   * cookie the client presented for this account, if any.
   */
  reserveAccount(deviceHash?: string): Reservation {
    const now = this.now();
    this.prune(now);
    const s = this.state;
    const device = deviceHash === undefined ? undefined : s.devices.find((d) => d.hash === deviceHash);
    if (device !== undefined && (device.window?.failures ?? 0) < DEVICE_MAX_FAILURES) {
      device.window ??= { failures: 0, startedAt: now };
      device.window.failures += 1;
      this.countConsecutive(now);
      return { allowed: true, trusted: true };
    }
    if (s.consecutive >= ACCOUNT_MAX_CONSECUTIVE) {
      return {
        allowed: false,
        reason: "consecutive",
        retryAfterMs: (s.lastFailureAt ?? now) + CONSECUTIVE_MEMORY_MS - now,
      };
    }
    const refused = this.take(ACCOUNT_MAX_FAILURES, now);
    if (refused !== undefined) return { allowed: false, reason: "account", retryAfterMs: refused };
    this.countConsecutive(now);
    return { allowed: true, trusted: false };
  }

  /** Reserves one attempt from a client address (any account). */
  reserveAddress(): Reservation {
    const now = this.now();
    this.prune(now);
    const refused = this.take(ADDRESS_MAX_FAILURES, now);
    if (refused !== undefined) return { allowed: false, reason: "address", retryAfterMs: refused };
    this.save(now);
    return { allowed: true, trusted: false };
  }

  /**
   * Gives back a reservation that was never checked against a password: the
   * address refused after the account reserved, or (address objects) the
   * password was right. `trustedDeviceHash`: the reservation was a trusted one.
   */
  release(trustedDeviceHash?: string): void {
    const now = this.now();
    this.prune(now);
    const s = this.state;
    const device =
      trustedDeviceHash === undefined ? undefined : s.devices.find((d) => d.hash === trustedDeviceHash);
    const window = device === undefined ? s.window : device.window;
    if (window !== null && window.failures > 0) window.failures -= 1;
    // Address objects never count consecutive failures, so this only moves an account's.
    s.consecutive = Math.max(0, s.consecutive - 1);
    this.save(now);
  }

  /**
   * A correct password: the account's counters start over (OWASP: reset on
   * success), the presented device's failures are cleared, and `newDeviceHash`
   * becomes a trusted device for {@link DEVICE_TTL_MS}.
   */
  succeeded(newDeviceHash: string, presentedHash?: string): void {
    const now = this.now();
    this.prune(now);
    const s = this.state;
    s.window = null;
    s.consecutive = 0;
    s.lastFailureAt = null;
    s.devices = s.devices.filter((d) => d.hash !== presentedHash && d.hash !== newDeviceHash);
    s.devices.push({ hash: newDeviceHash, expiresAt: now + DEVICE_TTL_MS, window: null });
    if (s.devices.length > MAX_DEVICES) s.devices.splice(0, s.devices.length - MAX_DEVICES);
    this.save(now);
  }

  /** Deletes what has expired; reschedules for what is left. */
  override async alarm(): Promise<void> {
    const now = this.now();
    this.prune(now);
    this.save(now);
  }

  /** The counters as stored (tests and operators). */
  inspect(): State {
    this.prune(this.now());
    return structuredClone(this.state);
  }

  /** Takes one failure from the main window; answers the wait when it is full. */
  private take(max: number, now: number): number | undefined {
    const s = this.state;
    s.window ??= { failures: 0, startedAt: now };
    if (s.window.failures >= max) return s.window.startedAt + FAILURE_WINDOW_MS - now;
    s.window.failures += 1;
    return undefined;
  }

  private countConsecutive(now: number): void {
    this.state.consecutive += 1;
    this.state.lastFailureAt = now;
    this.save(now);
  }

  private prune(now: number): void {
    const s = this.state;
    const live = (w: Window | null) => (w !== null && now < w.startedAt + FAILURE_WINDOW_MS ? w : null);
    s.window = live(s.window);
    if (s.lastFailureAt !== null && now >= s.lastFailureAt + CONSECUTIVE_MEMORY_MS) {
      s.consecutive = 0;
      s.lastFailureAt = null;
    }
    s.devices = s.devices.filter((d) => d.expiresAt > now);
    for (const d of s.devices) d.window = live(d.window);
  }

  /** Writes the state (or deletes it when empty) and sets the alarm to its next expiry. */
  private save(now: number): void {
    const s = this.state;
    const expiries: number[] = [];
    if (s.window !== null) expiries.push(s.window.startedAt + FAILURE_WINDOW_MS);
    if (s.lastFailureAt !== null && s.consecutive > 0) expiries.push(s.lastFailureAt + CONSECUTIVE_MEMORY_MS);
    for (const d of s.devices) {
      expiries.push(d.expiresAt);
      if (d.window !== null) expiries.push(d.window.startedAt + FAILURE_WINDOW_MS);
    }
    if (expiries.length === 0) {
      this.kv.delete(SIGNIN_GUARD_STATE_KEY);
      void this.ctx.storage.deleteAlarm();
      return;
    }
    this.kv.put(SIGNIN_GUARD_STATE_KEY, s);
    // Alarms run on the real clock: convert a guard-clock time so an injected clock cannot spin them.
    void this.ctx.storage.setAlarm(Date.now() + Math.max(0, Math.min(...expiries) - now));
  }
}
