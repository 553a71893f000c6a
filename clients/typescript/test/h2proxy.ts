// An HTTP/2 (h2c) relay to a coordinator that records the gRPC path of every call it passes
// (so a test sees whether calls went as frames on one LockService.Stream or unary), can cut
// every connection (the stream "breaks"), and can play an older coordinator that has no
// Stream (answers it UNIMPLEMENTED, as grpc does for an unknown method).
import {
  connect, constants, createServer, type ClientHttp2Session, type IncomingHttpHeaders,
  type OutgoingHttpHeaders, type ServerHttp2Session,
} from "node:http2";

export const STREAM = "/threadlock.v1.LockService/Stream";

export interface H2Proxy {
  address: string;
  /** The :path of every call relayed (or refused), in arrival order. */
  paths: string[];
  /** Cut every connection (both sides), keep listening: a new call reconnects. */
  cut(): void;
  close(): Promise<void>;
}

/** The response's headers without the ones Node sets itself. */
function plain(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(":") || name === ":status") out[name] = value;
  }
  return out;
}

export async function h2proxy(target: string, options: { noStream?: boolean } = {}):
Promise<H2Proxy> {
  const paths: string[] = [];
  const sessions = new Set<ServerHttp2Session>();
  let upstream: ClientHttp2Session | null = null;
  const server = createServer();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => { sessions.delete(session); });
    session.on("error", () => { session.destroy(); });
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => undefined);
    const path = String(headers[":path"]);
    paths.push(path);
    if (options.noStream && path === STREAM) {
      stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12",
        "grpc-message": "Method not found!" }, { endStream: true });
      return;
    }
    if (upstream === null || upstream.closed || upstream.destroyed) {
      upstream = connect(`http://${target}`);
      upstream.on("error", () => undefined);
    }
    const forward: OutgoingHttpHeaders = { ":method": "POST", ":path": path };
    for (const [name, value] of Object.entries(headers)) {
      if (!name.startsWith(":")) forward[name] = value;
    }
    const request = upstream.request(forward);
    request.on("error", () => undefined);
    let trailers: OutgoingHttpHeaders = {};
    request.on("response", (head: IncomingHttpHeaders) => {
      if (!stream.closed) stream.respond(plain(head), { waitForTrailers: true });
    });
    request.on("trailers", (tail: IncomingHttpHeaders) => { trailers = plain(tail); });
    stream.on("wantTrailers", () => { stream.sendTrailers(trailers); });
    stream.pipe(request);
    request.pipe(stream);
    // A cancelled or cut call on either side is cancelled on the other.
    stream.on("close", () => { if (!request.closed) request.close(constants.NGHTTP2_CANCEL); });
    request.on("close", () => {
      if (!stream.closed && request.rstCode !== constants.NGHTTP2_NO_ERROR) {
        stream.close(constants.NGHTTP2_CANCEL);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const bound = server.address();
  if (bound === null || typeof bound === "string") throw new Error("no port");
  const cut = (): void => {
    for (const session of sessions) session.destroy();
    upstream?.destroy();
    upstream = null;
  };
  return {
    address: `127.0.0.1:${bound.port}`,
    paths,
    cut,
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}
