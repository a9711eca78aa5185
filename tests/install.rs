//! Installing without Rust: the npm packages and the Python wheel that
//! `scripts/package-npm.sh` and `scripts/package-wheel.sh` build, installed
//! into a fresh project and a fresh venv with no network (npm `--offline`
//! with an empty cache, pip `--no-index`), then used as a user would.
//! Needs node, npm and python3 (CI has them); the binary packaged is this
//! build's, stripped.

mod common;

use common::tempdir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// This build's binary, stripped into `dir` (the packages' size matters
/// little here, the time to pack and unpack them does).
fn binary(dir: &Path) -> PathBuf {
    let stripped = dir.join("wxflow");
    let ok = Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(env!("CARGO_BIN_EXE_wxflow"))
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        std::fs::copy(env!("CARGO_BIN_EXE_wxflow"), &stripped).unwrap();
    }
    stripped
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

/// Whether `tool` runs here; CI must have it (`.ci/run` installs it).
fn have(tool: &str) -> bool {
    let here = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if !here {
        assert!(std::env::var_os("CI").is_none(), "CI has {tool} (.ci/run)");
        eprintln!("skipped: no {tool} here");
    }
    here
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A Mini Program with the seed's bug: getUserInfo's data sent with the
/// code of a login called after it.
fn seed_app(dir: &Path) {
    let page = dir.join("app/pages/index");
    std::fs::create_dir_all(&page).unwrap();
    std::fs::write(dir.join("app/app.json"), r#"{"pages":["pages/index/index"]}"#).unwrap();
    std::fs::write(dir.join("app/app.js"), "App({})\n").unwrap();
    std::fs::write(
        page.join("index.wxml"),
        "<button open-type=\"getUserInfo\" bindgetuserinfo=\"onLogin\">Log in</button>\n",
    )
    .unwrap();
    std::fs::write(
        page.join("index.js"),
        "Page({\n  onLogin(e) {\n    const { encryptedData, iv } = e.detail\n    wx.login({\n      success: (r) => wx.request({ url: 'https://api.example.com/login', method: 'POST', data: { code: r.code, encryptedData, iv } })\n    })\n  }\n})\n",
    )
    .unwrap();
}

#[test]
fn the_npm_packages_install_offline_and_npx_wxflow_lints_and_runs() {
    if !have("npm") {
        return;
    }
    let dir = tempdir();
    let packs = dir.path().join("packs");
    let out =
        run(Command::new(root().join("scripts/package-npm.sh")).arg(&packs).env("WXFLOW_BIN", binary(dir.path())));
    assert!(out.status.success(), "{}", text(&out));
    let version = env!("CARGO_PKG_VERSION");
    let launcher = packs.join(format!("wxflow-{version}.tgz"));
    let platform = packs.join(format!("wxflow-cli-linux-x64-{version}.tgz"));
    assert!(launcher.is_file() && platform.is_file(), "{}", text(&out));

    // A fresh project, an empty npm cache, no network.
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(
        project.join("package.json"),
        r#"{"name":"shop","version":"1.0.0","private":true,"scripts":{"lint:login":"wxflow lint app"}}"#,
    )
    .unwrap();
    let npm = |args: &[&str]| {
        run(Command::new("npm")
            .args(args)
            .args(["--offline", "--no-audit", "--no-fund", "--cache"])
            .arg(dir.path().join("cache"))
            .current_dir(&project))
    };
    let out = npm(&["install", launcher.to_str().unwrap(), platform.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    // The launcher carries no binary and downloads nothing: it has no install script.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.join("node_modules/wxflow/package.json")).unwrap())
            .unwrap();
    assert!(manifest.get("scripts").is_none(), "{manifest}");
    assert_eq!(manifest["optionalDependencies"]["@wxflow/cli-linux-x64"], version);

    let npx = |args: &[&str]| run(Command::new("npx").arg("--offline").arg("wxflow").args(args).current_dir(&project));
    let out = npx(&["--version"]);
    assert!(out.status.success() && text(&out).contains(version), "{}", text(&out));

    // lint: the seed's bug found, exit 1 passed through the launcher; the
    // package.json script works the same.
    seed_app(&project);
    let out = npx(&["lint", "app"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("stale-open-data") && text(&out).contains("1 error"), "{}", text(&out));
    let out = npm(&["run", "--silent", "lint:login"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // run: starter flows against the built-in reference backend.
    let out = npx(&["init"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = npx(&["run", "flows/login-first.yaml", "flows/userinfo-first.yaml"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("2 passed, 0 failed"), "{}", text(&out));
}

#[test]
fn the_wheel_installs_into_a_fresh_venv_and_puts_wxflow_on_its_path() {
    if !have("python3") {
        return;
    }
    let dir = tempdir();
    let wheels = dir.path().join("wheels");
    let out =
        run(Command::new(root().join("scripts/package-wheel.sh")).arg(&wheels).env("WXFLOW_BIN", binary(dir.path())));
    assert!(out.status.success(), "{}", text(&out));
    let wheel = std::fs::read_dir(&wheels).unwrap().next().unwrap().unwrap().path();
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("wxflow_cli-{}-py3-none-manylinux_2_", env!("CARGO_PKG_VERSION"))), "{name}");

    let venv = dir.path().join("venv");
    let out = run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    assert!(out.status.success(), "{}", text(&out));
    let out = run(Command::new(venv.join("bin/pip")).args(["install", "--no-index", "--no-cache-dir"]).arg(&wheel));
    assert!(out.status.success(), "{}", text(&out));
    let wxflow = venv.join("bin/wxflow");
    let out = run(Command::new(&wxflow).arg("--version"));
    assert!(out.status.success() && text(&out).contains(env!("CARGO_PKG_VERSION")), "{}", text(&out));
    let project = dir.path().join("backend");
    std::fs::create_dir(&project).unwrap();
    let out = run(Command::new(&wxflow).arg("init").current_dir(&project));
    assert!(out.status.success(), "{}", text(&out));
    let out = run(Command::new(&wxflow).args(["run", "flows/login-first.yaml"]).current_dir(&project));
    assert!(out.status.success() && text(&out).contains("1 passed, 0 failed"), "{}", text(&out));
    // pip uninstall removes it again: the RECORD lists what was installed.
    let out = run(Command::new(venv.join("bin/pip")).args(["uninstall", "-y", "wxflow-cli"]));
    assert!(out.status.success() && !wxflow.exists(), "{}", text(&out));
}

fn git(dir: &Path, args: &[&str]) {
    let out = run(Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir));
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
}

/// The repository's `.pre-commit-hooks.yaml`, tried as pre-commit users
/// do (`pre-commit try-repo`), on a Mini Program with the seed's bug and
/// on the same app fixed.
#[test]
fn the_pre_commit_hook_fails_on_the_seeds_bug_and_passes_once_fixed() {
    if !have("pre-commit") {
        return;
    }
    let dir = tempdir();
    // The hook's repository: this one's hook file, in a repository of its own.
    let hooks = dir.path().join("hooks");
    std::fs::create_dir(&hooks).unwrap();
    std::fs::copy(root().join(".pre-commit-hooks.yaml"), hooks.join(".pre-commit-hooks.yaml")).unwrap();
    git(&hooks, &["init", "-q"]);
    git(&hooks, &["add", "."]);
    git(&hooks, &["commit", "-qm", "hooks"]);
    // A user's Mini Program repository.
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    seed_app(&project);
    git(&project, &["init", "-q"]);
    git(&project, &["add", "."]);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_wxflow")).parent().unwrap().to_path_buf();
    let path =
        std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())))
            .unwrap();
    let try_repo = || {
        run(Command::new("pre-commit")
            .args(["try-repo"])
            .arg(&hooks)
            .args(["wxflow-lint", "--all-files"])
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", dir.path().join("cache"))
            .env("NO_COLOR", "1")
            .current_dir(&project))
    };
    let out = try_repo();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("stale-open-data") && text(&out).contains("Failed"), "{}", text(&out));
    // Fixed: the login first, then the data.
    std::fs::write(
        project.join("app/pages/index/index.js"),
        "Page({\n  onLogin() {\n    wx.login({\n      success: (r) => wx.getUserInfo({ success: (u) => wx.request({ url: 'https://api.example.com/login', method: 'POST', data: { code: r.code, encryptedData: u.encryptedData, iv: u.iv } }) })\n    })\n  }\n})\n",
    )
    .unwrap();
    std::fs::write(project.join("app/pages/index/index.wxml"), "<button bindtap=\"onLogin\">Log in</button>\n")
        .unwrap();
    git(&project, &["add", "."]);
    let out = try_repo();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Passed"), "{}", text(&out));
}
