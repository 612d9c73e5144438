/**
 * Workers KV as the gateway uses it: every operation on `OAUTH_KV` is bounded
 * by {@link KV_TIMEOUT_MS} on the injected clock, and any failure (an error
 * thrown by KV, or no answer in time) becomes one typed error,
 * {@link KvUnavailableError}: a JSON 503 `storage_unavailable` naming the
 * dependency, with `Retry-After`, on every route (README "What degrades when
 * KV is down").
 *
 * The guarded binding replaces `OAUTH_KV` in the env once per isolate and env
 * ({@link withGuardedKv}); the OAuth library and the gateway's own records go
 * through it alike. A single KV write is atomic per key, so a failed write
 * leaves the previous value readable: nothing here retries a write.
 *
 * @module
 */

import { type Clock, clockFor, realClock } from "../clock.ts";
import { GatewayError } from "../errors.ts";
import { memoized } from "../memo.ts";

/**
 * KV answers in milliseconds (tens at the edge for a cold key); one that has not answered in
 * this long is failing, and a client is better served by a quick 503 than by a hung request.
 */
export const KV_TIMEOUT_MS = 5_000;
/** What `Retry-After` suggests: KV incidents last minutes to hours; clients back off from here. */
export const KV_RETRY_AFTER_SECONDS = 30;
/** The dependency as error bodies name it. */
export const KV_DEPENDENCY = "workers-kv";

/** KV failed or did not answer: a 503 naming the dependency. */
export class KvUnavailableError extends GatewayError {
  constructor(operation: string, cause: unknown) {
    super(
      "storage_unavailable",
      "The gateway's storage (Workers KV) is not answering. Retry shortly; nothing was changed by this request unless it said so.",
      {
        status: 503,
        headers: { "retry-after": String(KV_RETRY_AFTER_SECONDS) },
        details: { dependency: KV_DEPENDENCY, operation },
        cause,
      },
    );
  }
}

class KvTimeout extends Error {
  override readonly name = "KvTimeout";
}

/**
 * Rejects after {@link KV_TIMEOUT_MS} until cancelled. A clock timer, not `Clock.sleep`: an
 * `AbortController` per operation (what a sleep needs to be cancelled) cost ~8 µs of the
 * ~9 µs this guard first added to each KV call.
 */
function expiry(clock: Clock, operation: string): { expired: Promise<never>; cancel(): void } {
  let cancel = () => {};
  const expired = new Promise<never>((_, reject) => {
    cancel = clock.timer(KV_TIMEOUT_MS, () =>
      reject(new KvTimeout(`KV ${operation} did not answer within ${KV_TIMEOUT_MS} ms`)),
    );
  });
  return { expired, cancel };
}

/** Runs one KV operation under the time bound; every failure becomes {@link KvUnavailableError}. */
async function bounded<T>(clock: Clock, operation: string, run: () => Promise<T>): Promise<T> {
  const { expired, cancel } = expiry(clock, operation);
  try {
    return await Promise.race([run(), expired]);
  } catch (error) {
    if (error instanceof KvUnavailableError) throw error;
    throw new KvUnavailableError(operation, error);
  } finally {
    cancel();
  }
}

/** `kv` with every operation bounded and its failures typed. */
function guardKv(kv: KVNamespace, clock: Clock = realClock): KVNamespace {
  const call =
    <A extends unknown[], R>(operation: string, method: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      bounded(clock, operation, () => method.apply(kv, args));
  return {
    get: call("get", kv.get as (...args: unknown[]) => Promise<unknown>),
    getWithMetadata: call("get", kv.getWithMetadata as (...args: unknown[]) => Promise<unknown>),
    put: call("put", kv.put),
    delete: call("delete", kv.delete),
    list: call("list", kv.list as (...args: unknown[]) => Promise<unknown>),
  } as unknown as KVNamespace;
}

const guardedEnvs = new WeakMap<Env, Env>();

/**
 * The env with `OAUTH_KV` guarded, built once per env object (the runtime keeps one per
 * isolate), so a request pays a `WeakMap` lookup, not a copy.
 */
export function withGuardedKv(env: Env): Env {
  return memoized(guardedEnvs, env, () => ({
    ...env,
    OAUTH_KV: guardKv(env.OAUTH_KV, clockFor(env)),
  }));
}

/** Whether a failure came from KV (the error itself, or what it was caused by). */
export function isKvUnavailable(error: unknown): error is KvUnavailableError {
  return error instanceof KvUnavailableError;
}
