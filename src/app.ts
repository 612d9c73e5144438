import { Hono } from "hono";

export type AppEnv = { Bindings: Env };

/** Builds the gateway's routes. */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/health", (c) => c.json({ status: "ok" }));
  return app;
}
