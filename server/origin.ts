/**
 * What a browser may make the server do. A web page can send a `text/plain` or form POST to any
 * address without asking (no CORS preflight), and a DNS-rebound name reaches a loopback server
 * under the page's own host name. So: POST bodies must be JSON (415 otherwise, which no page
 * can send cross-origin without a preflight), the Host header must name this server (403
 * otherwise: a rebound name does not), and a request from another origin is refused (403)
 * unless CORS_ORIGINS lets that origin in, in which case it gets CORS headers.
 */
import type { MiddlewareHandler } from "hono";
import { errorBody } from "./errors.ts";

export interface BrowserPolicy {
  /** Host names (no port) the Host header may carry; "*" allows any (ALLOWED_HOSTS). */
  allowedHosts: string[];
  /** Origins other than the server's own that may call it, with CORS; "*" any (CORS_ORIGINS). */
  corsOrigins: string[];
}

/** Names of the loopback interface, always allowed. */
export const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "::1"];

/** The default policy for a server listening on `host`: loopback names and that host. */
export function defaultBrowserPolicy(host = "127.0.0.1"): BrowserPolicy {
  const own = hostName(host);
  const wildcard = own === "0.0.0.0" || own === "::" || own === "";
  return {
    allowedHosts: wildcard || LOOPBACK_HOSTS.includes(own)
      ? LOOPBACK_HOSTS
      : [...LOOPBACK_HOSTS, own],
    corsOrigins: [],
  };
}

const list = (raw: string | undefined) =>
  (raw ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0);

/** The policy from ALLOWED_HOSTS and CORS_ORIGINS (comma-separated), over the default. */
export function readBrowserEnv(env: Record<string, string | undefined>, host?: string) {
  const out = defaultBrowserPolicy(host);
  const hosts = list(env.ALLOWED_HOSTS);
  if (hosts.length > 0) {
    out.allowedHosts = [...new Set([...LOOPBACK_HOSTS, ...hosts.map(hostName)])];
  }
  const origins = list(env.CORS_ORIGINS);
  for (const o of origins) {
    if (o !== "*" && !/^https?:\/\/[^/]+$/.test(o)) {
      throw new Error(
        `CORS_ORIGINS must list origins such as "https://example.com" or "*", got "${
          o.slice(0, 60)
        }"`,
      );
    }
  }
  out.corsOrigins = origins;
  return out;
}

/** The host name of a Host header or address, lower-case, without port, brackets or final dot. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  const name = h.startsWith("[") ? h.slice(1, h.indexOf("]") >>> 0) : h.replace(/:\d*$/, "");
  return name.replace(/\.$/, "");
}

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

export function browserGuard(policy: BrowserPolicy): MiddlewareHandler {
  const anyHost = policy.allowedHosts.includes("*");
  const anyOrigin = policy.corsOrigins.includes("*");
  const forbidden = (c: Parameters<MiddlewareHandler>[0], message: string) =>
    c.json(errorBody("permission_error", message, null), 403);
  return async function guard(c, next) {
    // A request made in-process (app.request) has no Host header; its URL says the same.
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if (!anyHost && !policy.allowedHosts.includes(hostName(host))) {
      return forbidden(
        c,
        `Host ${JSON.stringify(host.slice(0, 60))} is not served here (ALLOWED_HOSTS)`,
      );
    }
    const origin = c.req.header("origin");
    const sameOrigin = origin !== undefined && /^https?:\/\//.test(origin) &&
      origin.replace(/^https?:\/\//, "").toLowerCase() === host.toLowerCase();
    const cors = origin !== undefined && !sameOrigin &&
      (anyOrigin || policy.corsOrigins.includes(origin));
    if (origin !== undefined && !sameOrigin && !cors) {
      return forbidden(
        c,
        `Origin ${JSON.stringify(origin.slice(0, 60))} may not call this server (CORS_ORIGINS)`,
      );
    }
    if (cors) {
      c.header("access-control-allow-origin", origin);
      c.header("vary", "Origin");
      if (c.req.method === "OPTIONS") {
        c.header("access-control-allow-methods", "GET, POST");
        c.header("access-control-allow-headers", "content-type, authorization");
        c.header("access-control-max-age", "600");
        return c.body(null, 204);
      }
    }
    if (c.req.method === "POST" && !JSON_TYPE.test(c.req.header("content-type") ?? "")) {
      return c.json(
        errorBody(
          "invalid_request_error",
          `Content-Type ${
            JSON.stringify((c.req.header("content-type") ?? "").slice(0, 60))
          } is not accepted: send the body as application/json`,
          null,
        ),
        415,
        { connection: "close" },
      );
    }
    await next();
  };
}
