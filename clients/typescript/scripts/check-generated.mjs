// Freshness check of src/gen (CI runs it, and test/generated.test.ts): regenerate from
// ../../protos into a temporary directory and fail with the differing files if the committed
// code is not what buf makes now.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { generate, root } from "./generate.mjs";

function files(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

const out = mkdtempSync(join(tmpdir(), "threadlock-gen-"));
try {
  generate(out);
  const fresh = join(out, "src/gen");
  const committed = join(root, "src/gen");
  const names = new Set([...files(fresh), ...files(committed)]);
  const stale = [...names].filter((name) => {
    try {
      return !readFileSync(join(fresh, name)).equals(readFileSync(join(committed, name)));
    } catch {
      return true; // on one side only
    }
  });
  if (stale.length > 0) {
    console.error(`src/gen is stale (run npm run generate): ${stale.join(", ")}`);
    process.exit(1);
  }
  console.log(`src/gen is fresh (${names.size} files)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
