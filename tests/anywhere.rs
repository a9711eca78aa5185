//! wxflow outside its repository: `init` writes starter flows shaped to the
//! backend's contract, commands point at it when no flows are found, the
//! bare `wxflow PATH…` runs, completions and a man page.

mod common;

use common::tempdir;

fn in_dir(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    common::wxflow_in(dir, args)
}

#[test]
fn init_writes_checked_starter_flows_shaped_to_the_contract_and_they_run() {
    let dir = tempdir();
    let (code, _, err) = in_dir(dir.path(), &["run"]);
    assert_eq!(code, 2);
    assert!(err.contains("`wxflow init` writes starter flows"), "{err}");
    let (code, out, err) =
        in_dir(dir.path(), &["init", "app", "--login-path", "/v1/session", "--token-path", "$.data.jwt"]);
    assert_eq!(code, 0, "{out}{err}");
    let app = dir.path().join("app");
    let login = std::fs::read_to_string(app.join("flows/login-first.yaml")).unwrap();
    assert!(login.contains("{{ target }}/v1/session") && login.contains("$.data.jwt") && !login.contains("/api/login"));
    // The schema line resolves next to the flows.
    assert!(login.starts_with("# yaml-language-server: $schema=../schemas/flow.schema.json"));
    assert!(app.join("schemas/flow.schema.json").is_file());
    let (code, out, _) = in_dir(&app, &["validate"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("16 flows valid"), "{out}");
    // Nothing is overwritten without --force.
    let (code, _, err) = in_dir(dir.path(), &["init", "app"]);
    assert_eq!(code, 2);
    assert!(err.contains("exists: nothing was written"), "{err}");
    let (code, _, err) = in_dir(dir.path(), &["init", "app", "--token-path", "data.jwt", "--force"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a JSONPath"), "{err}");
    // Unshaped, the starter flows pass against the built-in reference backend.
    let (code, _, _) = in_dir(dir.path(), &["init", "plain"]);
    assert_eq!(code, 0);
    let (code, out, _) = in_dir(&dir.path().join("plain"), &["flows/login-first.yaml", "flows/userinfo-first.yaml"]);
    assert_eq!(code, 0, "the bare `wxflow PATH…` runs headless here: {out}");
    assert!(out.contains("2 passed, 0 failed"), "{out}");
}

#[test]
fn completions_and_a_man_page_are_printed() {
    let dir = tempdir();
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, _) = in_dir(dir.path(), &["completions", shell]);
        assert_eq!(code, 0);
        assert!(out.contains("wxflow") && out.contains("mutate"), "{shell}");
    }
    let (code, out, _) = in_dir(dir.path(), &["man"]);
    assert_eq!(code, 0);
    assert!(out.contains(".TH wxflow 1") && out.contains("merge"), "{out}");
    let (code, _, err) = in_dir(dir.path(), &["completions", "tcsh"]);
    assert_eq!(code, 2, "{err}");
}
