/**
 * Named latches a slow tool waits on, opened by the test instead of by time passing: the tool
 * calls `wait(key)`, the test awaits `arrived(key)` (the call is in the server now) and then
 * `release(key)`. A release before the call arrives is kept, so the order never races.
 *
 * @module
 */

interface Latch {
  open: boolean;
  waiters: number;
  opened: Promise<void>;
  openNow: () => void;
  arrivals: Array<() => void>;
}

export class Gates {
  readonly #latches = new Map<string, Latch>();

  #latch(key: string): Latch {
    let latch = this.#latches.get(key);
    if (latch === undefined) {
      let openNow = () => {};
      const opened = new Promise<void>((resolve) => {
        openNow = resolve;
      });
      latch = { open: false, waiters: 0, opened, openNow, arrivals: [] };
      this.#latches.set(key, latch);
    }
    return latch;
  }

  /** Waits until `key` is released (at once if it already was); rejects when `signal` aborts. */
  async wait(key: string, signal?: AbortSignal): Promise<void> {
    const latch = this.#latch(key);
    latch.waiters++;
    for (const arrived of latch.arrivals.splice(0)) arrived();
    if (latch.open) return;
    if (signal === undefined) return latch.opened;
    signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      void latch.opened.then(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  /** Resolves once a call waits (or has waited) on `key`. */
  arrived(key: string): Promise<void> {
    const latch = this.#latch(key);
    if (latch.waiters > 0) return Promise.resolve();
    return new Promise((resolve) => latch.arrivals.push(resolve));
  }

  /** Opens `key` for every call waiting on it now and later. */
  release(key: string): void {
    const latch = this.#latch(key);
    latch.open = true;
    latch.openNow();
  }

  /** Forgets every latch (a restarted server knows nothing of its old calls). */
  clear(): void {
    for (const latch of this.#latches.values()) latch.openNow();
    this.#latches.clear();
  }
}
