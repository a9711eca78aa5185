//! Variables from outside a flow: `--var`, `--secret`, `--vars-file` and
//! `WXFLOW_VAR_*` / `WXFLOW_SECRET_*`, their precedence, and secrets that
//! never leave the process in clear.

mod common;

use common::{assert_valid_report, tempdir};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A flow that sends `env_name` in a header, `api_key` in the query and
/// `payload | json` as the body of a second request, with its own default
/// for `env_name`.
const FLOW: &str = r#"name: variables
vars:
  env_name: flow
steps:
  - id: login
    wx.login: {}
  - id: profile
    wx.getUserInfo: {}
  - id: server
    continue_on_error: true
    http:
      url: "{{ target }}/api/login?k={{ api_key }}"
      headers:
        x-env: "{{ env_name }}"
      json:
        code: "{{ login.code }}"
        encryptedData: "{{ profile.encryptedData }}"
        iv: "{{ profile.iv }}"
        rawData: "{{ profile.rawData }}"
        signature: "{{ profile.signature }}"
    assert:
      status: 201
  - id: echo
    http:
      url: "{{ target }}/nowhere"
      raw: "{{ payload | json }}"
"#;

const SECRET: &str = "S3cret-api-key-4242";

/// `wxflow ARGS` in `dir`, with `env` added and no WXFLOW_* of the caller's.
fn wxflow(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wxflow"));
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("WXFLOW_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// A folder with the flow and a vars file.
fn setup() -> tempfile::TempDir {
    let dir = tempdir();
    std::fs::write(dir.path().join("vars.yaml"), FLOW).unwrap();
    std::fs::write(dir.path().join("values.yaml"), "env_name: file\npayload:\n  a: [1, 2]\n  b: {c: true}\n").unwrap();
    dir
}

/// The `server` and `echo` steps of the report's first failed iteration.
fn steps(report: &Value) -> (Value, Value) {
    let first = report["flows"][0]["first_failures"].as_object().unwrap().values().next().unwrap();
    let step = |id: &str| first["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap().clone();
    (step("server"), step("echo"))
}

#[test]
fn flags_beat_the_environment_which_beats_files_which_beat_the_flow() {
    let dir = setup();
    let d = dir.path();
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["run", "vars.yaml", "--var", "api_key=k", "--report", "json=r.json"];
        args.extend_from_slice(extra);
        let (code, out, err) = wxflow(d, &args, env);
        assert_eq!(code, 1, "the flow asks for 201: {out}{err}");
        let report: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
        assert_valid_report(&report);
        let (server, echo) = steps(&report);
        (server["exchange"]["request_headers"]["x-env"].as_str().unwrap().to_string(), echo, report)
    };
    let env = [("WXFLOW_VAR_env_name", "env")];
    let file = ["--vars-file", "values.yaml"];
    assert_eq!(run(&["--var", "env_name=flag", "--vars-file", "values.yaml"], &env).0, "flag");
    assert_eq!(run(&file, &env).0, "env");
    let (shown, echo, report) = run(&file, &[]);
    assert_eq!(shown, "file");
    // A vars file keeps types: a nested map, rendered with `| json`.
    let body: Value = serde_json::from_str(echo["exchange"]["request_body"].as_str().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({ "a": [1, 2], "b": { "c": true } }));
    let vars = report["variables"].as_array().unwrap();
    let env_name = vars.iter().find(|v| v["name"] == "env_name").unwrap();
    assert_eq!(env_name["source"]["file"], "values.yaml");
    assert_eq!(vars.iter().find(|v| v["name"] == "api_key").unwrap()["source"], "flag");
    std::fs::write(d.join("later.yaml"), "# staging\nenv_name: later\n").unwrap();
    assert_eq!(run(&["--vars-file", "values.yaml", "--vars-file", "later.yaml"], &[]).0, "later");
    assert_eq!(run(&["--vars-file", "values.yaml", "--vars-file", "/dev/null"], &[]).0, "file", "an empty file");
    // Without any: the flow's own default (and `payload` is then undefined).
    let (code, _, err) = wxflow(d, &["run", "vars.yaml", "--var", "api_key=k"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("undefined name `payload`") && err.contains("--var payload=…"), "{err}");
    assert!(err.contains("WXFLOW_VAR_payload"), "{err}");
}

#[test]
fn a_secret_given_any_way_never_appears_in_console_reports_or_a_merged_report() {
    let dir = setup();
    let d = dir.path();
    let reports = ["--report", "json=r.json", "--report", "junit=r.xml", "--report", "html=r.html"];
    for (how, env) in
        [(vec!["--secret", "api_key=S3cret-api-key-4242"], vec![]), (vec![], vec![("WXFLOW_SECRET_api_key", SECRET)])]
    {
        let mut args = vec!["run", "vars.yaml", "--vars-file", "values.yaml"];
        args.extend(how.iter().copied());
        args.extend(reports);
        let (code, out, err) = wxflow(d, &args, &env);
        assert_eq!(code, 1, "{out}{err}");
        let report: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
        let (server, _) = steps(&report);
        assert!(server["exchange"]["url"].as_str().unwrap().contains("k=S3cr…(masked)"), "{server:#}");
        let api_key = report["variables"].as_array().unwrap().iter().find(|v| v["name"] == "api_key").unwrap();
        assert_eq!((api_key["secret"].as_bool(), api_key["value"].as_str()), (Some(true), Some("S3cr…(masked)")));
        for (what, text) in [
            ("console", out),
            ("stderr", err),
            ("JSON", std::fs::read_to_string(d.join("r.json")).unwrap()),
            ("JUnit", std::fs::read_to_string(d.join("r.xml")).unwrap()),
            ("HTML", std::fs::read_to_string(d.join("r.html")).unwrap()),
        ] {
            assert!(!text.contains(SECRET), "the secret in the {what}:\n{text}");
        }
    }
    // A load run's reproducer carries the variables, a secret by name only.
    let args =
        ["run", "vars.yaml", "--vars-file", "values.yaml", "--secret", "api_key=S3cret-api-key-4242", "--repeat", "2"];
    let (_, out, _) = wxflow(d, &args, &[]);
    let reproduce = out.lines().find(|l| l.contains("reproduce: wxflow run")).unwrap_or_else(|| panic!("{out}"));
    assert!(reproduce.ends_with("--vars-file values.yaml --secret api_key=…"), "{reproduce}");
    assert!(!out.contains(SECRET), "{out}");
    // Shards and their merge.
    for i in 0..2 {
        let (shard, out) = (format!("{i}/2"), format!("json=s{i}.json"));
        let args =
            ["run", "vars.yaml", "--vars-file", "values.yaml", "--repeat", "4", "--shard", &shard, "--report", &out];
        let (code, _, err) = wxflow(d, &args, &[("WXFLOW_SECRET_api_key", SECRET)]);
        assert_eq!(code, 1, "{err}");
    }
    let (_, out, err) = wxflow(d, &["merge", "s0.json", "s1.json", "--report", "json=m.json"], &[]);
    let merged = std::fs::read_to_string(d.join("m.json")).unwrap();
    assert!(merged.contains("\"api_key\"") && merged.contains("S3cr…(masked)"), "{merged}");
    for text in [out, err, merged] {
        assert!(!text.contains(SECRET), "{text}");
    }
}

#[test]
fn the_dashboard_shows_the_variables_a_flow_uses_with_secrets_masked() {
    use ratatui::{Terminal, backend::TestBackend};
    use wxflow::flow::vars::Outside;
    let dir = setup();
    let flows = [dir.path().join("vars.yaml")];
    let outside = Outside::gather(
        &[("env_name".into(), "staging".into())],
        &[("api_key".into(), SECRET.into())],
        &[dir.path().join("values.yaml")],
        [],
    )
    .unwrap();
    let entries = wxflow::tui::flow_entries(&flows, &outside.names()).unwrap();
    assert!(entries[0].error.is_none(), "{:?}", entries[0].error);
    let mut app = wxflow::tui::app::App::new(entries, 0, "http://127.0.0.1:9000", "http://127.0.0.1:9100");
    app.variables = outside.shown();
    app.lower = wxflow::tui::app::Lower::Detail;
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    t.draw(|f| wxflow::tui::view::draw(f, &app)).unwrap();
    let screen = t.backend().to_string();
    assert!(screen.contains("var api_key = S3cr…(masked) (--var/--secret)"), "{screen}");
    assert!(screen.contains("var env_name = staging (--var/--secret)"), "{screen}");
    assert!(!screen.contains(SECRET), "{screen}");
}

#[test]
fn malformed_variables_are_refused_naming_the_flag_or_the_file_and_place() {
    let dir = setup();
    let d = dir.path();
    for (args, said) in [
        (vec!["--var", "novalue"], "expected NAME=VALUE"),
        (vec!["--secret", "bad name=hunter2-hunter2"], "not a variable name"),
        (vec!["--var", "=x"], "not a variable name"),
    ] {
        let mut all = vec!["validate", "vars.yaml"];
        all.extend(args.iter().copied());
        let (code, out, err) = wxflow(d, &all, &[]);
        assert_eq!(code, 2, "{out}{err}");
        assert!(err.contains(said) && err.contains(args[0]), "{err}");
        assert!(!err.contains("hunter2-hunter2"), "a bad secret's value is not echoed: {err}");
    }
    std::fs::write(d.join("broken.yaml"), "a: 1\nb: [unclosed\n").unwrap();
    std::fs::write(d.join("list.yaml"), "- a\n- b\n").unwrap();
    let (code, _, err) = wxflow(d, &["validate", "vars.yaml", "--vars-file", "broken.yaml"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--vars-file broken.yaml:3:"), "{err}");
    let (code, _, err) = wxflow(d, &["validate", "vars.yaml", "--vars-file", "list.yaml"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--vars-file list.yaml: expected a map"), "{err}");
    let (code, _, err) = wxflow(
        d,
        &["validate", "vars.yaml", "--var", "target=x", "--vars-file", "values.yaml"],
        &[("WXFLOW_VAR_api_key", "k")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`target` is a builtin"), "{err}");
    // A name no flow uses: a warning, not an error.
    let args = ["validate", "vars.yaml", "--vars-file", "values.yaml", "--var", "api_key=k", "--var", "unused=1"];
    let (code, out, err) = wxflow(d, &args, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("warning: variable `unused` (--var/--secret) is used by no flow"), "{err}");
}
