// A bounded measurement, not a test: the coordinator's CPU per lock+unlock for N concurrent
// TypeScript clients (each its own LockClient and key, acquire + release in a loop), on one
// transport. Reads the coordinator process's CPU time (utime + stime in /proc/<pid>/stat)
// before and after. Build first (npm run build); run against a `threadlock serve` you started:
//   node scripts/cpu-per-lock.mjs --pid PID --address 127.0.0.1:50051 --transport stream
//     [--clients 32] [--seconds 5]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { LockClient } from "@threadlock/client";

const { values: a } = parseArgs({
  options: {
    pid: { type: "string" }, address: { type: "string" }, transport: { type: "string", default: "stream" },
    clients: { type: "string", default: "32" }, seconds: { type: "string", default: "5" },
  },
});
if (!a.pid || !a.address) {
  console.error("cpu-per-lock: --pid and --address are required");
  process.exit(2);
}
const TICKS = 100; // USER_HZ on Linux (getconf CLK_TCK)

/** utime + stime of the process, in seconds. */
function cpu(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // after "(comm) "
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // fields 14 and 15 of stat
}

const n = Number(a.clients);
const clients = Array.from({ length: n }, (_, i) => new LockClient({
  addresses: a.address, owner: `cpu-${i}`, transport: a.transport,
}));
const run = `${process.pid}-${Date.now()}`;
// Warm up: every client connected (and its stream open) before the clock starts.
await Promise.all(clients.map(async (c, i) => (await c.acquire(`cpu-${run}-${i}`, { ttl: 10 })).release()));
const end = performance.now() + Number(a.seconds) * 1000;
const before = cpu(a.pid);
const started = performance.now();
const counts = await Promise.all(clients.map(async (c, i) => {
  let done = 0;
  while (performance.now() < end) {
    const lease = await c.acquire(`cpu-${run}-${i}`, { ttl: 10 });
    await lease.release();
    done += 1;
  }
  return done;
}));
const seconds = (performance.now() - started) / 1000;
const used = cpu(a.pid) - before;
const ops = counts.reduce((x, y) => x + y, 0);
await Promise.all(clients.map((c) => c.close()));
console.log(JSON.stringify({
  transport: a.transport, clients: n, seconds: Number(seconds.toFixed(2)), locks: ops,
  locksPerSecond: Math.round(ops / seconds), coordinatorCpuSeconds: Number(used.toFixed(2)),
  cpuMsPerLockUnlock: Number(((used * 1000) / ops).toFixed(3)),
}));
