/**
 * The HTTP/2 connection to one coordinator address, shared by unary calls and
 * LockService.Stream. Connect-node's session manager keeps a connection ref'd (Node will not
 * exit) while any HTTP/2 stream is open, which is right for a unary call; but a Stream stays
 * open between calls, so a process that forgot `close()` would never exit. Here a connection
 * carrying a Stream is ref'd only while a call is in flight on a Stream of this address, as
 * it would be while the same unary call ran; idle, it lets the process end.
 */
import type { ClientHttp2Stream, Http2Session, ClientSessionRequestOptions, OutgoingHttpHeaders } from "node:http2";
import { Http2SessionManager } from "@connectrpc/connect-node";

/** The path suffix of LockService.Stream (the gRPC protocol's "/package.Service/Method"). */
const STREAM_PATH = "/threadlock.v1.LockService/Stream";

export class Sessions extends Http2SessionManager {
  #busy = 0; // calls in flight on this address's Streams
  readonly #carrying = new Set<Http2Session>(); // connections with a Stream open

  override async request(method: string, path: string, headers: OutgoingHttpHeaders,
    options: Omit<ClientSessionRequestOptions, "signal">): Promise<ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options);
    const session = stream.session;
    if (path.endsWith(STREAM_PATH) && session && !this.#carrying.has(session)) {
      this.#carrying.add(session);
      session.once("close", () => this.#carrying.delete(session));
    }
    if (path.endsWith(STREAM_PATH) && session && this.#busy === 0) session.unref();
    return stream;
  }

  /** A call starts (+1) or ends (-1) on a Stream of this address. */
  busy(delta: 1 | -1): void {
    this.#busy += delta;
    if (this.#busy === 1 && delta === 1) {
      for (const session of this.#carrying) session.ref();
    } else if (this.#busy === 0) {
      for (const session of this.#carrying) if (!session.destroyed) session.unref();
    }
  }
}
