/**
 * The connection front on Bun (connections.ts has the policy), with node:net: Bun's listener
 * keeps accepting after a failed accept.
 */
import net from "node:net";
import {
  createConnectionTable,
  type Front,
  type FrontOptions,
  sweepEveryMs,
} from "./connections.ts";

/** How long a client may keep sending after the HTTP server closed its connection. */
const LINGER_MS = 1000;

export function serveFrontNode(
  options: FrontOptions,
  log: (line: string) => void = console.error,
): Promise<Front> {
  const table = createConnectionTable(options.limits);
  // Half-open: a client may end its side after its request and still read the answer.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    let backend: net.Socket | undefined;
    const t = table.admit(() => {
      client.destroy();
      backend?.destroy();
    });
    if (!t) {
      client.destroy();
      return;
    }
    client.setNoDelay(true);
    client.on("error", () => table.remove(t));
    client.on("close", () => table.remove(t));
    client.on("end", () => {
      // As in front_deno.ts: kept only while the request waits for the first bytes of its
      // answer (the HTTP server is not told, it would drop the answer).
      if (!backend || t.head !== undefined || !t.waiting) table.remove(t);
    });
    let answered = false;
    client.on("data", (chunk: Uint8Array) => {
      if (answered) return;
      if (!table.fromClient(t, chunk)) return table.remove(t);
      if (!backend) {
        const b = backend = net.connect({ path: options.backendPath, allowHalfOpen: true });
        // The HTTP server closed: the answer is complete, or it answered before the whole body
        // (a 408) and closed with client bytes unread. End the client's side once what is
        // buffered for it is sent (destroying it at once would drop that and reset a client
        // still sending), forward no more of its bytes, and close it after LINGER_MS at the
        // latest. When the close came as an error (EPIPE on the next forwarded byte), node:net
        // has already dropped an answer still queued on the backend socket: such a client gets
        // the close without the 408 (server/README.md, "Known limit").
        const done = () => {
          if (answered) return;
          answered = true;
          client.end();
          const linger = setTimeout(() => table.remove(t), LINGER_MS);
          (linger as { unref?: () => void }).unref?.();
        };
        b.on("error", done);
        b.on("end", done);
        b.on("data", (out: Uint8Array) => {
          table.fromServer(t);
          if (!client.write(out)) b.pause();
        });
        b.on("drain", () => client.resume());
        client.on("drain", () => b.resume());
      }
      if (!backend.write(chunk)) client.pause();
    });
  });
  const sweep = setInterval(() => table.sweep(), sweepEveryMs(options.limits));
  (sweep as { unref?: () => void }).unref?.();
  server.on("error", (err: Error) => {
    table.stats.acceptErrors++;
    log(`Accept failed (${err.message})`);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      const addr = server.address() as net.AddressInfo;
      resolve({
        port: addr.port,
        hostname: addr.address,
        table,
        close: () => {
          clearInterval(sweep);
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}
