// A line-oriented Connect-ES client of threadlock's HTTP port, driven by
// tests/test_http_clients.py: one JSON command per stdin line, one JSON result per stdout line.
//
//   node client.mjs <FileDescriptorSet.binpb> <baseUrl> [json|binary] [ca.pem [cert.pem key.pem]]
//   < {"method": "Acquire", "request": {...proto3 JSON...}, "timeoutMs": 5000}
//   > {"ok": {...response as proto3 JSON...}}  or  {"error": {"code": "invalid_argument", "message": "..."}}
//
// No generated code: the service is read from the descriptor set (`buf build protos -o ...`),
// so this checks the wire protocol only, exactly as a third-party Connect client sees it.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { createFileRegistry, fromBinary, fromJson, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";

const [descriptorPath, baseUrl, format = "json", ca, cert, key] = process.argv.slice(2);
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(descriptorPath)));
const service = registry.getService("threadlock.v1.LockService");
if (service === undefined) throw new Error("threadlock.v1.LockService not in the descriptor set");

const nodeOptions = {};
if (ca) nodeOptions.ca = readFileSync(ca);
if (cert) nodeOptions.cert = readFileSync(cert);
if (key) nodeOptions.key = readFileSync(key);
const transport = createConnectTransport({
  baseUrl,
  httpVersion: "1.1",
  useBinaryFormat: format === "binary",
  nodeOptions,
});
const client = createClient(service, transport);

// Code enum -> the protocol's snake_case name ("InvalidArgument" -> "invalid_argument").
const codeName = (code) => Code[code].replace(/[A-Z]/g, (c, i) => (i ? "_" : "") + c.toLowerCase());

async function run(command) {
  const method = service.methods.find((m) => m.name === command.method);
  if (method === undefined) return { error: { code: "client", message: `no method ${command.method}` } };
  const request = fromJson(method.input, command.request ?? {}, { registry });
  try {
    const response = await client[method.localName](request, { timeoutMs: command.timeoutMs });
    return { ok: toJson(method.output, response, { registry }) };
  } catch (err) {
    const e = ConnectError.from(err);
    return { error: { code: codeName(e.code), message: e.rawMessage } };
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  process.stdout.write(JSON.stringify(await run(JSON.parse(line))) + "\n");
}
