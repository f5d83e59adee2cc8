/**
 * The connection front on Deno (connections.ts has the policy): Deno.listen, whose failed
 * accept throws where it can be caught and retried. Deno's node:net listener stops accepting
 * for good after one accept fails for want of descriptors, so it is not used here.
 */
import {
  ACCEPT_PAUSE_MS,
  createConnectionTable,
  type Front,
  type FrontOptions,
  sweepEveryMs,
  type Tracked,
} from "./connections.ts";
import { collectAfterBursts } from "./front_gc.ts";

/**
 * Read buffers: small for what clients send (a silent connection holds one, and there may be
 * thousands), larger for answers (allocated once the request has begun).
 */
const CLIENT_BUFFER_BYTES = 4 * 1024;
const SERVER_BUFFER_BYTES = 16 * 1024;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

export function serveFrontDeno(
  options: FrontOptions,
  log: (line: string) => void = console.error,
): Promise<Front> {
  const table = createConnectionTable(options.limits);
  const listener = Deno.listen({ port: options.port, hostname: options.host });
  const collect = collectAfterBursts(table);
  const sweep = setInterval(() => {
    table.sweep();
    collect();
  }, sweepEveryMs(options.limits));
  Deno.unrefTimer(sweep);
  let closed = false;

  const pump = async (t: Tracked, from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(SERVER_BUFFER_BYTES);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        table.fromServer(t);
        await writeAll(to, buf.subarray(0, n));
      }
    } catch {
      // either side went away
    }
    table.remove(t);
  };

  const relay = async (conn: Deno.TcpConn) => {
    let backend: Deno.UnixConn | undefined;
    const t = table.admit(() => {
      for (const c of [conn, backend]) {
        try {
          c?.close();
        } catch {
          // already closed
        }
      }
    });
    if (!t) {
      conn.close();
      return;
    }
    const buf = new Uint8Array(CLIENT_BUFFER_BYTES);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        const chunk = buf.subarray(0, n);
        if (!table.fromClient(t, chunk)) break;
        if (!backend) {
          backend = await Deno.connect({ transport: "unix", path: options.backendPath });
          pump(t, backend, conn);
        }
        await writeAll(backend, chunk);
      }
      // The client has sent all it will. While its request still waits for the first bytes of
      // an answer, the answer may yet come: the HTTP server is not told (it would drop the
      // answer), and the idle timeout closes the connection after. Once answered, the client
      // is gone (a client that ends its side in the middle of an answer is not served): the
      // HTTP server may hold the relay open for ever, e.g. after a 408 with the body unread.
      if (backend && t.head === undefined && t.waiting) return;
    } catch {
      // either side went away
    }
    table.remove(t);
  };

  (async () => {
    let warned = false;
    while (!closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (closed) return;
        table.stats.acceptErrors++;
        if (!warned) log(`Accept failed (${(err as Error).message}); pausing and retrying`);
        warned = true;
        await new Promise((r) => setTimeout(r, ACCEPT_PAUSE_MS));
        continue;
      }
      warned = false;
      conn.setNoDelay(true);
      relay(conn);
    }
  })();

  const addr = listener.addr as Deno.NetAddr;
  return Promise.resolve({
    port: addr.port,
    hostname: addr.hostname,
    table,
    close() {
      closed = true;
      clearInterval(sweep);
      listener.close();
      return Promise.resolve();
    },
  });
}
