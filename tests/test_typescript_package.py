"""The packed `@threadlock/client` tarball (`npm pack`) installed into an empty Node 22 project:
`import` (ESM) and `require` (CJS) both load it, and a consumer written with `await using`
type-checks under `tsc --strict` against its `.d.ts` for both module kinds, then runs against
a real coordinator."""

from __future__ import annotations

import json
from pathlib import Path

from harness import serve_process
from node_tools import SDK
from node_tools import run_node as _run
from test_typescript import node_env  # noqa: F401  (the fixture)

CONSUMER = """\
import { LockClient, ThreadBusy, ThreadlockError, type Lease } from "@threadlock/client";

export async function main(address: string, kind: string): Promise<void> {
  await using locks = new LockClient({ addresses: address, owner: `consumer-${kind}` });
  const key = `consumer-${kind}-${process.pid}`;
  let token: bigint;
  {
    await using lease: Lease = await locks.acquire(key, { ttl: 5, metadata: { kind } });
    token = lease.fencingToken;
    try {
      await locks.acquire(key, { ttl: 5 });
      throw new Error("granted twice");
    } catch (error) {
      if (!(error instanceof ThreadBusy) || !(error instanceof ThreadlockError)) throw error;
      console.log(`${kind} busy: ${error.holder}: ${error.message}`);
    }
  }
  const after = await locks.status({ key });
  console.log(`${kind} ok token=${token} released=${after.length === 0}`);
}
"""

ESM_MAIN = """\
import { main } from "./consumer.js";
await main(process.env["THREADLOCK_TEST_ADDRESS"] ?? "", "esm");
"""

CJS_MAIN = """\
import { main } from "./consumer-cjs.cjs";
void main(process.env["THREADLOCK_TEST_ADDRESS"] ?? "", "cjs");
"""

TSCONFIG = {"compilerOptions": {
    "target": "ES2022", "lib": ["ES2023", "ESNext.Disposable"], "module": "nodenext",
    "moduleResolution": "nodenext", "types": ["node"], "strict": True,
    "noUncheckedIndexedAccess": True, "skipLibCheck": False, "outDir": "out", "rootDir": "."},
    "include": ["*.ts", "*.mts", "*.cts"]}


def test_packed_tarball_installs_imports_requires_and_typechecks(
        node_env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    packed = _run(["npm", "pack", "--json", "--pack-destination", str(tmp_path)], node_env, SDK)
    info = json.loads(packed[packed.index("["):])
    tarball = tmp_path / info[0]["filename"]
    files = {f["path"] for f in info[0]["files"]}
    for path in ("dist/esm/index.js", "dist/esm/index.d.ts", "dist/cjs/index.js",
                 "dist/cjs/index.d.ts", "dist/cjs/package.json", "package.json"):
        assert path in files, f"{path} not packed"
    assert not any(p.startswith(("src/", "test/", "node_modules/")) for p in files), files

    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text(json.dumps(
        {"name": "consumer", "private": True, "type": "module"}))
    deps = json.loads((SDK / "package.json").read_text())["devDependencies"]
    _run(["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", str(tarball),
          f"typescript@{deps['typescript']}", f"@types/node@{deps['@types/node']}"],
         node_env, app)

    # Both module kinds load it (no TypeScript involved).
    esm = _run(["node", "--input-type=module", "-e", "import * as t from '@threadlock/client';"
                " console.log(typeof t.LockClient, new t.LeaseLost('k', 1n, 'r').name)"],
               node_env, app)
    assert esm.strip() == "function LeaseLost", esm
    cjs = _run(["node", "-e", "const t = require('@threadlock/client');"
                " console.log(typeof t.LockClient, new t.ThreadBusy('k', 'm').name,"
                " require.resolve('@threadlock/client'))"], node_env, app)
    assert cjs.startswith("function ThreadBusy ") and "/dist/cjs/index.js" in cjs, cjs

    # A strict consumer with `await using`, type-checked against the ESM and the CJS types.
    (app / "consumer.ts").write_text(CONSUMER)
    (app / "consumer-cjs.cts").write_text(CONSUMER)
    (app / "esm-main.ts").write_text(ESM_MAIN)
    (app / "cjs-main.cts").write_text(CJS_MAIN)
    (app / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    _run(["node", "node_modules/typescript/bin/tsc", "-p", "."], node_env, app)
    assert "require(\"@threadlock/client\")" in (app / "out" / "consumer-cjs.cjs").read_text()

    proc, address = serve_process({}, tmp_path / "serve.log")
    try:
        env = {**node_env, "THREADLOCK_TEST_ADDRESS": address}
        for kind, main in (("esm", "out/esm-main.js"), ("cjs", "out/cjs-main.cjs")):
            out = _run(["node", main], env, app, timeout=60)
            assert f"{kind} busy: consumer-{kind}:" in out, out
            assert f"{kind} ok token=" in out and "released=true" in out, out
    finally:
        proc.terminate()
        proc.wait(timeout=30)
