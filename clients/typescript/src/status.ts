/** What Status answers, as plain SDK objects (Dates, bigint tokens) instead of messages. */
import type { LockState } from "./gen/threadlock/v1/lock_pb.js";
import { date } from "./protocol.js";

export interface HolderStatus {
  owner: string;
  fencingToken: bigint;
  acquiredAt: Date | null;
  expiresAt: Date | null;
  metadata: Record<string, string>;
}

export interface WaiterStatus {
  owner: string;
  /** 1 = next in line. */
  position: number;
  queuedAt: Date | null;
  metadata: Record<string, string>;
}

export interface LockStatus {
  key: string;
  /** null while only waiters are listed (the holder just left). */
  holder: HolderStatus | null;
  /** In the order they will be served. */
  waiters: WaiterStatus[];
}

export function lockStatus(state: LockState): LockStatus {
  const h = state.holder;
  return {
    key: state.key,
    holder: h ? {
      owner: h.owner, fencingToken: h.fencingToken, acquiredAt: date(h.acquiredAt),
      expiresAt: date(h.expiresAt), metadata: { ...h.metadata },
    } : null,
    waiters: state.waiters.map((w) => ({
      owner: w.owner, position: w.position, queuedAt: date(w.queuedAt), metadata: { ...w.metadata },
    })),
  };
}
