/**
 * Debian's Chromium for the browser tests (test/scripts/credentials-page.test.ts,
 * test/e2e-node/status-page.test.ts), driven by playwright-core. Without the background-networking
 * flags Chromium keeps dialling Google's hosts, which this machine's closed network refuses.
 */
import { existsSync } from "node:fs";

export const CHROMIUM = "/usr/bin/chromium";

/** Browser tests skip, loudly, where Chromium is not installed. */
export const HAS_CHROMIUM = existsSync(CHROMIUM);

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
