// Generate src/gen from ../../protos with the Buf CLI the project installs (.tools, see
// scripts/setup.sh) and the local protoc-gen-es plugin (buf.gen.yaml).
//   node scripts/generate.mjs            regenerate src/gen
//   node scripts/generate.mjs OUTDIR     generate into OUTDIR/src/gen instead (freshness check)
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export function buf() {
  const path = process.env.BUF ?? join(root, "../../.tools/node_modules/.bin/buf");
  if (!existsSync(path)) throw new Error(`buf not found at ${path}: run ./scripts/setup.sh`);
  return path;
}

export function generate(outDir) {
  const args = ["generate", ...(outDir ? ["--output", outDir] : [])];
  execFileSync(buf(), args, { cwd: root, stdio: "inherit" });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) generate(process.argv[2]);
