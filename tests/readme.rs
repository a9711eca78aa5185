//! The README cannot drift: each output it shows is produced again here by
//! the command it shows, and compared line by line with wall-clock figures
//! (durations, rates, ports) masked. Counts, causes, verdicts, diagnoses,
//! reproducers and error texts must match exactly.

mod common;

use common::{tempdir, wxflow_blocking, wxflow_in};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The first ```text block after `marker`.
fn block_after(text: &str, marker: &str) -> String {
    let at = text.find(marker).unwrap_or_else(|| panic!("README has no `{marker}`"));
    let start = text[at..].find("```text\n").unwrap() + at + "```text\n".len();
    let end = text[start..].find("```").unwrap() + start;
    text[start..end].to_string()
}

/// Masks what a clock decides: decimals (durations, rates), ports, request
/// ids, and the padding that follows their widths.
fn masked(text: &str) -> Vec<String> {
    let decimals = regex::Regex::new(r"\d+\.\d+").unwrap();
    let ports = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    let ms_old = regex::Regex::new(r"\(\d+ ms old\)").unwrap();
    let rid = regex::Regex::new(r"rid: [0-9a-f-]+").unwrap();
    let cores = regex::Regex::new(r"one pair per core of \d+").unwrap();
    text.lines()
        .map(|l| {
            let l = ports.replace_all(l, "127.0.0.1:PORT");
            let l = cores.replace_all(&l, "one pair per core of N");
            let l = decimals.replace_all(&l, "N");
            let l = ms_old.replace_all(&l, "(N ms old)");
            // Column padding follows the widths of the masked figures.
            rid.replace_all(&l, "rid: RID").split_whitespace().collect::<Vec<_>>().join(" ")
        })
        // Progress lines (`… N iterations`) come every 5 s of wall time; the
        // saturation note when the machine is busy (tests run in parallel).
        .filter(|l| !l.is_empty() && !l.starts_with('…') && !l.starts_with("the tester was saturated"))
        .collect()
}

fn run(args: &[&str]) -> String {
    let (_, out, _) = wxflow_blocking(&args.iter().map(|s| (*s).to_string()).collect::<Vec<_>>());
    out
}

fn assert_same(shown: &str, produced: &str, what: &str) {
    let (shown, produced) = (masked(shown), masked(produced));
    for (i, (a, b)) in shown.iter().zip(&produced).enumerate() {
        assert_eq!(a, b, "{what}: line {} differs from the README", i + 1);
    }
    assert_eq!(
        shown.len(),
        produced.len(),
        "{what}: the README shows {} lines, the program printed {}",
        shown.len(),
        produced.len()
    );
}

#[test]
fn the_second_command_prints_what_the_readme_shows() {
    let shown = block_after(&readme(), "The second command starts the mock");
    assert_same(&shown, &run(&["run"]), "cargo run --release -- run");
}

#[test]
fn the_load_scenario_and_its_reproducer_print_what_the_readme_shows() {
    let text = readme();
    let shown = block_after(&text, "(exit 1 because the seed's order is flaky here");
    let produced = run(&[
        "run",
        "flows/userinfo-first.yaml",
        "flows/login-first.yaml",
        "flows/button-then-refresh.yaml",
        "--rotation",
        "0.3",
        "--seed",
        "7",
        "--repeat",
        "2000",
        "--concurrency",
        "16",
    ]);
    assert_same(&shown, &produced, "the load scenario");
    let replay = block_after(&text, "The reproducer, run\nalone:");
    let (command, shown) = replay.split_once('\n').unwrap();
    let args: Vec<&str> = command.trim_start_matches("$ wxflow ").split_whitespace().collect();
    assert_same(shown, &run(&args), "the reproducer");
}

#[test]
fn validate_and_mutate_print_what_the_readme_shows() {
    let text = readme();
    // The example flow, with the typo the README describes.
    let at = text.find("```yaml\n# yaml-language-server").unwrap() + "```yaml\n".len();
    let flow = &text[at..at + text[at..].find("```").unwrap()];
    let dir = tempdir();
    std::fs::write(dir.path().join("mine.yaml"), flow.replacen("{{ login.code }}", "{{ login.cod }}", 1)).unwrap();
    let shown = block_after(&text, "of its errors:");
    let (command, shown) = shown.split_once('\n').unwrap();
    assert!(command.starts_with("$ wxflow validate mine.yaml"));
    let (code, _, err) = wxflow_in(dir.path(), &["validate", "mine.yaml"]);
    assert_eq!(code, 2);
    assert_same(shown, &err, "wxflow validate");
    let shown = block_after(&text, "The shipped flows, `wxflow mutate flows`:");
    assert_same(&shown, &run(&["mutate", "flows"]), "wxflow mutate flows");
}

#[test]
fn decrypt_prints_what_the_readme_shows() {
    let shown = block_after(&readme(), "code, its name and the likeliest cause, and exits 1:");
    // The README's session_key and iv, with data sealed under another key.
    let other = wxflow::wechat::seal(&[7; 16], &[1; 16], br#"{"a":1}"#);
    let (_, _, err) = wxflow_blocking(&[
        "decrypt".into(),
        "--session-key".into(),
        "tiihtNczf5v6AKRyjwEUhQ==".into(),
        "--iv".into(),
        "r7BXXKkLb8qrSNn05n0qiA==".into(),
        "--data".into(),
        other,
    ]);
    assert_same(&shown, &err, "wxflow decrypt");
}

/// Splits a shell line into words: spaces separate, '…' and "…" quote.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote) = (vec![], String::new(), None);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, ' ') => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[test]
fn every_wxflow_command_the_readme_shows_is_one_wxflow_accepts() {
    let text = readme();
    let mut checked = 0;
    for block in text.split("```sh\n").skip(1) {
        let block = &block[..block.find("```").unwrap_or(block.len())];
        for line in block.replace("\\\n", " ").lines() {
            let line = line.split(" #").next().unwrap_or("").trim();
            // Each command of `a && b`, `a & b`, without redirections.
            for command in line.split("&&").flat_map(|c| c.split(" & ")) {
                let command = command.split(" > ").next().unwrap_or("").trim().trim_end_matches('&').trim();
                let command = command.strip_prefix("sudo ").unwrap_or(command);
                // Synopses (`[--seed S]`) describe rather than run.
                if !command.starts_with("wxflow") || command.contains('[') {
                    continue;
                }
                let args = words(command);
                if let Err(e) = wxflow::cli::Cli::try_parse_from_args(&args) {
                    panic!("README command `{command}` is refused: {e}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 15, "checked {checked} commands");
}

#[test]
fn the_lint_example_prints_what_the_readme_shows() {
    let shown = block_after(&readme(), "`wxflow lint tests/lint/seed-native` prints:");
    assert_same(&shown, &run(&["lint", "tests/lint/seed-native"]), "wxflow lint tests/lint/seed-native");
}
