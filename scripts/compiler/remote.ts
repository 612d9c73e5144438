/**
 * Where a spec's `$ref`s may point. A spec is untrusted input: a `$ref` must
 * not make the compiler read arbitrary local files or fetch internal URLs
 * (CVE-2026-39885: a denylist was bypassed with a trailing-dot hostname). So
 * this is an allowlist:
 *
 * - files inside the vendor folder (after following symlinks) are always allowed;
 * - nothing else unless vendor.json `allowRemoteRefs` opts in:
 *   - `true`: http(s) URLs whose host resolves only to public unicast addresses,
 *     checked at connect time (no DNS-rebinding window), no redirects;
 *   - a list: URL prefixes and folders (relative to the vendor folder) the operator
 *     trusts explicitly.
 *
 * @module
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { realpath } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP } from "node:net";
import { isAbsolute, relative, resolve, sep } from "node:path";

/** Largest remote document fetched. */
export const REMOTE_REF_MAX_BYTES = 10 * 1024 * 1024;
/** Time allowed for one remote document, connect to last byte. */
export const REMOTE_REF_TIMEOUT_MS = 10_000;

export interface RefPolicy {
  /** The vendor folder (the folder of the spec for `--check`). */
  vendorDir: string;
  allowRemoteRefs: boolean | readonly string[];
}

export type RefDecision = { allowed: true; requirePublic: boolean } | { allowed: false; reason: string };

const OPT_IN_HINT = 'set "allowRemoteRefs" in vendor.json to opt in';

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

async function realpathOrSelf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return path;
  }
}

/** May a `$ref` read this local file? Symlinks are followed before deciding. */
export async function decideFile(path: string, policy: RefPolicy): Promise<RefDecision> {
  const target = await realpathOrSelf(path);
  const vendorDir = await realpathOrSelf(resolve(policy.vendorDir));
  if (isInside(target, vendorDir)) return { allowed: true, requirePublic: true };
  if (Array.isArray(policy.allowRemoteRefs)) {
    for (const entry of policy.allowRemoteRefs) {
      if (/^https?:\/\//i.test(entry)) continue;
      const folder = await realpathOrSelf(resolve(vendorDir, entry));
      if (isInside(target, folder)) return { allowed: true, requirePublic: true };
    }
    return {
      allowed: false,
      reason: "the file is outside the vendor folder and not under an allowRemoteRefs folder",
    };
  }
  return {
    allowed: false,
    reason: `the file is outside the vendor folder; ${OPT_IN_HINT} (list the folder)`,
  };
}

/** Hostname without brackets and trailing dots, lowercased (the form we compare and check). */
export function canonicalHost(url: URL): string {
  return url.hostname
    .replace(/^\[|\]$/g, "")
    .replace(/\.+$/, "")
    .toLowerCase();
}

function matchesPrefix(url: URL, prefix: string): boolean {
  let base: URL;
  try {
    base = new URL(prefix);
  } catch {
    return false;
  }
  if (
    base.protocol !== url.protocol ||
    canonicalHost(base) !== canonicalHost(url) ||
    base.port !== url.port
  ) {
    return false;
  }
  const path = base.pathname;
  if (path.endsWith("/")) return url.pathname.startsWith(path);
  return url.pathname === path || url.pathname.startsWith(`${path}/`);
}

/** May a `$ref` fetch this URL? */
export function decideUrl(url: URL, policy: RefPolicy): RefDecision {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { allowed: false, reason: `${url.protocol} references are not supported` };
  }
  if (url.username || url.password) return { allowed: false, reason: "URLs with credentials are refused" };
  const allow = policy.allowRemoteRefs;
  if (allow === true) return { allowed: true, requirePublic: true };
  if (Array.isArray(allow)) {
    if (allow.some((entry) => /^https?:\/\//i.test(entry) && matchesPrefix(url, entry))) {
      return { allowed: true, requirePublic: false };
    }
    return { allowed: false, reason: "the URL is not under any allowRemoteRefs prefix" };
  }
  return { allowed: false, reason: `remote references are off for this vendor; ${OPT_IN_HINT}` };
}

/**
 * Everything that is not public unicast address space. One list per family: a BlockList
 * matches IPv4 addresses against IPv4-mapped IPv6 rules too, and `::ffff:0:0/96` is in here.
 */
const NON_PUBLIC_V4 = new BlockList();
const NON_PUBLIC_V6 = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  NON_PUBLIC_V4.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["::ffff:0:0", 96],
  ["64:ff9b::", 96],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001::", 23],
  ["2001:db8::", 32],
  ["2002::", 16],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
] as const) {
  NON_PUBLIC_V6.addSubnet(net, prefix, "ipv6");
}

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]!);
  return family === 4 ? !NON_PUBLIC_V4.check(address, "ipv4") : !NON_PUBLIC_V6.check(address, "ipv6");
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A `lookup` for http.request that refuses non-public answers, so the checked address is the one connected to. */
export function publicOnlyLookup(
  hostname: string,
  options: { all?: boolean },
  callback: LookupCallback,
): void {
  dnsLookup(hostname, { all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const bad = addresses.find((a) => !isPublicAddress(a.address));
    if (bad || addresses.length === 0) {
      const refused: NodeJS.ErrnoException = new Error(
        `${hostname} resolves to ${bad ? `the non-public address ${bad.address}` : "nothing"}`,
      );
      refused.code = "EREFUSED";
      return callback(refused, []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
}

/** Fetches one remote document under the policy's rules (no redirects, size and time limits). */
export function fetchRemoteDocument(url: URL, requirePublic: boolean): Promise<string> {
  const host = canonicalHost(url);
  if (requirePublic && isIP(host) !== 0 && !isPublicAddress(host)) {
    return Promise.reject(new Error(`${host} is not a public address`));
  }
  if (requirePublic && (host === "localhost" || host.endsWith(".localhost"))) {
    return Promise.reject(new Error(`${host} is not a public host`));
  }
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      {
        method: "GET",
        headers: {
          accept: "application/json, application/yaml, text/yaml, */*;q=0.5",
          "accept-encoding": "identity",
        },
        timeout: REMOTE_REF_TIMEOUT_MS,
        ...(requirePublic ? { lookup: publicOnlyLookup as never } : {}),
      },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.resume();
          return reject(
            new Error(`HTTP ${status}: redirects are not followed (Location: ${res.headers.location})`),
          );
        }
        if (status !== 200) {
          res.resume();
          return reject(new Error(`HTTP ${status}`));
        }
        const encoding = res.headers["content-encoding"];
        if (encoding && encoding !== "identity") {
          res.resume();
          return reject(new Error(`unsupported content-encoding ${encoding}`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > REMOTE_REF_MAX_BYTES) {
            req.destroy(new Error(`larger than ${REMOTE_REF_MAX_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => resolvePromise(Buffer.concat(chunks).toString("utf8")));
        res.on("error", reject);
      },
    );
    const deadline = setTimeout(
      () => req.destroy(new Error(`no complete answer within ${REMOTE_REF_TIMEOUT_MS} ms`)),
      REMOTE_REF_TIMEOUT_MS,
    );
    req.on("close", () => clearTimeout(deadline));
    req.on("timeout", () => req.destroy(new Error(`idle for ${REMOTE_REF_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end();
  });
}
