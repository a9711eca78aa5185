//! `wxflow lint` on small Mini Programs under tests/lint/, one per shape:
//! each asserts the exact rule, file and line of every finding (and, for
//! the negatives, that there are none); the JSON and SARIF outputs
//! against their schemas; emitted flows validated and run against the
//! reference backend; malformed sources.

mod common;
use common::{tempdir, wxflow_blocking};
use serde_json::Value;

/// `wxflow lint ARGS --format json`, its `file`s made relative to the
/// first folder linted (they are given from the working directory: see
/// `paths_are_given_from_the_working_directory_and_sarif_from_the_repository_root`).
fn lint(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["lint".to_string()];
    all.extend(args.iter().map(ToString::to_string));
    all.extend(["--format".into(), "json".into()]);
    let (code, out, err) = wxflow_blocking(&all);
    let mut report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\n{err}"));
    if let Some(dir) = args.first().filter(|a| std::path::Path::new(a).is_dir()) {
        from_folder(&mut report, &format!("{}/", dir.trim_end_matches('/')));
    }
    (code, report)
}

fn from_folder(v: &mut Value, prefix: &str) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::String(s) if k == "file" => {
                        let shown = s.strip_prefix(prefix).unwrap_or_else(|| panic!("{s} is not under {prefix}"));
                        *s = shown.to_string();
                    }
                    _ => from_folder(x, prefix),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| from_folder(x, prefix)),
        _ => {}
    }
}

/// `(rule, file, line)` of each finding of a fixture.
fn findings(fixture: &str) -> (i32, Vec<(String, String, u64)>) {
    let (code, report) = lint(&[&format!("tests/lint/{fixture}")]);
    let list = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().into(), f["file"].as_str().unwrap().into(), f["line"].as_u64().unwrap()))
        .collect();
    (code, list)
}

fn expect(fixture: &str, code: i32, want: &[(&str, &str, u64)]) {
    let (got_code, got) = findings(fixture);
    let want: Vec<(String, String, u64)> = want.iter().map(|(r, f, l)| ((*r).into(), (*f).into(), *l)).collect();
    assert_eq!(got, want, "{fixture}");
    assert_eq!(got_code, code, "{fixture}: exit code");
}

#[test]
fn the_seeds_order_across_a_page_a_login_wrapper_and_an_api_module_is_stale_open_data() {
    expect("seed-native", 1, &[("stale-open-data", "pages/index/index.js", 7)]);
    let (_, report) = lint(&["tests/lint/seed-native"]);
    let related: Vec<(String, u64)> = report["findings"][0]["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["file"].as_str().unwrap().to_string(), r["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        related,
        [
            ("utils/auth.js".into(), 4),
            ("utils/api.js".into(), 5),
            ("pages/index/index.js".into(), 9),
            ("pages/index/index.wxml".into(), 2)
        ]
    );
}

#[test]
fn frameworks_and_shapes_each_find_the_stale_data_where_it_is_obtained() {
    expect("callbacks", 1, &[("stale-open-data", "pages/index/index.js", 4)]);
    expect("phone", 1, &[("stale-open-data", "pages/phone/phone.js", 10)]);
    expect("uniapp", 1, &[("stale-open-data", "pages/login/login.vue", 12)]);
    expect("setup", 1, &[("stale-open-data", "pages/index.vue", 7)]);
    expect("taro", 1, &[("stale-open-data", "src/pages/index/index.tsx", 6)]);
    expect("mpvue", 1, &[("stale-open-data", "src/pages/index/index.vue", 8)]);
    // getUserProfile, then a namespaced Vuex action (mapActions) that logs in and posts through `uni.$http`.
    expect("uni-store", 1, &[("stale-open-data", "components/my-login/my-login.vue", 11)]);
    // e.detail copied into a payload with Object.assign, the code added in the login's callback.
    expect("assign", 1, &[("stale-open-data", "pages/a/a.js", 3)]);
    // promisify(wx.login) and a class-based client: the data is obtained where the page calls the wrapper.
    expect("promisify", 1, &[("stale-open-data", "pages/login/login.ts", 8)]);
    // checkSession's `fail` (an expired session) logs in again under data sealed with the old key.
    expect("check-session", 1, &[("stale-open-data", "pages/index/index.js", 3)]);
}

#[test]
fn login_first_the_seeds_fix_fresh_data_code_only_and_ciphertext_only_are_not_flagged() {
    for fixture in ["login-first", "seed-fix", "ignores-detail", "plain"] {
        expect(fixture, 0, &[]);
    }
}

#[test]
fn a_kept_code_a_kept_session_key_and_racing_logins_are_found() {
    expect("cached", 0, &[("cached-login-code", "pages/index/index.js", 6)]);
    // The app's launch keeps the code in globalData; a page's `getApp()` at load reads it later.
    expect("global-data", 0, &[("cached-login-code", "app.js", 3)]);
    expect("session-key", 1, &[("session-key-on-client", "utils/login.js", 8)]);
    expect("racing", 0, &[("racing-login", "pages/index/index.js", 4), ("racing-login", "utils/wx.js", 1)]);
    let (code, _) = lint(&["tests/lint/cached", "--deny", "warnings"]);
    assert_eq!(code, 1, "--deny warnings counts warnings");
}

#[test]
fn an_ignore_comment_silences_one_finding_and_is_counted() {
    let (code, report) = lint(&["tests/lint/ignored"]);
    assert_eq!(code, 0);
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
    assert_eq!(report["summary"]["ignored"], 1);
}

#[test]
fn malformed_sources_are_warned_about_or_skipped_and_the_rest_is_linted() {
    expect("malformed", 1, &[("parse-error", "pages/broken/broken.js", 5), ("stale-open-data", "pages/ok/ok.js", 3)]);
    let (_, report) = lint(&["tests/lint/malformed"]);
    let skipped: Vec<&str> =
        report["summary"]["skipped"].as_array().unwrap().iter().map(|s| s["file"].as_str().unwrap()).collect();
    assert_eq!(skipped, ["pages/blob.js", "pages/latin1.js"]);
    let (code, _, err) = wxflow_blocking(&["lint".into(), "tests/lint/no-such-folder".into()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-such-folder"), "{err}");
}

#[test]
fn a_symlink_loop_ends_and_a_huge_file_is_skipped() {
    let dir = tempdir();
    std::fs::create_dir_all(dir.path().join("pages")).unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("pages/loop")).unwrap();
    std::fs::write(dir.path().join("pages/a.js"), "Page({})").unwrap();
    // A file over 5 MB is skipped with a note.
    std::fs::write(dir.path().join("pages/huge.js"), " ".repeat(5 * 1024 * 1024 + 1)).unwrap();
    let (code, report) = lint(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(report["summary"]["files"], 1);
    assert_eq!(report["summary"]["skipped"][0]["file"], "pages/huge.js");
    assert!(report["summary"]["skipped"][0]["why"].as_str().unwrap().contains("limit"));
}

#[test]
fn the_json_report_matches_its_published_schema() {
    let (code, schema, _) = wxflow_blocking(&["schema".into(), "lint".into()]);
    assert_eq!(code, 0);
    let schema: Value = serde_json::from_str(&schema).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for fixture in ["seed-native", "malformed", "racing", "session-key", "ignored"] {
        let (_, report) = lint(&[&format!("tests/lint/{fixture}")]);
        let errors: Vec<String> =
            validator.iter_errors(&report).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{fixture}: {errors:#?}");
    }
}

/// SARIF 2.1.0's schema, as the npm package `@microsoft/jest-sarif` ships
/// it; `.ci/run` fetches it into target/sarif/ (the test fails in CI without it).
#[test]
fn sarif_output_matches_the_sarif_2_1_0_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/sarif/package/lib/schemas/sarif-2.1.0-rtm.5.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        assert!(std::env::var_os("CI").is_none(), "{} is missing: .ci/run fetches it", path.display());
        eprintln!("skipped: no SARIF schema at {} (.ci/run fetches it)", path.display());
        return;
    };
    // rtm.5's `run.language` pattern has a stray `]` that no regex engine
    // accepts; it checks a field wxflow does not write, so it is fixed here.
    let text = text.replace(r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$", r"^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
    let schema: Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let (code, out, _) =
        wxflow_blocking(&["lint".into(), "tests/lint/seed-native".into(), "--format".into(), "sarif".into()]);
    assert_eq!(code, 1);
    let sarif: Value = serde_json::from_str(&out).unwrap();
    let errors: Vec<String> = validator.iter_errors(&sarif).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "stale-open-data");
    assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startLine"], 7);
}

#[test]
fn the_human_view_shows_the_source_with_markers_and_no_colour_when_piped() {
    let (code, out, _) = wxflow_blocking(&["lint".into(), "tests/lint/seed-native".into()]);
    assert_eq!(code, 1);
    assert!(out.contains("error[stale-open-data]: "), "{out}");
    assert!(out.contains("  --> tests/lint/seed-native/pages/index/index.js:7:35\n"), "{out}");
    assert!(
        out.contains("7 |     const { encryptedData, iv } = e.detail\n  |                                   ^^^^^^^^"),
        "{out}"
    );
    assert!(out.contains("::: tests/lint/seed-native/utils/auth.js:4:5"), "{out}");
    assert!(!out.contains('\x1b'), "no colour when not a terminal");
    assert!(out.ends_with("lint: 5 files (951 bytes), 1 error, 0 warnings, 0 ignored\n"), "{out}");
}

#[test]
fn emitted_flows_validate_and_fail_as_stale_iv_against_the_reference_backend() {
    let dir = tempdir();
    let flows = dir.path().join("flows");
    let report = dir.path().join("report.json");
    for fixture in ["seed-native", "phone", "uniapp"] {
        let (code, _, err) = wxflow_blocking(&[
            "lint".into(),
            format!("tests/lint/{fixture}"),
            "--emit-flows".into(),
            flows.display().to_string(),
        ]);
        assert_eq!(code, 1, "{err}");
    }
    let names: Vec<String> =
        std::fs::read_dir(&flows).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let (code, out, err) = wxflow_blocking(&["validate".into(), flows.display().to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = wxflow_blocking(&[
        "run".into(),
        flows.display().to_string(),
        "--report".into(),
        format!("json={}", report.display()),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    for f in report["flows"].as_array().unwrap() {
        assert_eq!(f["causes"]["stale_iv"], 1, "{}: {f}", f["flow"]);
    }
    let text = std::fs::read_to_string(flows.join("stale-open-data-pages-login-login-vue-12.yaml")).unwrap();
    assert!(text.contains("url: '{{ target }}/auth/wx-login'"), "{text}");
}

/// Copies the seed-native fixture into a fresh folder, where hostile files
/// can be planted beside it.
/// Writes `files` (path, text) under a fresh folder.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempdir();
    for (path, text) in files {
        let to = dir.path().join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, text).unwrap();
    }
    dir
}

fn seed_copy() -> tempfile::TempDir {
    let dir = tempdir();
    for entry in ["app.js", "pages/index/index.js", "pages/index/index.wxml", "utils/auth.js", "utils/api.js"] {
        let to = dir.path().join(entry);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(format!("tests/lint/seed-native/{entry}"), to).unwrap();
    }
    dir
}

fn skipped(report: &Value) -> Vec<(String, String)> {
    report["summary"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["file"].as_str().unwrap().to_string(), s["why"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn lint_reads_regular_files_inside_its_tree_only_and_names_what_it_skipped() {
    let dir = seed_copy();
    let outside = tempdir();
    std::fs::write(outside.path().join("secret.js"), "const LEAK = 'outside-line';").unwrap();
    let p = dir.path();
    let fifo = std::ffi::CString::new(p.join("pipe.js").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    std::os::unix::fs::symlink("/dev/zero", p.join("zero.js")).unwrap();
    std::os::unix::fs::symlink("/", p.join("root")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.js"), p.join("outside.js")).unwrap();
    // A link to a file inside the tree is fine, and read once.
    std::os::unix::fs::symlink(p.join("utils/api.js"), p.join("api-link.js")).unwrap();
    let started = std::time::Instant::now();
    let index = p.join("pages/index/index.js");
    let (code, report) = lint(&[p.to_str().unwrap(), index.to_str().unwrap()]);
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "lint hung");
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["findings"].as_array().unwrap().len(), 1, "the seed's finding, once: {report:#}");
    assert_eq!(report["summary"]["files"], 5, "the five sources, each once: {report:#}");
    assert_eq!(report["findings"][0]["related"][1]["file"], "utils/api.js", "named by its own path, not the link's");
    let skipped = skipped(&report);
    let why = |name: &str| skipped.iter().find(|(f, _)| f == name).map(|(_, w)| w.as_str()).unwrap_or_default();
    assert!(why("pipe.js").contains("not a regular file (a FIFO)"), "{skipped:?}");
    assert!(why("zero.js").contains("out of the linted tree"), "{skipped:?}");
    assert!(why("root").contains("out of the linted tree"), "{skipped:?}");
    assert!(why("outside.js").contains("out of the linted tree"), "{skipped:?}");
    assert!(!report.to_string().contains("outside-line"), "an outside file's line was read: {report:#}");
}

#[test]
fn a_device_node_in_the_tree_is_skipped_not_read() {
    let dir = seed_copy();
    let node = std::ffi::CString::new(dir.path().join("zero.js").to_str().unwrap()).unwrap();
    // /dev/zero's numbers (1, 5); mknod needs root, as the tests run in CI.
    if unsafe { libc::mknod(node.as_ptr(), libc::S_IFCHR | 0o644, libc::makedev(1, 5)) } != 0 {
        eprintln!("skipped: mknod needs root");
        return;
    }
    let (code, report) = lint(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(skipped(&report).contains(&("zero.js".into(), "not a regular file (a device)".into())), "{report:#}");
}

#[test]
fn files_too_deep_for_a_stack_lose_nothing_else() {
    let dir = seed_copy();
    let p = dir.path();
    std::fs::write(p.join("functions.js"), format!("{}1{}", "function f(){ return ".repeat(3000), "}".repeat(3000)))
        .unwrap();
    std::fs::write(p.join("arrays.js"), format!("var a = {}1{};", "[".repeat(10_000), "]".repeat(10_000))).unwrap();
    // An inlined image: 20,000 base64 lines joined by `+` (1.6 MB).
    let line = format!("\"{}\"", "QUJD".repeat(18));
    let joined = vec![line; 20_000].join(" +\n");
    std::fs::write(p.join("image.js"), format!("module.exports = {joined};\n")).unwrap();
    let (code, report) = lint(&[p.to_str().unwrap()]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["findings"][0]["rule"], "stale-open-data", "{report:#}");
    let skipped = skipped(&report);
    for deep in ["functions.js", "arrays.js"] {
        assert!(skipped.iter().any(|(f, w)| f == deep && w.contains("nested deeper than")), "{deep}: {skipped:?}");
    }
    assert!(!skipped.iter().any(|(f, _)| f == "image.js"), "a long chain is linted, not skipped: {skipped:?}");
}

#[test]
fn a_folder_with_no_mini_program_source_is_bad_input() {
    let dir = tempdir();
    std::fs::write(dir.path().join("server.py"), "print('hi')").unwrap();
    let (code, _, err) = wxflow_blocking(&["lint".into(), dir.path().display().to_string()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no Mini Program source under") && err.contains(".wxml"), "{err}");
}

#[test]
fn quoted_source_cannot_drive_the_terminal_and_cr_only_files_keep_their_lines() {
    let dir = seed_copy();
    let index = dir.path().join("pages/index/index.js");
    let text = std::fs::read_to_string(&index).unwrap();
    // Old Mac line endings, and an escape sequence on the line a finding quotes.
    let hostile = text.replace("= e.detail", "= /*\x1b[?1049h\x1b[?25l*/e.detail").replace('\n', "\r");
    std::fs::write(&index, hostile).unwrap();
    let (code, out, _) = wxflow_blocking(&["lint".into(), dir.path().display().to_string()]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains('\x1b') && out.contains("\\u{1b}[?1049h"), "{out}");
    let (_, report) = lint(&[dir.path().to_str().unwrap()]);
    assert_eq!(report["findings"][0]["line"], 7, "{report:#}");
}

#[test]
fn emitted_flows_never_overwrite_write_through_links_or_collide() {
    let dir = tempdir();
    let src = dir.path().join("src");
    // Two pages whose flow names collide: `pages/a-b.js` and `pages/a/b.js`.
    for (page, utils) in [("pages/a-b", "../utils"), ("pages/a/b", "../../utils")] {
        let to = src.join(page);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        for ext in ["js", "wxml"] {
            let text = std::fs::read_to_string(format!("tests/lint/seed-native/pages/index/index.{ext}")).unwrap();
            std::fs::write(to.with_extension(ext), text.replace("../../utils", utils)).unwrap();
        }
    }
    for util in ["utils/auth.js", "utils/api.js"] {
        std::fs::create_dir_all(src.join("utils")).unwrap();
        std::fs::copy(format!("tests/lint/seed-native/{util}"), src.join(util)).unwrap();
    }
    let flows = dir.path().join("flows");
    let emit = |extra: &[&str]| {
        let mut args =
            vec!["lint".to_string(), src.display().to_string(), "--emit-flows".into(), flows.display().to_string()];
        args.extend(extra.iter().map(ToString::to_string));
        wxflow_blocking(&args)
    };
    let (code, _, err) = emit(&[]);
    assert_eq!(code, 1, "{err}");
    let mut names: Vec<String> =
        std::fs::read_dir(&flows).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names.len(), 2, "two findings, two files: {names:?} {err}");
    assert!(err.contains("wrote 2 flows"), "{err}");
    // A user's edit is kept, unless --force.
    let first = flows.join(&names[0]);
    std::fs::write(&first, "# mine\n").unwrap();
    let (_, _, err) = emit(&[]);
    assert!(err.contains("wrote 0 flows") && err.contains("kept 2 existing files"), "{err}");
    assert_eq!(std::fs::read_to_string(&first).unwrap(), "# mine\n");
    let (_, _, err) = emit(&["--force"]);
    assert!(err.contains("wrote 2 flows"), "{err}");
    assert_ne!(std::fs::read_to_string(&first).unwrap(), "# mine\n");
    // A planted symlink is never written through.
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "untouched").unwrap();
    std::fs::remove_file(&first).unwrap();
    std::os::unix::fs::symlink(&victim, &first).unwrap();
    let (code, _, err) = emit(&["--force"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
}

#[test]
fn wepy_files_are_read_as_single_file_components_not_dropped() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("index.wpy"),
        "<template>\n  <button open-type=\"getUserInfo\" bindgetuserinfo=\"login\">go</button>\n</template>\n<script>\nexport default {\n  methods: {\n    login(e) {\n      const { encryptedData, iv } = e.detail\n      wx.login({ success: (r) => wx.request({ url: '/api/login', method: 'POST', data: { code: r.code, encryptedData, iv } }) })\n    }\n  }\n}\n</script>\n",
    )
    .unwrap();
    let (code, report) = lint(&[dir.path().to_str().unwrap()]);
    assert_eq!(report["summary"]["files"], 1, "{report:#}");
    assert_eq!(code, 1, "its methods are handlers, as a .vue file's: {report:#}");
    assert_eq!(report["findings"][0]["rule"], "stale-open-data", "{report:#}");
}

/// From a repository's root and from inside it, a finding's path opens
/// from where the command ran (so `path:line:col` is clickable and a
/// problem matcher places it), and SARIF's is from the git root.
#[test]
fn paths_are_given_from_the_working_directory_and_sarif_from_the_repository_root() {
    let repo = seed_copy();
    let app = repo.path().join("miniprogram");
    std::fs::create_dir(&app).unwrap();
    for entry in std::fs::read_dir(repo.path()).unwrap() {
        let from = entry.unwrap().path();
        if from != app {
            std::fs::rename(&from, app.join(from.file_name().unwrap())).unwrap();
        }
    }
    std::fs::create_dir(repo.path().join(".git")).unwrap();
    let (code, out, _) = common::wxflow_in(repo.path(), &["lint", "miniprogram"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("  --> miniprogram/pages/index/index.js:7:35\n"), "{out}");
    assert!(out.contains("  ::: miniprogram/utils/api.js:5:"), "{out}");
    let (_, out, _) = common::wxflow_in(&app.join("pages"), &["lint", ".."]);
    assert!(out.contains("  --> index/index.js:7:35\n"), "{out}");
    let (_, out, _) = common::wxflow_in(&app.join("pages"), &["lint", "..", "--format", "sarif"]);
    let sarif: Value = serde_json::from_str(&out).unwrap();
    let at = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(at["uri"], "miniprogram/pages/index/index.js", "{sarif:#}");
    assert_eq!(at["uriBaseId"], "%SRCROOT%");
    let root = sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"].as_str().unwrap().to_string();
    assert!(root.starts_with("file:///") && root.ends_with('/'), "{root}");
}

/// A user taps handlers in any order: what one keeps (page data here) and
/// another sends is found whichever comes first in the source.
#[test]
fn findings_do_not_depend_on_the_order_of_handlers_in_the_source() {
    let keep = "  onUserInfo(e) {\n    this.setData({ profile: e.detail })\n  }";
    let send = "  onLogin() {\n    const p = this.data.profile\n    wx.login({\n      success: (res) => wx.request({ url: 'https://api.example.com/login', method: 'POST', data: { code: res.code, encryptedData: p.encryptedData, iv: p.iv } })\n    })\n  }";
    let mut found = vec![];
    for (first, second) in [(keep, send), (send, keep)] {
        let dir = tree(&[
            (
                "pages/index/index.wxml",
                "<button open-type=\"getUserInfo\" bindgetuserinfo=\"onUserInfo\">Allow</button>\n<button bindtap=\"onLogin\">Log in</button>\n",
            ),
            ("pages/index/index.js", &format!("Page({{\n  data: {{ profile: null }},\n{first},\n{second}\n}})\n")),
        ]);
        let (code, report) = lint(&[dir.path().to_str().unwrap()]);
        let rules: Vec<&str> =
            report["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
        found.push((code, rules.iter().map(ToString::to_string).collect::<Vec<_>>()));
    }
    assert_eq!(found[0], (1, vec!["stale-open-data".to_string()]), "{found:?}");
    assert_eq!(found[0], found[1], "the same findings whatever the order");
}

/// Writes a one-page native app whose button calls `onGot`, with `body`
/// as the handler's statements.
fn one_page(body: &str) -> tempfile::TempDir {
    tree(&[
        ("pages/index/index.wxml", "<button open-type=\"getUserInfo\" bindgetuserinfo=\"onGot\">Go</button>\n"),
        ("pages/index/index.js", &format!("Page({{\n  onGot(e) {{\n{body}\n  }}\n}})\n")),
    ])
}

/// The later login's key can travel as what the backend answered for its
/// code (a token, kept or not), not only as the code itself.
#[test]
fn data_sent_with_the_token_a_later_login_returned_is_stale_open_data() {
    let carriers = [
        // In a header, straight from the answer.
        "    const { encryptedData, iv } = e.detail\n    wx.login({ success: (r) => wx.request({ url: 'https://x.cn/login', method: 'POST', data: { code: r.code },\n      success: (res) => wx.request({ url: 'https://x.cn/user/decrypt', method: 'POST', header: { Authorization: res.data.token }, data: { encryptedData, iv } }) }) })",
        // Kept in storage, then read back.
        "    const d = e.detail\n    wx.login({ success: (r) => wx.request({ url: 'https://x.cn/login', method: 'POST', data: { code: r.code },\n      success: (res) => { wx.setStorageSync('session', res.data.data.openid); wx.request({ url: 'https://x.cn/user/decrypt', method: 'POST', data: { openid: wx.getStorageSync('session'), encryptedData: d.encryptedData, iv: d.iv } }) } }) })",
    ];
    for body in carriers {
        let dir = one_page(body);
        let (code, report) = lint(&[dir.path().to_str().unwrap()]);
        assert_eq!(code, 1, "{body}\n{report:#}");
        assert_eq!(report["findings"][0]["rule"], "stale-open-data", "{report:#}");
        assert_eq!(report["findings"][0]["line"], 3, "the data, where it is obtained: {report:#}");
    }
    // The data obtained after the login answered: fresh, whatever carries the key.
    let fresh = one_page(
        "    wx.login({ success: (r) => wx.request({ url: 'https://x.cn/login', method: 'POST', data: { code: r.code },\n      success: (res) => wx.getUserInfo({ success: (u) => wx.request({ url: 'https://x.cn/user/decrypt', method: 'POST', header: { Authorization: res.data.token }, data: { encryptedData: u.encryptedData, iv: u.iv } }) }) }) })",
    );
    let (code, report) = lint(&[fresh.path().to_str().unwrap()]);
    assert_eq!((code, report["findings"].as_array().unwrap().len()), (0, 0), "{report:#}");
}

/// A GET whose fields ride in its URL gets a flow that sends them there.
#[test]
fn an_emitted_flow_for_a_get_carries_the_fields_built_into_its_url() {
    let dir = one_page(
        "    const { encryptedData, iv } = e.detail\n    wx.login({ success: (r) => wx.request({ url: 'https://x.cn/auth/login?code=' + r.code + '&encryptedData=' + encodeURIComponent(encryptedData) + '&iv=' + encodeURIComponent(iv), method: 'GET' }) })",
    );
    let flows = dir.path().join("flows");
    let (code, _, err) = wxflow_blocking(&[
        "lint".into(),
        dir.path().display().to_string(),
        "--emit-flows".into(),
        flows.display().to_string(),
    ]);
    assert_eq!(code, 1, "{err}");
    let text = std::fs::read_to_string(flows.join("stale-open-data-pages-index-index-js-3.yaml")).unwrap();
    assert!(
        text.contains("url: '{{ target }}/auth/login?code={{ login.code | urlencode }}&encryptedData={{ profile.encryptedData | urlencode }}&iv={{ profile.iv | urlencode }}'"),
        "{text}"
    );
    assert!(text.contains("method: GET"), "{text}");
}

/// Only open-data events hand over sealed data: a text field's `change`
/// kept and sent with a code is no finding; the button that hands it over
/// is found in a Vue template after `<script setup>` (Vue 3's order).
#[test]
fn sources_are_open_data_events_only_and_templates_are_read_wherever_they_stand() {
    let dir = tree(&[
        ("pages/index/index.wxml", "<input bindchange=\"onChange\"/>\n<button bindtap=\"go\">Go</button>\n"),
        (
            "pages/index/index.js",
            "Page({\n  onChange(e) {\n    this.setData({ form: e.detail })\n  },\n  go() {\n    wx.login({ success: (r) => wx.request({ url: 'https://x.cn/save', method: 'POST', data: { code: r.code, encryptedData: this.data.form.encryptedData, iv: this.data.form.iv } }) })\n  }\n})\n",
        ),
    ]);
    let (code, report) = lint(&[dir.path().to_str().unwrap()]);
    assert_eq!((code, report["findings"].as_array().unwrap().len()), (0, 0), "{report:#}");

    // A custom component's event may carry the button's data it got.
    let comp = tree(&[
        ("app.js", "App({})\n"),
        ("components/auth/auth.json", "{\"component\":true}\n"),
        ("components/auth/auth.wxml", "<button open-type=\"getUserInfo\" bindgetuserinfo=\"onGot\">Go</button>\n"),
        (
            "components/auth/auth.js",
            "Component({\n  methods: {\n    onGot(e) { this.triggerEvent('login', e.detail) }\n  }\n})\n",
        ),
        ("pages/index/index.json", "{\"usingComponents\":{\"auth\":\"/components/auth/auth\"}}\n"),
        ("pages/index/index.wxml", "<auth bindlogin=\"onLogin\"/>\n"),
        (
            "pages/index/index.js",
            "Page({\n  onLogin(e) {\n    const { encryptedData, iv } = e.detail\n    wx.login({ success: (r) => wx.request({ url: 'https://x.cn/login', method: 'POST', data: { code: r.code, encryptedData, iv } }) })\n  }\n})\n",
        ),
    ]);
    let (code, report) = lint(&[comp.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["findings"][0]["file"], "pages/index/index.js", "{report:#}");

    let vue = tree(&[(
        "pages/login.vue",
        "<script setup>\nconst onGot = (e) => {\n  const d = e.detail\n  uni.login({ success: (res) => uni.request({ url: 'https://x.cn/login', method: 'POST', data: { code: res.code, encryptedData: d.encryptedData, iv: d.iv } }) })\n}\n</script>\n\n<template>\n  <button open-type=\"getUserInfo\" @getuserinfo=\"onGot\">Log in</button>\n</template>\n",
    )]);
    let (code, report) = lint(&[vue.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{report:#}");
    let related = report["findings"][0]["related"].as_array().unwrap();
    assert!(
        related.iter().any(|r| r["line"] == 9 && r["message"].as_str().unwrap().contains("the button")),
        "the template's button, after the script: {report:#}"
    );
}

/// A folder of several apps gives what each app's own run gives: each app
/// runs on its own, its `/`-absolute requires resolved from its own root.
#[test]
fn a_folder_of_several_apps_finds_what_each_app_finds_alone() {
    let dir = tempdir();
    for app in ["shop", "admin"] {
        let root = dir.path().join(app);
        for entry in ["app.js", "pages/index/index.js", "pages/index/index.wxml", "utils/auth.js", "utils/api.js"] {
            let to = root.join(entry);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            let text = std::fs::read_to_string(format!("tests/lint/seed-native/{entry}")).unwrap();
            // Requires written from the app's root, as Mini Programs may.
            std::fs::write(to, text.replace("'../../utils/", "'/utils/")).unwrap();
        }
        std::fs::write(root.join("app.json"), r#"{"pages":["pages/index/index"]}"#).unwrap();
    }
    let alone: usize = ["shop", "admin"]
        .iter()
        .map(|app| {
            let (_, r) = lint(&[dir.path().join(app).to_str().unwrap()]);
            r["findings"].as_array().unwrap().len()
        })
        .sum();
    let (code, together) = lint(&[dir.path().to_str().unwrap()]);
    assert_eq!(alone, 2, "each app alone finds the seed");
    assert_eq!(together["findings"].as_array().unwrap().len(), alone, "{together:#}");
    assert_eq!(code, 1);
}

/// React's plumbing: `useCallback`, `React.useCallback`, `useMemo` and a
/// custom hook that forwards `...args` hand the handler through; two
/// handlers of one component are two taps, not a race.
#[test]
fn handlers_through_react_hooks_are_followed() {
    let send = |url: &str| {
        format!(
            "async (e) => {{\n    const {{ encryptedData, iv }} = e.detail\n    const {{ code }} = await Taro.login()\n    await Taro.request({{ url: '{url}', method: 'POST', data: {{ code, encryptedData, iv }} }})\n  }}"
        )
    };
    let jsx = format!(
        "import Taro from '@tarojs/taro'\nimport React, {{ useCallback, useMemo }} from 'react'\n\nfunction useForward(cb) {{\n  return (...args) => cb(...args)\n}}\n\nexport default function Index() {{\n  const a = useCallback({}, [])\n  const b = React.useCallback({}, [])\n  const c = useMemo(() => {}, [])\n  const d = useForward({})\n  return (\n    <>\n      <Button openType=\"getUserInfo\" onGetUserInfo={{a}}>a</Button>\n      <Button openType=\"getUserInfo\" onGetUserInfo={{b}}>b</Button>\n      <Button openType=\"getUserInfo\" onGetUserInfo={{c}}>c</Button>\n      <Button openType=\"getPhoneNumber\" onGetPhoneNumber={{d}}>d</Button>\n    </>\n  )\n}}\n",
        send("https://x.cn/a"),
        send("https://x.cn/b"),
        send("https://x.cn/c"),
        send("https://x.cn/d"),
    );
    let dir = tree(&[("src/app.config.js", "export default {}\n"), ("src/pages/index/index.jsx", &jsx)]);
    let (code, report) = lint(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{report:#}");
    let found: Vec<(String, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap()))
        .collect();
    let lines: Vec<u64> = found.iter().map(|(_, l)| *l).collect();
    assert!(found.iter().all(|(r, _)| r == "stale-open-data"), "no race between two taps: {found:?}");
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
}

/// wepy 2 (`wepy.page({ methods })`, `e.$wx.detail`) and wepy 1 (`class
/// extends wepy.page`, `methods = {…}`, `wepy.login()`) read like Vue.
#[test]
fn wepy_pages_of_both_generations_are_linted() {
    let pages = [
        "<template>\n  <button open-type=\"getUserInfo\" @getuserinfo=\"onGot\">Go</button>\n</template>\n<script>\nimport wepy from '@wepy/core'\nwepy.page({\n  methods: {\n    onGot(e) {\n      const { encryptedData, iv } = e.$wx.detail\n      wx.login({ success: (r) => wx.request({ url: 'https://x.cn/login', method: 'POST', data: { code: r.code, encryptedData, iv } }) })\n    }\n  }\n})\n</script>\n",
        "<template>\n  <button open-type=\"getUserInfo\" bindgetuserinfo=\"onGot\">Go</button>\n</template>\n<script>\nimport wepy from 'wepy'\nexport default class Index extends wepy.page {\n  config = { navigationBarTitleText: 'x' }\n  methods = {\n    onGot(e) {\n      const { encryptedData, iv } = e.detail\n      wepy.login().then((r) => wepy.request({ url: 'https://x.cn/login', method: 'POST', data: { code: r.code, encryptedData, iv } }))\n    }\n  }\n}\n</script>\n",
    ];
    for page in pages {
        let dir = tree(&[("src/app.wpy", "<script>\n</script>\n"), ("src/pages/index.wpy", page)]);
        let (code, report) = lint(&[dir.path().to_str().unwrap()]);
        assert_eq!(code, 1, "{page}\n{report:#}");
        assert_eq!(report["findings"][0]["rule"], "stale-open-data");
        let line = page.lines().position(|l| l.contains("const { encryptedData, iv }")).unwrap() + 1;
        assert_eq!(report["findings"][0]["line"], line, "{report:#}");
    }
}

/// The rule table of docs/lint.md is the rules' own declarations; each
/// explains itself; an ignore naming no rule is reported, one naming a
/// rule silences it.
#[test]
fn each_rule_is_declared_once_and_the_docs_and_explain_say_the_same() {
    let docs = std::fs::read_to_string("docs/lint.md").unwrap();
    let rows: Vec<Vec<String>> = docs
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect())
        .collect();
    let declared: Vec<Vec<String>> = wxflow::lint::rules::RULES
        .iter()
        .map(|r| vec![format!("`{}`", r.id), r.severity.as_str().to_string(), r.summary.to_string(), r.fix.to_string()])
        .collect();
    assert_eq!(rows, declared, "docs/lint.md's rule table and src/lint/rules/");
    for r in wxflow::lint::rules::RULES {
        let (code, out, _) = wxflow_blocking(&["lint".into(), "--explain".into(), r.id.into()]);
        assert_eq!(code, 0);
        assert!(out.starts_with(&format!("{} ({})", r.id, r.severity.as_str())) && out.contains(r.fix), "{out}");
    }
    let (code, _, err) = wxflow_blocking(&["lint".into(), "--explain".into(), "stale-openn-data".into()]);
    assert_eq!(code, 2);
    assert!(err.contains("no rule `stale-openn-data`") && err.contains("stale-open-data"), "{err}");

    let dir = seed_copy();
    let index = dir.path().join("pages/index/index.js");
    let text = std::fs::read_to_string(&index).unwrap();
    let at = "    const { encryptedData, iv } = e.detail";
    // A mistyped rule is reported; a reason written without its colon is not a rule.
    let commented = text
        .replace(at, &format!("    // wxflow-lint-ignore stale-openn-data: reviewed\n{at}"))
        .replace("Page({", "// wxflow-lint-ignore cached-login-code reviewed by bob\nPage({");
    std::fs::write(&index, commented).unwrap();
    let (code, report) = lint(&[dir.path().to_str().unwrap()]);
    let rules: Vec<&str> = report["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["unknown-ignore", "stale-open-data"], "{report:#}");
    assert_eq!(code, 1);
    std::fs::write(&index, text.replace(at, &format!("    // wxflow-lint-ignore stale-open-data: reviewed\n{at}")))
        .unwrap();
    let (code, report) = lint(&[dir.path().to_str().unwrap()]);
    assert_eq!((code, report["summary"]["ignored"].as_u64()), (0, Some(1)), "{report:#}");
}

/// Mini Program files lint does not read are counted and named, never
/// dropped without a word.
#[test]
fn files_of_types_lint_does_not_read_are_named_in_the_summary() {
    let dir = seed_copy();
    for f in ["utils/format.wxs", "pages/index/filters.wxs", "pages/alipay.axml"] {
        std::fs::write(dir.path().join(f), "module.exports = {}\n").unwrap();
    }
    let (code, out, _) = common::wxflow_in(dir.path(), &["lint"]);
    assert_eq!(code, 1);
    assert!(out.trim_end().ends_with("not read: 1 .axml, 2 .wxs (a type lint does not read)"), "{out}");
    let (_, report) = lint(&[dir.path().to_str().unwrap()]);
    assert_eq!(report["summary"]["not_read"], serde_json::json!({"axml": 1, "wxs": 2}));
    let only = tempdir();
    std::fs::write(only.path().join("index.axml"), "<view/>").unwrap();
    let (code, _, err) = common::wxflow_in(only.path(), &["lint"]);
    assert_eq!(code, 2);
    assert!(err.contains("found 1 .axml, a type lint does not read"), "{err}");
}

/// Every fixture's findings, in process, as a snapshot (tests/snapshots/):
/// rule, place and message of each, and its related places.
#[test]
fn every_fixture_s_findings_match_its_snapshot() {
    let mut cases: Vec<_> = std::fs::read_dir("tests/lint").unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    for case in cases.into_iter().filter(|p| p.is_dir()) {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let path = case.clone();
        let text = std::thread::Builder::new()
            .stack_size(wxflow::lint::STACK_BYTES)
            .spawn(move || {
                use std::fmt::Write as _;
                let report = wxflow::lint::lint(&[path]).unwrap();
                let mut text = String::new();
                for f in &report.findings {
                    let _ = writeln!(text, "{} {}:{}:{} {}", f.rule, f.file, f.line, f.column, f.message);
                    for r in &f.related {
                        let _ = writeln!(text, "  {}:{}:{} {}", r.file, r.line, r.column, r.message);
                    }
                }
                text + &wxflow::lint::output::summary(&report)
            })
            .unwrap()
            .join()
            .unwrap();
        insta::assert_snapshot!(format!("lint_{name}"), text);
    }
}

/// A request wrapper whose callback once ran a heavy parser (a page's
/// `app.wxRequest(…, (res) => WxParse(…))`) is still followed for every
/// later request: only the parser is given up on.
#[test]
fn a_wrapper_that_once_called_a_heavy_parser_is_still_followed() {
    let parser = format!(
        "module.exports = function parse(s) {{\n  let x = 0\n{}  return x\n}}\n",
        "  x = x + s.length\n".repeat(40_000)
    );
    let dir = tree(&[
        ("app.json", r#"{"pages":["pages/a/a","pages/login/login"]}"#),
        (
            "app.js",
            "App({\n  wxRequest(method, url, data, callback) {\n    wx.request({ url, method, data, success: (res) => callback(res) })\n  }\n})\n",
        ),
        ("utils/parse.js", &parser),
        (
            "pages/a/a.js",
            "const parse = require('../../utils/parse.js')\nconst app = getApp()\nPage({\n  onLoad() {\n    app.wxRequest('GET', 'https://x.cn/article', {}, (res) => this.setData({ html: parse(res.data) }))\n  }\n})\n",
        ),
        ("pages/login/login.wxml", "<button open-type=\"getPhoneNumber\" bindgetphonenumber=\"onPhone\">Go</button>\n"),
        (
            "pages/login/login.js",
            "const app = getApp()\nPage({\n  onPhone(e) {\n    wx.login({ success: (res) => {\n      const wxInfo = { encryptedData: e.detail.encryptedData, iv: e.detail.iv }\n      app.wxRequest('POST', 'https://x.cn/user/login', { code: res.code, wxInfo }, () => {})\n    } })\n  }\n})\n",
        ),
    ]);
    let (code, report) = lint(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["findings"][0]["rule"], "stale-open-data", "{report:#}");
    assert_eq!(report["findings"][0]["file"], "pages/login/login.js");
}

/// The button's data handed through an event bus (listeners kept in an
/// array), a MobX action, or a Redux thunk, to the code that logs in.
#[test]
fn data_handed_through_an_event_bus_a_mobx_action_or_a_redux_thunk_is_followed() {
    let login = "wx.login({ success: (r) => wx.request({ url: 'https://x.cn/login', method: 'POST', data: { code: r.code, encryptedData: detail.encryptedData, iv: detail.iv } }) })";
    let button = "<button open-type=\"getUserInfo\" bindgetuserinfo=\"onGot\">Go</button>\n";
    let bus = tree(&[
        ("app.js", "App({})\n"),
        (
            "utils/bus.js",
            "const handlers = {}\nexport default {\n  on(name, fn) { (handlers[name] = handlers[name] || []).push(fn) },\n  emit(name, ...args) { (handlers[name] || []).forEach((fn) => fn(...args)) }\n}\n",
        ),
        ("utils/auth.js", &format!("import bus from './bus'\nbus.on('userinfo', (detail) => {{\n  {login}\n}})\n")),
        ("pages/index/index.wxml", button),
        (
            "pages/index/index.js",
            "import bus from '../../utils/bus'\nimport '../../utils/auth'\nPage({\n  onGot(e) { bus.emit('userinfo', e.detail) }\n})\n",
        ),
    ]);
    let mobx = tree(&[
        ("app.js", "App({})\n"),
        (
            "store.js",
            &format!(
                "import {{ observable, action }} from 'mobx-miniprogram'\nexport const store = observable({{\n  token: '',\n  login: action('login', function (detail) {{\n    {login}\n  }})\n}})\n"
            ),
        ),
        ("pages/index/index.wxml", button),
        (
            "pages/index/index.js",
            "import { store } from '../../store'\nPage({\n  onGot(e) { store.login(e.detail) }\n})\n",
        ),
    ]);
    let redux = tree(&[
        ("src/app.config.js", "export default {}\n"),
        (
            "src/store/user.js",
            "import Taro from '@tarojs/taro'\nexport const loginWith = (detail) => async (dispatch) => {\n  const { code } = await Taro.login()\n  await Taro.request({ url: 'https://x.cn/login', method: 'POST', data: { code, encryptedData: detail.encryptedData, iv: detail.iv } })\n}\n",
        ),
        (
            "src/pages/index/index.jsx",
            "import { useDispatch } from 'react-redux'\nimport { loginWith } from '../../store/user'\nexport default function Index() {\n  const dispatch = useDispatch()\n  return <Button openType=\"getUserInfo\" onGetUserInfo={(e) => dispatch(loginWith(e.detail))}>Go</Button>\n}\n",
        ),
    ]);
    for (what, dir) in [("bus", &bus), ("mobx", &mobx), ("redux", &redux)] {
        let (code, report) = lint(&[dir.path().to_str().unwrap()]);
        assert_eq!(code, 1, "{what}: {report:#}");
        assert_eq!(report["findings"][0]["rule"], "stale-open-data", "{what}: {report:#}");
    }
}

/// Each rule flags the fixtures its declaration lists, and no other it lists.
#[test]
fn each_rule_flags_the_fixtures_it_declares_and_passes_the_others() {
    for r in wxflow::lint::rules::RULES {
        for (fixture, want) in r.flags.iter().map(|f| (f, true)).chain(r.passes.iter().map(|f| (f, false))) {
            let (_, report) = lint(&[&format!("tests/lint/{fixture}")]);
            let found = report["findings"].as_array().unwrap().iter().any(|f| f["rule"] == r.id);
            assert_eq!(found, want, "{} on tests/lint/{fixture}: {report:#}", r.id);
        }
    }
}
