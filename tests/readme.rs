//! The README and docs/ cannot drift: each output they show is produced
//! again here by the command they show, and compared line by line with
//! wall-clock figures (durations, rates, ports) masked. Counts, causes,
//! verdicts, diagnoses, reproducers and error texts must match exactly.
//! Every shell command is one wxflow accepts, every YAML block parses (a
//! flow checks), every relative link resolves, every flag named exists.

mod common;

use common::{tempdir, wxflow_blocking, wxflow_in};

/// One page of the documentation, by its path in the repository.
fn page(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The pages: README.md, CHANGELOG.md and docs/*.md.
fn pages() -> Vec<String> {
    let mut docs: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/docs"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| std::path::Path::new(n).extension().is_some_and(|e| e == "md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    ["README.md".to_string(), "CHANGELOG.md".to_string()].into_iter().chain(docs).collect()
}

/// Every page, one after another.
fn readme() -> String {
    pages().iter().map(|p| page(p)).collect::<Vec<_>>().join("\n")
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
    let produced = run(&["run"]);
    assert_same(&shown, &produced, "cargo run --release -- run");
    // The README shows how it ends.
    let end = masked(&block_after(&page("README.md"), "Its output ends like this"));
    let produced = masked(&produced);
    assert_eq!(end, produced[produced.len() - end.len()..], "the README's excerpt is the output's end");
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
    let text = page("docs/flows.md");
    // The example flow, with the typo the page describes.
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
    let shown = block_after(&readme(), "The shipped flows, `wxflow mutate flows`:");
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

/// Code blocks of `lang` in `text`.
fn blocks<'a>(text: &'a str, lang: &str) -> Vec<&'a str> {
    let fence = format!("```{lang}\n");
    text.split(&fence).skip(1).map(|b| &b[..b.find("```").unwrap_or(b.len())]).collect()
}

#[test]
fn every_yaml_block_parses_and_every_whole_flow_checks() {
    let mut flows = 0;
    for p in pages() {
        for block in blocks(&page(&p), "yaml") {
            let doc: serde_yaml::Value = serde_yaml::from_str(block)
                .unwrap_or_else(|e| panic!("{p}: a YAML block does not parse: {e}\n{block}"));
            if doc.get("name").is_some() && doc.get("steps").is_some() {
                // The validate example shows a flow with one mistake on purpose.
                if let Err(e) = wxflow::flow::check(&p, block)
                    && !block.contains("login.cod }}")
                {
                    panic!("{p}: a flow that does not check: {}", e[0]);
                }
                flows += 1;
            }
        }
    }
    assert!(flows >= 2, "{flows} flows");
    // The README's first flow is the shipped one, as is.
    assert!(blocks(&page("README.md"), "yaml").contains(&page("flows/login-first.yaml").as_str()));
}

/// GitHub's anchor for a heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn every_relative_link_resolves_to_a_file_and_heading() {
    let link = regex::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for p in pages() {
        let text = page(&p);
        let dir = std::path::Path::new(&p).parent().unwrap().to_path_buf();
        for cap in link.captures_iter(&text) {
            let target = &cap[1];
            if target.starts_with("http") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let path = if file.is_empty() { std::path::PathBuf::from(&p) } else { dir.join(file) };
            assert!(root.join(&path).exists(), "{p}: link to {target}: no {}", path.display());
            if !anchor.is_empty() {
                let linked = std::fs::read_to_string(root.join(&path)).unwrap();
                let headings: Vec<String> = linked
                    .lines()
                    .filter(|l| l.starts_with('#') && l.contains("# "))
                    .map(|l| slug(l.trim_start_matches('#')))
                    .collect();
                assert!(
                    headings.iter().any(|h| h == anchor),
                    "{p}: link to {target}: no heading `{anchor}` in {headings:?}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "checked {checked} links");
}

/// Every long flag of wxflow and its subcommands.
fn wxflow_flags() -> std::collections::BTreeSet<String> {
    fn walk(cmd: &clap::Command, out: &mut std::collections::BTreeSet<String>) {
        for a in cmd.get_arguments() {
            out.extend(a.get_long().map(|l| format!("--{l}")));
        }
        for s in cmd.get_subcommands() {
            walk(s, out);
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(&<wxflow::cli::Cli as clap::CommandFactory>::command(), &mut out);
    out.extend(["--help".to_string(), "--version".to_string()]);
    out
}

#[test]
fn every_flag_subcommand_and_exit_code_the_docs_name_exists() {
    let flags = wxflow_flags();
    // Flags of other tools the pages show.
    let others = [
        "--release",
        "--locked",
        "--path",
        "--test",
        "--bench",
        "--from-literal",
        "--from-file",
        "--add-host",
        "--ulimit",
        "--for",
        "--timeout",
        "--all-targets",
        "--check",
        "--force-with-lease",
        "--omit",
        "--offline",
        "--no-index",
        "--profile",
        "--save-dev",
        "--vs",
    ];
    let flag = regex::Regex::new(r"`[^`]*?(--[a-z][a-z0-9-]*)").unwrap();
    let cmd = <wxflow::cli::Cli as clap::CommandFactory>::command();
    let subcommands: Vec<&str> = cmd.get_subcommands().map(clap::Command::get_name).collect();
    let named = regex::Regex::new(r"`wxflow ([a-z][a-z-]*)").unwrap();
    for p in pages() {
        let text = page(&p);
        for line in text.lines().filter(|l| l.contains("wxflow") || l.contains("`--")) {
            for cap in flag.captures_iter(line) {
                let f = &cap[1];
                assert!(flags.contains(f) || others.contains(&f), "{p}: `{f}` is no wxflow flag: {line}");
            }
        }
        for cap in named.captures_iter(&text) {
            let word = &cap[1];
            assert!(subcommands.contains(&word) || word == "help", "{p}: `wxflow {word}` is no subcommand");
        }
    }
    // The exit codes the README's table names are the program's.
    let readme = page("README.md");
    for (code, constant) in [
        (0, wxflow::exit::EXIT_OK),
        (1, wxflow::exit::EXIT_FAILED),
        (2, wxflow::exit::EXIT_INVALID),
        (3, wxflow::exit::EXIT_INCONCLUSIVE),
    ] {
        assert_eq!(code, constant);
        assert!(readme.contains(&format!("\n| {code} | ")), "exit {code} in the README's table");
    }
}
