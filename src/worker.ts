/**
 * Worker entry: routes live in `app.ts`; Durable Object classes are exported here
 * so wrangler can bind them.
 */
import { createApp } from "./app.ts";

export { VendorGuard } from "./resilience/vendor-guard.ts";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
