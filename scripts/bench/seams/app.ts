/**
 * Bench seam for `src/app.ts`: `createApp` builds a one-route app that reads the body and
 * answers the recorded bytes. What runs: the Worker entry (configuration check, the auth
 * layer's hand-off with client auth off) and hono's dispatch to a single handler.
 */
import { Hono } from "hono";
import type * as real from "../../../src/app.ts";
import { recordedMcpResponse } from "./recorded.ts";

export const createApp = (() => {
  const app = new Hono<real.AppEnv>();
  app.all("*", async (c) => {
    await c.req.raw.arrayBuffer();
    return recordedMcpResponse();
  });
  return app;
}) satisfies typeof real.createApp;
