import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { deadlineAfter } from "../../../src/resilience/timeout.ts";

// Fake timers: the deadline's own setTimeout is driven by the test, nothing waits for real time.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("deadlineAfter", () => {
  it("aborts with a TimeoutError when its delay runs out", async () => {
    const deadline = deadlineAfter(1_000);
    vi.advanceTimersByTime(999);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.timedOut).toBe(true);
    await expect(deadline.aborted).rejects.toMatchObject({ name: "TimeoutError" });
  });

  it("never aborts once cleared: the timer is gone, not just ignored", () => {
    const deadline = deadlineAfter(1_000);
    expect(vi.getTimerCount()).toBe(1);
    deadline.clear();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5_000);
    expect(deadline.signal.aborted).toBe(false);
    expect(deadline.timedOut).toBe(false);
  });

  it("follows its parent with the parent's reason, and stops following once cleared", async () => {
    const parent = new AbortController();
    const followed = deadlineAfter(1_000, parent.signal);
    const released = deadlineAfter(1_000, parent.signal);
    released.clear();
    const reason = new Error("caller went away");
    parent.abort(reason);
    expect(followed.signal.reason).toBe(reason);
    expect(followed.timedOut).toBe(false);
    await expect(followed.aborted).rejects.toBe(reason);
    expect(released.signal.aborted).toBe(false);
  });

  it("follows a parent deadline (the call's, for an attempt's) with its reason, and stops once cleared", async () => {
    const call = deadlineAfter(5_000);
    const attempt = deadlineAfter(1_000, call.signal);
    const released = deadlineAfter(1_000, call.signal);
    const late = deadlineAfter(9_000, call.signal);
    released.clear();
    vi.advanceTimersByTime(1_000);
    // The attempt's own timeout says nothing to the call.
    expect(attempt.timedOut).toBe(true);
    expect(call.signal.aborted).toBe(false);
    expect(released.signal.aborted).toBe(false);
    vi.advanceTimersByTime(4_000);
    expect(call.timedOut).toBe(true);
    expect(late.signal.aborted).toBe(true);
    expect(late.timedOut).toBe(false);
    expect(late.signal.reason).toBe(call.signal.reason);
    await expect(late.aborted).rejects.toMatchObject({ name: "TimeoutError" });
    expect(released.signal.aborted).toBe(false);
    late.clear();
    expect(vi.getTimerCount()).toBe(0);
    expect(deadlineAfter(1_000, call.signal).signal.reason).toBe(call.signal.reason);
  });

  it("lets an attempt ride its call's timer: one timer, each deadline still ends at its own time", async () => {
    // The call wakes first after 1 s (a first attempt's bound) and ends after 5 s.
    const call = deadlineAfter(5_000, undefined, undefined, 1_000);
    vi.advanceTimersByTime(200);
    const attempt = deadlineAfter(1_000, call.signal);
    expect(vi.getTimerCount()).toBe(1);
    // The wake-up at 1 s finds the attempt not due yet and sleeps until it is.
    vi.advanceTimersByTime(999);
    expect(attempt.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(attempt.timedOut).toBe(true);
    await expect(attempt.aborted).rejects.toMatchObject({ name: "TimeoutError" });
    expect(call.signal.aborted).toBe(false);
    // A second attempt due after the call's end rides it and ends with the call's reason.
    const late = deadlineAfter(9_000, call.signal);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(3_799);
    expect(call.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(call.timedOut).toBe(true);
    expect(late.timedOut).toBe(false);
    expect(late.signal.reason).toBe(call.signal.reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("gives a riding attempt its own timer when the call's deadline is cleared first", () => {
    const call = deadlineAfter(5_000, undefined, undefined, 1_000);
    const attempt = deadlineAfter(2_000, call.signal);
    const released = deadlineAfter(2_000, call.signal);
    released.clear();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(500);
    call.clear();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_499);
    expect(attempt.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(attempt.timedOut).toBe(true);
    expect(released.signal.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("starts aborted under a parent that already aborted", () => {
    const parent = new AbortController();
    parent.abort(new Error("gone"));
    expect(deadlineAfter(1_000, parent.signal).signal.aborted).toBe(true);
  });
});
