/**
 * `GET /status`: the operator's status page (src/status/render.ts), or its data as JSON for
 * `Accept: application/json`. Who sees what is {@link opsViewer}'s answer: everything, or the
 * viewer's team's vendors and quota use; with `GATEWAY_AUTH=none`, loopback only. A browser
 * without a session is sent to sign in and back; every other refusal is the usual JSON error.
 *
 * @module
 */
import { Hono } from "hono";
import { pageHeaders } from "../auth/pages.ts";
import { getSession } from "../auth/session.ts";
import { GatewayError, methodNotAllowed } from "../errors.ts";
import { opsViewer } from "../ops/access.ts";
import { collectStatus } from "./data.ts";
import { renderStatusPage } from "./render.ts";
import type { StatusSources } from "./sources.ts";

export const STATUS_PATH = "/status";

/** HTML for browsers (they send `text/html` first-class); JSON for everything else. */
function wantsHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const first = accept.split(",")[0]?.trim().toLowerCase() ?? "";
  return (
    first.startsWith("text/html") || (accept.includes("text/html") && !first.startsWith("application/json"))
  );
}

/** The status page's routes; `sources` answer its metrics and quota numbers (src/status/sources.ts). */
export function statusRoutes(sources: StatusSources): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  app.get(STATUS_PATH, async (c) => {
    const html = wantsHtml(c.req.header("accept"));
    let viewer: Awaited<ReturnType<typeof opsViewer>>;
    try {
      viewer = await opsViewer(c, c.env, "view");
    } catch (error) {
      if (
        html &&
        error instanceof GatewayError &&
        error.code === "unauthorized" &&
        !c.req.header("authorization")
      ) {
        return new Response(null, {
          status: 303,
          headers: {
            location: `/signin?next=${encodeURIComponent(STATUS_PATH + new URL(c.req.url).search)}`,
            "cache-control": "no-store",
          },
        });
      }
      throw error;
    }
    const data = await collectStatus(c.env, viewer, sources, c.req.query("vendor"));
    if (!html) {
      return c.json(data, 200, {
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        vary: "accept, cookie",
      });
    }
    const session = viewer.via === "session" ? await getSession(c, c.env) : undefined;
    const page = renderStatusPage(data, session === undefined ? {} : { signOutCsrf: session.csrf });
    const headers = pageHeaders();
    headers.set("vary", "accept, cookie");
    return new Response(page, { status: 200, headers });
  });
  app.all(STATUS_PATH, methodNotAllowed(["GET", "HEAD"]));
  return app;
}
