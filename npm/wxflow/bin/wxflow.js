#!/usr/bin/env node
// Runs the wxflow binary of this platform's package (an optional dependency
// npm installed beside this one, as oxlint and Biome do): arguments, stdio,
// exit code and signals pass through unchanged. WXFLOW_BINARY overrides the
// binary's path.
"use strict";

const { spawn } = require("node:child_process");

// process.platform-process.arch → the package holding that binary.
const PACKAGES = {
  "linux-x64": "@wxflow/cli-linux-x64",
  "linux-arm64": "@wxflow/cli-linux-arm64",
  "darwin-x64": "@wxflow/cli-darwin-x64",
  "darwin-arm64": "@wxflow/cli-darwin-arm64",
  "win32-x64": "@wxflow/cli-win32-x64",
};

function fail(message) {
  process.stderr.write(`wxflow: ${message}\n`);
  process.exit(2);
}

function binary() {
  if (process.env.WXFLOW_BINARY) return process.env.WXFLOW_BINARY;
  const key = `${process.platform}-${process.arch}`;
  const pkg = PACKAGES[key];
  if (!pkg) {
    fail(
      `no prebuilt binary for ${key} (there are: ${Object.keys(PACKAGES).join(", ")}); ` +
        "install from source with `cargo install --locked --git <wxflow's repository>`, " +
        "or set WXFLOW_BINARY to a wxflow binary",
    );
  }
  const exe = process.platform === "win32" ? "wxflow.exe" : "wxflow";
  try {
    return require.resolve(`${pkg}/${exe}`);
  } catch {
    fail(
      `the package ${pkg}, which holds the binary for ${key}, is not installed: ` +
        "npm skips optional dependencies with --omit=optional (or --no-optional), " +
        "and a lockfile made on another platform may lack it; reinstall without those, " +
        `or add ${pkg} to your dependencies`,
    );
  }
}

const child = spawn(binary(), process.argv.slice(2), { stdio: "inherit", windowsHide: true });

// Ctrl-C reaches the whole process group, wxflow included: this launcher
// waits for wxflow to write its partial report and exit. A signal sent to
// the launcher alone (a CI runner's SIGTERM) is passed on.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (signal !== "SIGINT") child.kill(signal);
  });
}

child.on("error", (err) => fail(`cannot run ${child.spawnfile}: ${err.message}`));
child.on("exit", (code, signal) => {
  if (signal) {
    // Die of the same signal, so the caller sees what wxflow saw.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
