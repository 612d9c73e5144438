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
 * - `/respond/redirect/<same|cross|loop|post>` — redirects (with a Set-Cookie)
 * - `/respond/widget/<variant>` — a widget as it is documented, or drifted from its
 *   documentation the ways real APIs drift (see `WIDGET_BODIES`)
 * - anything else — echoes the request as JSON: method, path, rawQuery, headers, body (base64 and text)
 *
 * `GET /__requests?contains=<text>` lists recorded requests whose raw URL
 * contains the text, so a test can prove what was (or was not) sent.
 */
import { createServer, type ServerResponse } from "node:http";
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
        const location =
          kind === "cross"
            ? `http://localhost:${port}${prefix}/respond/json?stolen=1`
            : kind === "loop"
              ? `${prefix}/respond/redirect/loop`
              : kind === "post"
                ? `${origin}${prefix}/echo/after-post-redirect`
                : `${prefix}/echo/after-redirect`;
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
