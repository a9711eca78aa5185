//! Run-time failures point at the flow file: every failed assertion,
//! capture and template says `FILE:LINE:COL`, shows the source line with a
//! caret, in the console, and carries its location in JSON and JUnit.

mod common;

use common::{assert_valid_report, tempdir, wxflow};
use serde_json::Value;

/// login-first with `edit` applied, written to `dir`; its path.
fn edited(dir: &std::path::Path, name: &str, edit: impl Fn(String) -> String) -> String {
    let path = dir.join(name);
    std::fs::write(&path, edit(std::fs::read_to_string("flows/login-first.yaml").unwrap())).unwrap();
    path.display().to_string()
}

/// The (line, col) of the first occurrence of `needle` in `file`, 1-based.
fn place(file: &str, needle: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .enumerate()
        .find_map(|(i, l)| l.find(needle).map(|c| (i + 1, c + 1)))
        .unwrap_or_else(|| panic!("`{needle}` in {file}"))
}

/// Runs `file` with JSON, JUnit and HTML reports: (exit code, console,
/// JSON, JUnit and HTML text).
async fn run(file: &str, dir: &std::path::Path) -> (i32, String, Value, String) {
    let (json, junit, html) = (dir.join("r.json"), dir.join("r.xml"), dir.join("r.html"));
    let (code, out, err) = wxflow(&[
        "run",
        file,
        "--report",
        &format!("json={}", json.display()),
        "--report",
        &format!("junit={}", junit.display()),
        "--report",
        &format!("html={}", html.display()),
    ])
    .await;
    assert!(err.contains("wrote JSON report"), "{err}");
    let report: Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    assert_valid_report(&report);
    let page = std::fs::read_to_string(html).unwrap();
    (code, out, report, std::fs::read_to_string(junit).unwrap() + &page)
}

/// The failures of the step `id` of the flow's first failed iteration.
fn failures<'a>(report: &'a Value, id: &str) -> &'a Vec<Value> {
    let first = report["flows"][0]["first_failures"].as_object().unwrap().values().next().unwrap();
    let step = first["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap();
    step["failures"].as_array().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_assertions_show_each_place_in_the_flow_file_with_a_caret() {
    let dir = tempdir();
    let file =
        edited(dir.path(), "wrong.yaml", |f| f.replace("$.code: 0", "$.code: 7").replace("status: 200", "status: 201"));
    let (code, out, report, written) = run(&file, dir.path()).await;
    assert_eq!(code, 1, "{out}");
    let (status_line, status_col) = place(&file, "status: 201");
    let (code_line, code_col) = place(&file, "$.code: 7");
    // Both failures of the step, not only the first.
    for (line, col, message, source, carets) in [
        (status_line, status_col, "status 200 ≠ 201", "status: 201", "^^^^^^"),
        (code_line, code_col, "$.code: expected 7, got 0", "$.code: 7", "^^^^^^"),
    ] {
        let at = format!("{file}:{line}:{col}");
        let block = out.split(&format!("error: {message}")).nth(1).unwrap_or_else(|| panic!("{message}: {out}"));
        let block: Vec<&str> = block.lines().take(5).collect();
        assert!(block[1].trim_start().starts_with(&format!("--> {at}")), "{block:#?}");
        assert!(block[3].ends_with(&format!("{line} | {}", " ".repeat(col - 1) + source)), "{block:#?}");
        let caret_col = block[4].find('^').unwrap() - block[3].find(source).unwrap();
        assert_eq!((caret_col, block[4].trim_end().ends_with(carets)), (0, true), "{block:#?}");
    }
    let f = failures(&report, "server");
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(f[1]["message"], "$.code: expected 7, got 0");
    assert_eq!(f[1]["location"]["file"], file.as_str());
    assert_eq!(
        (f[1]["location"]["line"].as_u64(), f[1]["location"]["col"].as_u64()),
        (Some(code_line as u64), Some(code_col as u64))
    );
    assert_eq!(f[1]["location"]["source_line"].as_str().map(str::trim), Some("$.code: 7"));
    let message = format!("message=\"{file}:{status_line}:{status_col}: expected pass");
    assert!(written.contains(&message), "{written}");
    assert!(written.contains(&format!("{file}:{code_line}:{code_col}: $.code: expected 7, got 0")), "{written}");
    // The HTML report's waterfall shows the same place.
    assert!(written.contains(&format!("--&gt; {file}:{code_line}:{code_col}")), "{written}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_capture_that_finds_nothing_and_a_template_that_cannot_render_are_located() {
    let dir = tempdir();
    let capture = edited(dir.path(), "capture.yaml", |f| f.replace("token: $.data.token", "token: $.data.nothing"));
    let (code, out, report, _) = run(&capture, dir.path()).await;
    assert_eq!(code, 1, "{out}");
    let (line, col) = place(&capture, "token: $.data.nothing");
    assert!(out.contains(&format!("--> {capture}:{line}:{col}")), "{out}");
    let f = failures(&report, "server");
    assert_eq!(f[0]["message"], "capture `token` found nothing in the answer");
    assert_eq!(f[0]["location"]["line"].as_u64(), Some(line as u64));

    // A later step's URL names a field the backend's answer lacks: a
    // template error at run time, at the template.
    let template = edited(dir.path(), "template.yaml", |f| {
        f + "  - id: again\n    http:\n      url: \"{{ target }}/x/{{ server.body.data.nope }}\"\n"
    });
    let (code, out, report, _) = run(&template, dir.path()).await;
    assert_eq!(code, 1, "{out}");
    let (line, col) = place(&template, "server.body.data.nope");
    assert!(out.contains(&format!("--> {template}:{line}:{col}")), "{out}");
    let f = failures(&report, "again");
    assert!(f[0]["message"].as_str().unwrap().starts_with("template: "), "{f:#?}");
    assert_eq!(
        (f[0]["location"]["line"].as_u64(), f[0]["location"]["col"].as_u64()),
        (Some(line as u64), Some(col as u64))
    );
}
