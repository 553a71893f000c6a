// Connect-ES's own table of Connect error codes and their HTTP statuses, as JSON
// ({"invalid_argument": 400, ...}): tests/test_http_clients.py checks the server's against it.
import { Code } from "@connectrpc/connect";
import { codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";

const table = {};
for (const value of Object.values(Code)) {
  if (typeof value === "number") table[codeToString(value)] = codeToHttpStatus(value);
}
process.stdout.write(JSON.stringify(table) + "\n");
