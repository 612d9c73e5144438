/**
 * A real HTTP upstream for Worker tests (vitest globalSetup, runs in Node).
 *
 * Every vendor's base URL is `<origin>/<vendor>/api`; the server strips that
 * prefix and routes on the rest:
 *
 * - `/respond/json` · `/respond/array` · `/respond/text` · `/respond/html` ·
 *   `/respond/image` · `/respond/pdf` · `/respond/empty` — fixed bodies
 * - `/respond/huge/<bytes>` · `/respond/huge-binary/<bytes>` — streamed, no Content-Length
 * - `/respond/status/<code>/<html|cloudflare|json|text|empty>` — error bodies
 * - `/respond/hang` — never answers; `/respond/hang-body` — headers, then nothing
 * - `/respond/redirect/<same|cross|loop|post>` — redirects (with a Set-Cookie); and same-origin
 *   targets around the base path: `outside`, `dotdot`, `encoded-dots`, `encoded-slash`, `sibling`
 *   (all outside it), `inside-dotdot`, `base` (inside)
 * - `/respond/leak/<mode>/<header|query|cookie|bearer|basic|public>` — echoes the credential the
 *   request carried (see `leakAnswer`)
 * - `/respond/widget/<variant>` — a widget as it is documented, or drifted from its
 *   documentation the ways real APIs drift (see `WIDGET_BODIES`)
 * - anything else — echoes the request as JSON: method, path, rawQuery, headers, body (base64 and text)
 *
 * `GET /__requests?contains=<text>` lists recorded requests whose raw URL
 * contains the text, so a test can prove what was (or was not) sent.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";
import { listenOnLoopback, readBody } from "./local-http.ts";
import { PNG_1X1_BASE64, UPSTREAM_WIDGET as WIDGET } from "./upstream-bindings.ts";

export interface RecordedRequest {
  method: string;
  url: string;
  path: string;
  rawQuery: string;
  headers: Record<string, string | string[] | undefined>;
  bodyBase64: string;
  bodyText: string;
}

const PNG_1X1 = Buffer.from(PNG_1X1_BASE64, "base64");

const MAX_RECORDED = 5000;

/**
 * Bodies for the output-schema fixture (test/fixtures/specs/up-output): the documented
 * widget, then the drift real APIs show against their specs, then bodies that are not
 * a widget at all. Values are strings so they go out exactly as written.
 */
const WIDGET_BODIES: Record<string, { type: string; body: string }> = {
  exact: { type: "application/json", body: JSON.stringify(WIDGET) },
  extra: {
    type: "application/json",
    body: JSON.stringify({ ...WIDGET, color: "red", owner: { ...WIDGET.owner, avatar: "x.png" } }),
  },
  missing: { type: "application/json", body: JSON.stringify({ id: 2, owner: {} }) },
  nulls: {
    type: "application/json",
    body: JSON.stringify({ ...WIDGET, name: null, owner: null, tags: [null], created: null, price: null }),
  },
  odd: {
    type: "application/json",
    body: JSON.stringify({
      ...WIDGET,
      id: 0,
      name: "",
      status: "mothballed",
      created: "yesterday",
      sku: "abc",
      owner: { login: "ada", email: "not an email" },
      tags: ["a", "b", "c"],
    }),
  },
  mismatch: { type: "application/json", body: JSON.stringify({ ...WIDGET, owner: "ada" }) },
  array: { type: "application/json", body: JSON.stringify([WIDGET]) },
  malformed: { type: "application/json", body: '{"id": 1, "name": ' },
  text: { type: "text/plain", body: "widget 1: gear" },
  untyped: { type: "", body: JSON.stringify(WIDGET) },
  empty: { type: "application/json", body: "" },
  // 3,213 bytes: cut at 1,024 (the smallest MAX_RESPONSE_BYTES), the cut splits `secret` (bytes 898–1,198).
  big: {
    type: "application/json",
    body: JSON.stringify({
      ...WIDGET,
      password: "hunter2",
      notes: "n".repeat(620),
      secret: "S".repeat(300),
      padding: "p".repeat(2000),
    }),
  },
};

/** The credential a `/respond/leak/<mode>/<where>` request carried, as the upstream decoded it. */
function credentialOf(where: string, req: IncomingMessage, url: URL): string {
  const authorization = req.headers.authorization ?? "";
  switch (where) {
    case "header":
      return String(req.headers["x-api-key"] ?? "");
    case "query":
      return url.searchParams.get("api_key") ?? "";
    case "cookie": {
      const pair = (req.headers.cookie ?? "").split("; ").find((c) => c.startsWith("auth_token="));
      return decodeURIComponent(pair?.slice("auth_token=".length) ?? "");
    }
    case "bearer":
      return authorization.replace(/^Bearer /, "");
    case "basic": {
      const decoded = Buffer.from(authorization.replace(/^Basic /, ""), "base64").toString("utf8");
      return decoded.slice(decoded.indexOf(":") + 1);
    }
    default:
      return "public-value";
  }
}

/** Padding that puts the middle of `secret` on byte `at`: a body cut there splits it. */
function padTo(at: number, secret: string): string {
  return "x".repeat(at - Buffer.byteLength(secret.slice(0, Math.floor(secret.length / 2))));
}

/** The smallest MAX_RESPONSE_BYTES: `long` bodies split the credential at this byte. */
const LEAK_CUT_BYTES = 1024;

/**
 * How an upstream echoes a credential: in a text or JSON error message, in body fields
 * (as received, URL-encoded, and in a JSON text written as PHP and Python write it: `\/`,
 * `\uXXXX`), with the request headers, cut by the size limit, in the status line, in
 * binary data; `fields` answers the usual spellings of sensitive keys instead.
 */
function leakAnswer(mode: string, secret: string, req: IncomingMessage, res: ServerResponse): void {
  const json = (status: number, text: string) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(text);
  };
  switch (mode) {
    case "error-text":
    case "error-500":
      res.writeHead(mode === "error-500" ? 500 : 400, `bad key ${secret.replace(/[^\x20-\x7e]/g, "?")}`, {
        "Content-Type": "text/plain",
      });
      res.end(`bad key ${secret}`);
      return;
    case "error-json":
      json(400, JSON.stringify({ message: `bad key ${secret}`, key: secret, headers: req.headers }));
      return;
    case "body":
      json(
        200,
        JSON.stringify({
          received: secret,
          encoded: encodeURIComponent(secret),
          form: new URLSearchParams({ k: secret }).toString().slice(2),
          headers: req.headers,
          url: req.url,
        }),
      );
      return;
    case "escaped":
      // ensure_ascii and escaped slashes, as Python's json.dumps and PHP's json_encode write them.
      json(
        200,
        JSON.stringify({ note: `got ${secret}` })
          .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
          .replace(/\//g, "\\/"),
      );
      return;
    case "long":
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
      res.end(`${padTo(LEAK_CUT_BYTES, secret)}${secret} and more text after it`);
      return;
    case "long-json": {
      const prefix = '{"pad":"';
      json(
        200,
        `${prefix}${padTo(LEAK_CUT_BYTES - prefix.length, secret)}${secret}","more":"${"m".repeat(100)}"}`,
      );
      return;
    }
    case "status-line":
      // Node allows Latin-1 only in a reason phrase.
      res.writeHead(400, `bad key ${secret.replace(/[^\x20-\x7e]/g, "?")}`, {
        "Content-Type": "application/json",
      });
      res.end("{}");
      return;
    case "binary":
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      res.end(Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(secret, "utf8"), Buffer.from([3])]));
      return;
    case "fields":
      json(
        200,
        JSON.stringify({
          refresh_token: "rt-1",
          client_secret: "cs-1",
          clientSecret: "cs-2",
          "X-Api-Key": "ak-1",
          "client.secret": "cs-3",
          "Refresh Token": "rt-2",
          nested: [{ ACCESS_TOKEN: "at-1", idToken: "it-1", xApiKey: "ak-2", Passwd: "pw-1" }],
          next_page_token: "keep-1",
          prompt_tokens: 12,
          name: "keep-2",
        }),
      );
      return;
    default:
      json(404, JSON.stringify({ message: `no such leak mode ${mode}` }));
  }
}

function streamBytes(res: ServerResponse, total: number, fill: number): void {
  const chunk = Buffer.alloc(64 * 1024, fill);
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once("drain", pump);
        return;
      }
    }
    res.end();
  };
  res.on("error", () => {});
  pump();
}

export async function startUpstream(): Promise<{ origin: string; close: () => Promise<void> }> {
  const recorded: RecordedRequest[] = [];
  const hanging = new Set<ServerResponse>();

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://upstream.test");
    const body = await readBody(req);
    const rawQuery = (req.url ?? "").includes("?")
      ? (req.url ?? "").slice((req.url ?? "").indexOf("?") + 1)
      : "";

    if (url.pathname === "/__requests") {
      const contains = url.searchParams.get("contains") ?? "";
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(recorded.filter((r) => r.url.includes(contains))));
      return;
    }

    const record: RecordedRequest = {
      method: req.method ?? "",
      url: req.url ?? "",
      path: (req.url ?? "").split("?")[0] ?? "",
      rawQuery,
      headers: req.headers,
      bodyBase64: body.toString("base64"),
      bodyText: body.toString("utf8"),
    };
    recorded.push(record);
    if (recorded.length > MAX_RECORDED) recorded.shift();

    const prefix = /^\/[^/]+\/api/.exec(url.pathname)?.[0] ?? "";
    const route = url.pathname.slice(prefix.length);
    const parts = route.split("/").filter(Boolean);

    if (parts[0] !== "respond") {
      res.writeHead(200, {
        "Content-Type": "application/json",
        "Set-Cookie": "upstream_session=leak; Path=/",
      });
      res.end(JSON.stringify(record));
      return;
    }
    switch (parts[1]) {
      case "leak":
        leakAnswer(parts[2] ?? "", credentialOf(parts[3] ?? "", req, url), req, res);
        return;
      case "widget": {
        const answer = WIDGET_BODIES[parts[2] ?? ""];
        if (!answer) {
          res.writeHead(404, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ message: `no such widget variant ${parts[2]}` }));
          return;
        }
        res.writeHead(200, answer.type === "" ? {} : { "Content-Type": answer.type });
        res.end(answer.body);
        return;
      }
      case "json":
        res.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
        res.end(JSON.stringify({ id: 42, name: "widget", tags: ["a", "b"] }));
        return;
      case "array":
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify([{ id: 1 }, { id: 2 }]));
        return;
      case "text":
        res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
        res.end("plain text answer: grüße");
        return;
      case "html":
        res.writeHead(200, { "Content-Type": "text/html" });
        res.end("<html><head><title>Docs</title></head><body>hello</body></html>");
        return;
      case "image":
        res.writeHead(200, { "Content-Type": "image/png", "Content-Length": PNG_1X1.length });
        res.end(PNG_1X1);
        return;
      case "pdf":
        res.writeHead(200, { "Content-Type": "application/pdf" });
        res.end(Buffer.from("%PDF-1.4 fake pdf bytes \u0000\u0001\u0002"));
        return;
      case "empty":
        res.writeHead(204);
        res.end();
        return;
      case "huge":
        res.writeHead(200, { "Content-Type": "text/plain" });
        streamBytes(res, Number(parts[2] ?? 0), 0x61);
        return;
      case "huge-binary":
        res.writeHead(200, { "Content-Type": "application/octet-stream" });
        streamBytes(res, Number(parts[2] ?? 0), 0x00);
        return;
      case "status": {
        const code = Number(parts[2] ?? 500);
        const kind = parts[3] ?? "json";
        if (kind === "html") {
          res.writeHead(code, { "Content-Type": "text/html; charset=utf-8" });
          res.end(
            `<!DOCTYPE html><html><head><title>Upstream &amp; Friends — Error ${code}</title><script>alert("x")</script></head><body><h1>Something broke</h1><p>secret stack trace here</p></body></html>`,
          );
        } else if (kind === "cloudflare") {
          // A Cloudflare 52x page is served without a helpful content type sometimes.
          res.writeHead(code, { "Content-Type": "text/plain" });
          res.end(
            `<!DOCTYPE html>\n<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->\n<html lang="en-US"><head><title>api.example.com | ${code}: Connection timed out</title></head><body><div id="cf-error-details">Ray ID: 1234</div></body></html>`,
          );
        } else if (kind === "text") {
          res.writeHead(code, { "Content-Type": "text/plain" });
          res.end("quota exceeded for today");
        } else if (kind === "empty") {
          res.writeHead(code);
          res.end();
        } else {
          const headers: Record<string, string> = { "Content-Type": "application/problem+json" };
          if (code === 429) headers["Retry-After"] = "7";
          res.writeHead(code, headers);
          res.end(
            JSON.stringify({
              message: "Validation Failed",
              errors: [{ field: "name", message: "name is too short" }],
            }),
          );
        }
        return;
      }
      case "hang":
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        return;
      case "hang-body":
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        res.writeHead(200, { "Content-Type": "application/json" });
        res.write('{"partial": ');
        return;
      case "redirect": {
        const origin = `http://${req.headers.host}`;
        const kind = parts[2];
        const port = (server.address() as AddressInfo).port;
        const aroundBase: Record<string, string> = {
          outside: "/outside/admin?x=1",
          dotdot: `${prefix}/../outside/admin?x=1`,
          "encoded-dots": `${prefix}/%2e%2E/outside/admin?x=1`,
          "encoded-slash": `${prefix}%2F..%2Foutside/admin?x=1`,
          sibling: `${prefix}-outside/admin?x=1`,
          "inside-dotdot": `${prefix}/respond/../echo/inside-after-redirect`,
          base: prefix,
        };
        const location =
          kind === "cross"
            ? `http://localhost:${port}${prefix}/respond/json?stolen=1`
            : kind === "loop"
              ? `${prefix}/respond/redirect/loop`
              : kind === "post"
                ? `${origin}${prefix}/echo/after-post-redirect`
                : (aroundBase[kind ?? ""] ?? `${prefix}/echo/after-redirect`);
        res.writeHead(kind === "post" ? 303 : 302, {
          Location: location,
          "Set-Cookie": "redirect_cookie=1; Path=/",
        });
        res.end();
        return;
      }
      default:
        res.writeHead(404, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ message: `no such fixture route ${route}` }));
    }
  });

  const listening = await listenOnLoopback(server);
  return {
    origin: listening.origin,
    close: () => {
      for (const res of hanging) res.destroy();
      return listening.close();
    },
  };
}

/** vitest globalSetup: start the upstream, hand its origin to the workers project. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const upstream = await startUpstream();
  project.provide("upstreamOrigin", upstream.origin);
  return upstream.close;
}

declare module "vitest" {
  export interface ProvidedContext {
    upstreamOrigin: string;
  }
}
