/**
 * vitest globalSetup (workers project): starts the fault upstream and provides
 * its URL (`faultUpstreamUrl`) and a refused one (`refusedUpstreamUrl`) to the
 * tests (`inject`) and to miniflare bindings (`FAULTY_BASE_URL`, `REFUSED_BASE_URL`).
 */
import type { TestProject } from "vitest/node";
import { closedPortUrl, startFaultUpstream } from "./fault-upstream.ts";

declare module "vitest" {
  export interface ProvidedContext {
    faultUpstreamUrl: string;
    refusedUpstreamUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const upstream = await startFaultUpstream();
  project.provide("faultUpstreamUrl", upstream.url);
  project.provide("refusedUpstreamUrl", await closedPortUrl());
  return () => upstream.close();
}
