//! Hostile input, second round: readers of outside input are bounded, and
//! `merge` believes no impossible shard.

mod common;
use common::{tempdir, wxflow_blocking};
use std::time::{Duration, Instant};

fn wxflow(args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(ToString::to_string).collect();
    wxflow_blocking(&args)
}

#[test]
fn endless_files_given_as_inputs_are_refused_at_once() {
    for args in [
        vec!["run", "flows/login-first.yaml", "--vars-file", "/dev/zero"],
        vec!["run", "flows/login-first.yaml", "--ca-cert", "/dev/zero"],
        vec!["merge", "/dev/zero", "/dev/zero"],
    ] {
        let t = Instant::now();
        let (code, _, err) = wxflow(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("larger than"), "{args:?}: {err}");
        assert!(t.elapsed() < Duration::from_secs(10), "{args:?} read on and on");
    }
    let (code, _, err) = wxflow(&["run", "flows/login-first.yaml", "--rate", "1e-300", "--duration", "1s"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("0.001"), "{err}");
}

#[test]
fn merge_refuses_shards_whose_counts_cannot_be() {
    let dir = tempdir();
    let shard = |i: u64| {
        let path = dir.path().join(format!("s{i}.json"));
        let rp = format!("json={}", path.display());
        let sh = format!("{i}/2");
        let (code, _, err) =
            wxflow(&["run", "flows/login-first.yaml", "--repeat", "4", "--report", &rp, "--shard", &sh]);
        assert_eq!(code, 0, "{err}");
        path
    };
    let (a, b) = (shard(0), shard(1));
    let text = std::fs::read_to_string(&b).unwrap();
    let mut report: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (field, value) in [("iterations", serde_json::json!(u64::MAX)), ("passed", serde_json::json!(1000))] {
        let mut bad = report.clone();
        bad["flows"][0][field] = value;
        std::fs::write(&b, bad.to_string()).unwrap();
        let (code, _, err) = wxflow(&["merge", a.to_str().unwrap(), b.to_str().unwrap()]);
        assert_eq!(code, 2, "{field}: {err}");
        assert!(err.contains(b.to_str().unwrap()) && err.contains("not a report of a run"), "{field}: {err}");
        assert!(err.len() < 500, "a short message: {err}");
    }
    // A shard claiming 100,000 parts: the missing ones are not all listed.
    report["plan"]["shard"] = serde_json::json!({"index": 1, "count": 100_000});
    std::fs::write(&b, report.to_string()).unwrap();
    let (code, _, err) = wxflow(&["merge", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.len() < 2000, "{} bytes of error", err.len());
}

#[test]
fn init_never_writes_through_a_dangling_symlink() {
    let dir = tempdir();
    let outside = tempdir();
    let target = outside.path().join("planted.yaml");
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("flows/login-first.yaml")).unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, _, err) = wxflow(&["init", d]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("exists: nothing was written"), "{err}");
    let (code, _, err) = wxflow(&["init", d, "--force"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nothing was written through it"), "{err}");
    assert!(!target.exists(), "the link's target was not created");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_in_the_target_url_is_never_printed() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let dir = tempdir();
    let json = dir.path().join("r.json");
    let target = s.embedded.backend_url.replace("http://", "http://admin:hunter2secret@");
    let report = format!("json={}", json.display());
    let args: Vec<String> =
        ["run", "flows/login-first.yaml", "--mock", &s.embedded.mock_url, "--target", &target, "--report", &report]
            .iter()
            .map(ToString::to_string)
            .collect();
    let (code, out, err) = tokio::task::spawn_blocking(move || common::wxflow_blocking(&args)).await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    let all = format!("{out}{err}{}", std::fs::read_to_string(&json).unwrap());
    assert!(!all.contains("hunter2secret"), "{all}");
    assert!(out.contains("admin:(masked)@"), "{out}");
}

/// `wxflow mock --log` masks an access_token it issued wherever a request
/// carries it: a path segment, a percent-encoded parameter name.
#[tokio::test(flavor = "multi_thread")]
async fn the_mock_log_masks_an_issued_token_in_a_path_or_under_an_encoded_name() {
    use std::io::{BufRead, BufReader, Read};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wxflow"))
        .args(["mock", "--log", "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let url = first.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_string();
    let demo = wxflow::mock::demo_app();
    let token_url =
        format!("{url}/cgi-bin/token?grant_type=client_credential&appid={}&secret={}", demo.appid, demo.secret);
    let answer: serde_json::Value = reqwest::get(token_url).await.unwrap().json().await.unwrap();
    let token = answer["access_token"].as_str().unwrap().to_string();
    for path in [format!("/cgi-bin/odd/{token}"), format!("/wxa/checksession?access%5Ftoken={token}&openid=o")] {
        let _ = reqwest::get(format!("{url}{path}")).await.unwrap();
    }
    let _ = child.kill();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    let _ = child.wait();
    assert!(log.lines().count() >= 3, "{log}");
    assert!(!log.contains(&token), "{log}");
    assert!(!log.contains(&demo.secret), "{log}");
}

#[test]
fn a_deeply_nested_flow_is_refused_at_once_with_its_place() {
    let dir = tempdir();
    let file = dir.path().join("deep.yaml");
    let n = 400_000;
    let text = format!(
        "name: x\nsteps:\n  - id: a\n    http:\n      url: http://x\n      json: {}{}\n",
        "[".repeat(n),
        "]".repeat(n)
    );
    std::fs::write(&file, text).unwrap();
    let t = Instant::now();
    let (code, _, err) = wxflow(&["validate", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nested deeper than 64 levels") && err.contains("deep.yaml:6:"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(5), "refused before YAML parses it: {:?}", t.elapsed());
}
