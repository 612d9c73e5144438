/**
 * A cookie-keeping "browser" for a gateway reached over HTTP (wrangler dev): it follows an
 * authorization URL through the gateway's sign-in and consent pages the way a person would, and
 * returns where the gateway sends it back (the client's redirect URI with the code).
 */
import { cookieHeader, rememberCookies } from "../../support/cookie-jar.ts";

export class SignInBrowser {
  private readonly cookies = new Map<string, string>();
  private readonly user: string;
  private readonly password: string;

  constructor(user: string, password: string) {
    this.user = user;
    this.password = password;
  }

  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set("cookie", cookieHeader(this.cookies));
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    rememberCookies(this.cookies, response);
    return response;
  }

  private async post(url: URL, form: Record<string, string | string[]>): Promise<Response> {
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(form))
      for (const item of Array.isArray(value) ? value : [value]) body.append(key, item);
    return this.fetch(url, { method: "POST", body });
  }

  /**
   * Opens `authorizationUrl`, signs in when the gateway asks, approves the consent page with
   * `scopes`, and returns the redirect the gateway answers with.
   */
  async authorize(authorizationUrl: URL, scopes = ["mcp:read", "mcp:write"]): Promise<URL> {
    let page = await this.fetch(authorizationUrl);
    if (isRedirect(page)) {
      const signin = new URL(page.headers.get("location") ?? "", authorizationUrl);
      if (signin.pathname !== "/signin") throw new Error(`unexpected redirect to ${signin}`);
      const form = await (await this.fetch(signin)).text();
      const token = /name="form_token" value="([^"]+)"/.exec(form)?.[1] ?? "";
      const signedIn = await this.post(new URL("/signin", signin), {
        username: this.user,
        password: this.password,
        form_token: token,
        return: signin.searchParams.get("return") ?? "",
      });
      if (!isRedirect(signedIn)) throw new Error(`sign-in failed: ${signedIn.status}`);
      page = await this.fetch(new URL(signedIn.headers.get("location") ?? "", signin));
    }
    const consent = await page.text();
    if (page.status !== 200) throw new Error(`consent page expected, got ${page.status}: ${consent}`);
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(consent)?.[1] ?? "";
    const decision = await this.post(new URL("/authorize", authorizationUrl), {
      handle: field("handle"),
      csrf: field("csrf"),
      decision: "approve",
      scope: scopes,
    });
    if (!isRedirect(decision)) throw new Error(`consent failed: ${decision.status} ${await decision.text()}`);
    return new URL(decision.headers.get("location") ?? "");
  }
}

function isRedirect(response: Response): boolean {
  return response.status >= 300 && response.status < 400 && response.headers.has("location");
}
