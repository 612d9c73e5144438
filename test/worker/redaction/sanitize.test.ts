import { describe, expect, it } from "vitest";
import { REDACTED, sanitize, sanitizeJsonText } from "../../../src/redaction/sanitize.ts";

const body = {
  user: {
    name: "ada",
    Password: "hunter2",
    profile: {
      accessToken: "at",
      "Api-Key": "k",
      ip_address: "10.0.0.1",
      nested: [{ SECRET: { deep: 1 } }],
    },
  },
  token: "t",
  next_page_token: "keep-me",
  credentials: ["a", "b"],
  session_id: "s",
  Cookie: "c=1",
  private_key: "pk",
  authorization: "Bearer x",
};

describe("sanitize", () => {
  it("DISABLED returns the value untouched", () => {
    expect(sanitize(body, "DISABLED")).toBe(body);
  });

  it("LOW redacts password, token, secret, private_key at any depth, case-insensitively", () => {
    const out = sanitize(body, "LOW");
    expect(out.user.Password).toBe(REDACTED);
    expect(out.user.profile.nested[0]?.SECRET).toBe(REDACTED);
    expect(out.token).toBe(REDACTED);
    expect(out.private_key).toBe(REDACTED);
    expect(out.next_page_token).toBe("keep-me");
    expect(out.user.profile.accessToken).toBe("at");
    expect(out.authorization).toBe("Bearer x");
    expect(out.session_id).toBe("s");
  });

  it("MEDIUM adds access_token, credentials, authorization (spelling variants too)", () => {
    const out = sanitize(body, "MEDIUM");
    expect(out.user.profile.accessToken).toBe(REDACTED);
    expect(out.credentials).toBe(REDACTED);
    expect(out.authorization).toBe(REDACTED);
    expect(out.user.profile["Api-Key"]).toBe("k");
    expect(out.Cookie).toBe("c=1");
  });

  it("HIGH adds session_id, cookie, api_key, ip_address", () => {
    const out = sanitize(body, "HIGH");
    expect(out).toEqual({
      user: {
        name: "ada",
        Password: REDACTED,
        profile: {
          accessToken: REDACTED,
          "Api-Key": REDACTED,
          ip_address: REDACTED,
          nested: [{ SECRET: REDACTED }],
        },
      },
      token: REDACTED,
      next_page_token: "keep-me",
      credentials: REDACTED,
      session_id: REDACTED,
      Cookie: REDACTED,
      private_key: REDACTED,
      authorization: REDACTED,
    });
    // The input is not modified.
    expect(body.user.Password).toBe("hunter2");
  });

  it("keeps a parsed __proto__ key as data, never as a prototype", () => {
    const parsed = JSON.parse('{"__proto__":{"password":"p","polluted":true}}');
    const out = sanitize(parsed, "LOW") as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"password":"[REDACTED]","polluted":true}}');
  });
});

describe("sanitizeJsonText (JSON cut at MAX_RESPONSE_BYTES, which does not parse)", () => {
  const whole = JSON.stringify(body);

  it("redacts what sanitize redacts: every prefix of the body gives a prefix of the sanitized body", () => {
    const sanitized = JSON.stringify(sanitize(body, "HIGH"));
    expect(sanitizeJsonText(whole, "HIGH")).toBe(sanitized);
    for (let cut = 1; cut < whole.length; cut++) {
      const text = sanitizeJsonText(whole.slice(0, cut), "HIGH");
      // A value split by the cut is redacted whole, as the parsed path would have redacted it.
      expect(sanitized.startsWith(text), text).toBe(true);
      for (const secret of ["hunter2", '"at"', '"k"', "10.0.0.1", '"deep"'])
        expect(text).not.toContain(secret);
    }
  });

  it("a secret split by the cut leaves no prefix behind", () => {
    expect(sanitizeJsonText('{"a":1,"password":"hunt', "LOW")).toBe(`{"a":1,"password":"${REDACTED}"`);
    expect(sanitizeJsonText('{"token":{"v":[1,"}', "LOW")).toBe(`{"token":"${REDACTED}"`);
    expect(sanitizeJsonText('{"token": 12', "LOW")).toBe(`{"token": "${REDACTED}"`);
  });

  it("reads keys and strings as JSON does: escapes, and key-like text inside values", () => {
    expect(sanitizeJsonText('{"note":"say \\"token\\": no","pass\\u0077ord":"x","n":', "LOW")).toBe(
      `{"note":"say \\"token\\": no","pass\\u0077ord":"${REDACTED}","n":`,
    );
  });

  it("leaves text alone when nothing matches or sanitization is off", () => {
    expect(sanitizeJsonText('{"a":"b","c":[1,2', "HIGH")).toBe('{"a":"b","c":[1,2');
    expect(sanitizeJsonText('{"password":"x"', "DISABLED")).toBe('{"password":"x"');
    expect(sanitizeJsonText("not json at all", "HIGH")).toBe("not json at all");
  });
});

describe("key normalisation (case, separators, camelCase) and the usual spellings of each field", () => {
  it.each([
    [
      "LOW",
      [
        "client_secret",
        "clientSecret",
        "CLIENT-SECRET",
        "client.secret",
        "Client Secret",
        "passwd",
        "AUTH_TOKEN",
      ],
    ],
    ["MEDIUM", ["refresh_token", "refreshToken", "id_token", "Proxy-Authorization", "credential"]],
    ["HIGH", ["X-Api-Key", "x_api_key", "apiKey", "Set-Cookie", "sessionId", "ip", "X-Forwarded-For"]],
  ] as const)("%s redacts %j", (level, keys) => {
    for (const key of keys) {
      expect(sanitize({ [key]: "v" }, level), key).toEqual({ [key]: REDACTED });
      expect(sanitizeJsonText(`{"${key}":"v`, level), key).toBe(`{"${key}":"${REDACTED}"`);
    }
  });

  it("a field of a higher level is left alone at a lower one; other keys at every level", () => {
    expect(sanitize({ refresh_token: "r", "X-Api-Key": "k" }, "LOW")).toEqual({
      refresh_token: "r",
      "X-Api-Key": "k",
    });
    const kept = { next_page_token: 1, prompt_tokens: 2, token_count: 3, secretary: 4, ipsum: 5, sid: 6 };
    expect(sanitize(kept, "HIGH")).toEqual(kept);
  });

  it("hostile keys: a 1 MB key is normalised like any (one linear pass), many distinct keys pass", () => {
    const long = `${"_".repeat(1_000_000)}pass-word`;
    expect(sanitize({ [long]: "v" }, "LOW")).toEqual({ [long]: REDACTED });
    const many = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`key_${i}`, i]));
    expect(sanitize(many, "HIGH")).toEqual(many);
  });
});
