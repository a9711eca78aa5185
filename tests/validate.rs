//! Flow errors: each shows file:line:col, the source line, a caret and a
//! hint, exits 2, and nothing runs.

mod common;

use common::{tempdir, wxflow_blocking};

const GOOD: &str = r#"name: ok
steps:
  - id: login
    wx.login: {}
  - id: profile
    wx.getUserInfo: {}
  - id: server
    http:
      url: "{{ target }}/api/login"
      json:
        code: "{{ login.code }}"
        iv: "{{ profile.iv }}"
    assert:
      status: 200
"#;

/// Validates `source` (a flow file) and returns (exit code, stderr).
fn validate(source: &str) -> (i32, String, String) {
    let dir = tempdir();
    let path = dir.path().join("flow.yaml");
    std::fs::write(&path, source).unwrap();
    let (code, _, err) = wxflow_blocking(&["validate".into(), path.display().to_string()]);
    (code, err, path.display().to_string())
}

/// Asserts one error: message, `file:line:col`, the source line, a caret of
/// `width` under column `col`, and the hint.
fn assert_error(source: &str, message: &str, line: usize, col: usize, width: usize, hint: &str) {
    let (code, err, path) = validate(source);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("error: {message}")), "message {message:?} not in:\n{err}");
    assert!(err.contains(&format!("--> {path}:{line}:{col}")), "location {line}:{col} not in:\n{err}");
    let src_line = source.lines().nth(line - 1).unwrap();
    assert!(err.contains(&format!("{line} | {src_line}")), "source line not in:\n{err}");
    let caret = format!("| {}{}", " ".repeat(col - 1), "^".repeat(width));
    assert!(err.lines().any(|l| l.trim_end().ends_with(&caret)), "caret {caret:?} not in:\n{err}");
    assert!(err.contains(&format!("= hint: {hint}")), "hint {hint:?} not in:\n{err}");
}

#[test]
fn the_good_flow_is_valid() {
    let (code, err, _) = validate(GOOD);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn unknown_step_kind_suggests_the_right_one() {
    assert_error(
        &GOOD.replace("wx.login: {}", "wx.logn: {}"),
        "steps[0]: unknown key `wx.logn`",
        4,
        5,
        7,
        "did you mean `wx.login`?",
    );
}

#[test]
fn unknown_field_suggests_the_right_one() {
    assert_error(
        &GOOD.replace("    assert:", "    asert:"),
        "steps[2]: unknown key `asert`",
        13,
        5,
        5,
        "did you mean `assert`?",
    );
}

#[test]
fn wrong_type_is_located() {
    let (code, err, path) = validate(&GOOD.replace("status: 200", "status: ok"));
    assert_eq!(code, 2);
    assert!(
        err.contains("expected an HTTP status (200), a class (4xx) or a list") && err.contains(&format!("{path}:14:7")),
        "{err}"
    );
}

#[test]
fn yaml_syntax_error_is_located_with_a_hint() {
    let (code, err, path) = validate(&GOOD.replace("    wx.login: {}", "   wx.login: {}"));
    assert_eq!(code, 2);
    assert!(err.contains(&format!("{path}:4:")), "{err}");
    assert!(err.contains("hint: check the indentation"), "{err}");
}

#[test]
fn undefined_step_field_suggests_the_field() {
    assert_error(
        &GOOD.replace("login.code", "login.cod"),
        "`login` (wx.login) has no field `cod`",
        11,
        19,
        9,
        "did you mean `code`?",
    );
}

#[test]
fn undefined_name_suggests_a_step() {
    assert_error(
        &GOOD.replace("profile.iv", "profil.iv"),
        "undefined name `profil` in step `server`",
        12,
        17,
        9,
        "did you mean `profile`?",
    );
}

#[test]
fn undefined_variable_says_how_to_define_it() {
    assert_error(
        &GOOD.replace("{{ target }}", "{{ backend_url }}"),
        "undefined name `backend_url` in step `server`",
        9,
        16,
        11,
        "define it under `vars:`, capture it, name an earlier step, or give it from outside: `--var backend_url=…`, `--secret backend_url=…` or `WXFLOW_VAR_backend_url`",
    );
}

#[test]
fn a_later_step_cannot_be_used_yet() {
    let src = GOOD
        .replace("  - id: profile\n    wx.getUserInfo: {}\n", "")
        .replace("steps:\n", "steps:\n  - id: first\n    wx.getUserInfo: {}\n")
        .replace("profile.iv", "first.iv");
    let src = src.replace("  - id: first\n    wx.getUserInfo: {}\n", "") + "  - id: first\n    wx.getUserInfo: {}\n";
    assert_error(&src, "`first` is a later step", 10, 17, 8, "move step `first` before step `server`");
}

#[test]
fn unknown_filter_suggests_urlencode() {
    assert_error(
        &GOOD.replace("login.code }}", "login.code | urlencod }}"),
        "unknown filter `urlencod` in step `server`",
        11,
        32,
        8,
        "did you mean `urlencode`?",
    );
}

#[test]
fn a_step_without_a_kind_lists_the_kinds() {
    let (code, err, path) = validate(&GOOD.replace("    wx.login: {}\n", ""));
    assert_eq!(code, 2);
    assert!(err.contains("step `login` has no kind") && err.contains(&format!("{path}:3:5")), "{err}");
    assert!(err.contains("hint: add one of: wx.login"), "{err}");
}

#[test]
fn duplicate_ids_and_several_errors_are_all_reported() {
    let src = GOOD
        .replace("id: profile", "id: login")
        .replace("status: 200", "status: 200\n      jsonpath:\n        \"$.code[\": 0");
    let (code, err, _) = validate(&src);
    assert_eq!(code, 2);
    assert!(err.contains("duplicate step id `login`"), "{err}");
    assert!(err.contains("invalid JSONPath `$.code[`"), "{err}");
    assert!(err.contains("3 errors in flow files"), "{err}");
    assert!(
        err.contains("16 |         \"$.code[\": 0\n   |          ^^^^^^^"),
        "the caret spans the whole key:\n{err}"
    );
}

#[test]
fn bad_duration_and_bad_regex_are_located() {
    let (_, err, path) = validate(&GOOD.replace("status: 200", "status: 200\n      max_duration: 5 seconds"));
    assert!(err.contains("invalid duration `5 seconds`") && err.contains(&format!("{path}:15:21")), "{err}");
    let (_, err, _) = validate(&GOOD.replace("status: 200", "status: 200\n      body: { matches: \"(\" }"));
    assert!(err.contains("invalid regex"), "{err}");
}

#[test]
fn an_invalid_header_name_is_refused_where_it_is_written() {
    let src = GOOD.replace("      json:", "      headers:\n        \"x trace\": \"1\"\n      json:");
    assert_error(
        &src,
        "invalid HTTP header name `x trace`",
        11,
        10,
        7,
        "a header name is letters, digits and `-` (no spaces or `:`), e.g. `x-request-id`",
    );
}

#[test]
fn thresholds_name_real_steps() {
    let src = GOOD.replace("steps:", "thresholds:\n  max_latency:\n    servr: { p99: 500ms }\nsteps:");
    assert_error(&src, "no step `servr` to limit", 4, 5, 5, "did you mean `server`?");
}

#[test]
fn run_refuses_invalid_flows_before_running_anything() {
    let dir = tempdir();
    std::fs::write(dir.path().join("a.yaml"), GOOD.replace("wx.login", "wx.logn")).unwrap();
    std::fs::write(dir.path().join("b.yaml"), GOOD).unwrap();
    let (code, out, err) = wxflow_blocking(&["run".into(), dir.path().display().to_string()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("nothing was run") && !out.contains("PASS"), "{out}{err}");
}

#[test]
fn every_shipped_flow_matches_the_published_flow_schema() {
    let schema: serde_json::Value = serde_json::from_str(include_str!("../schemas/flow.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/flows")).unwrap() {
        let path = entry.unwrap().path();
        let yaml: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let json = serde_json::to_value(yaml).unwrap();
        let errors: Vec<String> = validator.iter_errors(&json).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
    let broken: serde_json::Value =
        serde_json::to_value(serde_yaml::from_str::<serde_yaml::Value>(&GOOD.replace("wx.login", "wx.logn")).unwrap())
            .unwrap();
    assert!(!validator.is_valid(&broken), "the schema catches an unknown step kind too");
}
