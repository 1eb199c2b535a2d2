/**
 * A real HTTP proxy (node:http) in front of the TokenOptimizer server, to put the network's
 * failures between the SDK and the server: answer 503 as if the server were overloaded, or
 * forward a request and then cut the connection before the answer gets back.
 */

import http from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  contentEncoding: string | undefined;
  bytes: number;
  /** The status the server answered (undefined when the proxy answered itself). */
  status: number | undefined;
  /** true when the answer was withheld from the SDK. */
  cut: boolean;
}

export interface Proxy {
  url: string;
  seen: SeenRequest[];
  /** "forward" (default) or "unavailable" (answer 503 without forwarding). */
  mode: "forward" | "unavailable";
  /** Forward the next `count` requests, then close the SDK's connection instead of answering. */
  cutAnswers(count: number): void;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<Proxy> {
  const seen: SeenRequest[] = [];
  let toCut = 0;
  const state = { mode: "forward" as Proxy["mode"] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const entry: SeenRequest = {
        contentEncoding: req.headers["content-encoding"],
        bytes: body.length,
        status: undefined,
        cut: false,
      };
      seen.push(entry);
      if (state.mode === "unavailable") {
        res.writeHead(503, { "content-type": "application/json", "retry-after": "0.05" });
        res.end(JSON.stringify({ detail: "unavailable" }));
        return;
      }
      const cut = toCut > 0;
      if (cut) toCut -= 1;
      const headers = { ...req.headers, host: new URL(target).host };
      const upstream = http.request(new URL(req.url ?? "/", target), { method: req.method, headers }, (answer) => {
        const parts: Buffer[] = [];
        answer.on("data", (part: Buffer) => parts.push(part));
        answer.on("end", () => {
          entry.status = answer.statusCode;
          if (cut) {
            entry.cut = true;
            req.socket.destroy();
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(parts));
        });
      });
      upstream.on("error", () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    get mode() {
      return state.mode;
    },
    set mode(value) {
      state.mode = value;
    },
    cutAnswers(count) {
      toCut = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
