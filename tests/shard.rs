//! Sharded runs: shards as processes on one machine merge to exactly the
//! unsharded run's counts, causes, verdicts and exit code, with exact
//! percentiles from the merged histograms; merge refuses what is not one
//! run. The Kubernetes manifests parse and hold together.

mod common;

use common::{assert_valid_report, tempdir};
use serde_json::Value;
use std::path::Path;

const PLAN: [&str; 11] = [
    "flows/userinfo-first.yaml",
    "flows/login-first.yaml",
    "--rotation",
    "0.3",
    "--seed",
    "7",
    "--repeat",
    "240",
    "--concurrency",
    "8",
    "--report",
];

fn run(args: &[&str]) -> (i32, String, String) {
    common::wxflow_blocking(&args.iter().map(|s| (*s).to_string()).collect::<Vec<_>>())
}

fn report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn flow<'a>(r: &'a Value, id: &str) -> &'a Value {
    common::flow(r, id)
}

#[test]
fn shards_merge_to_exactly_the_unsharded_run() {
    let dir = tempdir();
    let d = |name: &str| dir.path().join(name);
    let whole = format!("json={}", d("whole.json").display());
    let mut args = vec!["run"];
    args.extend(PLAN);
    args.push(&whole);
    let (whole_code, _, _) = run(&args);
    let mut shard_paths = vec![];
    for i in 0..3 {
        let path = d(&format!("shard{i}.json"));
        let (rp, shard) = (format!("json={}", path.display()), format!("{i}/3"));
        let mut args = vec!["run"];
        args.extend(PLAN);
        args.extend([rp.as_str(), "--shard", shard.as_str()]);
        run(&args);
        assert_valid_report(&report(&path));
        shard_paths.push(path.display().to_string());
    }
    let merged_json = format!("json={}", d("merged.json").display());
    let merged_xml = format!("junit={}", d("merged.xml").display());
    let mut args = vec!["merge"];
    args.extend(shard_paths.iter().map(String::as_str));
    args.extend(["--report", &merged_json, "--report", &merged_xml]);
    let (code, out, err) = run(&args);
    assert_eq!(code, whole_code, "{out}{err}");
    let (whole, merged) = (report(&d("whole.json")), report(&d("merged.json")));
    assert_valid_report(&merged);
    for id in ["userinfo-first", "login-first"] {
        let (w, m) = (flow(&whole, id), flow(&merged, id));
        for field in
            ["iterations", "passed", "failed", "met", "causes", "verdict", "expectation_met", "stale_generations"]
        {
            assert_eq!(w[field], m[field], "{id}.{field}");
        }
        assert_eq!(w["first_failures"]["stale_iv"]["iteration"], m["first_failures"]["stale_iv"]["iteration"], "{id}");
        // The merged percentiles are those of every shard's samples together.
        let mut all: Option<hdrhistogram::Histogram<u64>> = None;
        for p in &shard_paths {
            let h = wxflow::stats::decode(flow(&report(Path::new(p)), id)["hdr"]["total"].as_str().unwrap()).unwrap();
            match &mut all {
                Some(a) => a.add(&h).unwrap(),
                None => all = Some(h),
            }
        }
        let expected = wxflow::stats::Latency::of(&all.unwrap());
        let got: wxflow::stats::Latency = serde_json::from_value(m["latency_ms"].clone()).unwrap();
        assert_eq!(got, expected, "{id}");
        assert_eq!(got.count, m["iterations"].as_u64().unwrap());
        // The shards ran one after another: the merged throughput is over
        // the time they all took, not the longest one's.
        let took: f64 =
            shard_paths.iter().map(|p| flow(&report(Path::new(p)), id)["elapsed_ms"].as_f64().unwrap()).sum();
        let merged_ms = m["elapsed_ms"].as_f64().unwrap();
        assert!((merged_ms - took).abs() <= 3.0, "{id}: merged {merged_ms} ms, shards {took} ms one by one");
    }
    assert_eq!(whole["summary"]["success"], merged["summary"]["success"]);
    assert!(std::fs::read_to_string(d("merged.xml")).unwrap().contains("userinfo-first"));
    assert!(merged["plan"]["shard"].is_null());
}

#[test]
fn merge_refuses_what_is_not_one_run_and_names_missing_and_repeated_shards() {
    let dir = tempdir();
    let shard = |i: u64, seed: &str| {
        let path = dir.path().join(format!("s{i}-{seed}.json"));
        let rp = format!("json={}", path.display());
        let sh = format!("{i}/2");
        run(&["run", "flows/login-first.yaml", "--repeat", "4", "--seed", seed, "--report", &rp, "--shard", &sh]);
        path.display().to_string()
    };
    let (a0, a1, b1) = (shard(0, "1"), shard(1, "1"), shard(1, "2"));
    let (code, _, err) = run(&["merge", &a0, &b1]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a shard of the same run") && err.contains("seed"), "{err}");
    // A report over one of its own shards (here through a link) is refused.
    let before = std::fs::read(&a1).unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&a1, &link).unwrap();
    let over = format!("json={}", link.display());
    let (code, _, err) = run(&["merge", &a0, &a1, "--report", &over]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is one of this run's inputs"), "{err}");
    assert_eq!(std::fs::read(&a1).unwrap(), before, "the shard is untouched");
    let (code, _, err) = run(&["merge", &a0, &a0]);
    assert_eq!(code, 2);
    assert!(err.contains("missing shards: 1/2") && err.contains("shards given twice: 0/2"), "{err}");
    let whole = dir.path().join("whole.json");
    run(&["run", "flows/login-first.yaml", "--repeat", "4", "--report", &format!("json={}", whole.display())]);
    let (code, _, err) = run(&["merge", &a0, &whole.display().to_string()]);
    assert_eq!(code, 2);
    assert!(err.contains("not a shard report"), "{err}");
    // A hand-edited shard number is refused, not indexed past the end.
    let mut edited = report(Path::new(&a1));
    edited["plan"]["shard"] = serde_json::json!({"index": 5, "count": 2});
    let edited_path = dir.path().join("edited.json");
    std::fs::write(&edited_path, edited.to_string()).unwrap();
    let (code, _, err) = run(&["merge", &a0, &edited_path.display().to_string()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not INDEX/COUNT") && !err.contains("panicked"), "{err}");
    let (code, out, err) = run(&["merge", &a0, &a1]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("4 iterations: 4 passed"), "{out}");
    // The env var a Job template sets, without a shell.
    let path = dir.path().join("env.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wxflow"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "flows/login-first.yaml", "--repeat", "4", "--report", &format!("json={}", path.display())])
        .env("WXFLOW_SHARD", "1/2")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(report(&path)["plan"]["shard"], serde_json::json!({"index": 1, "count": 2}));
    let (code, _, err) = run(&["run", "--shard", "2/2"]);
    assert_eq!(code, 2);
    assert!(err.contains("INDEX from 0 to COUNT-1"), "{err}");
}

/// Every document of a manifest file.
fn documents(path: &str) -> Vec<serde_yaml::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text).map(|d| serde::Deserialize::deserialize(d).unwrap()).collect()
}

fn args(job: &serde_yaml::Value) -> Vec<String> {
    job["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_kubernetes_manifests_parse_and_hold_together() {
    let dir = "deploy/kubernetes";
    let mut kinds = vec![];
    for f in ["mock.yaml", "reports-pvc.yaml", "shards-job.yaml", "merge-job.yaml"] {
        for d in documents(&format!("{dir}/{f}")) {
            for key in ["apiVersion", "kind"] {
                assert!(d[key].is_string(), "{f}: {key}");
            }
            assert!(d["metadata"]["name"].is_string(), "{f}: metadata.name");
            kinds.push(d["kind"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(kinds, ["Deployment", "Service", "PersistentVolumeClaim", "Job", "Job"]);
    let shards = &documents(&format!("{dir}/shards-job.yaml"))[0];
    let spec = &shards["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let n = spec["completions"].as_u64().unwrap();
    assert_eq!(spec["parallelism"].as_u64(), Some(n));
    let a = args(shards);
    // The arguments are wxflow's own: clap accepts them.
    let flags: Vec<String> =
        a.iter().map(|x| x.replace("$(JOB_COMPLETION_INDEX)", "0").replace("/flows", "flows")).collect();
    let mut cmd = vec!["wxflow".to_string()];
    cmd.extend(flags);
    wxflow::cli::Cli::try_parse_from_args(&cmd).unwrap();
    // A secret comes from a Kubernetes Secret, through the environment.
    let env = &shards["spec"]["template"]["spec"]["containers"][0]["env"][0];
    assert!(env["name"].as_str().unwrap().starts_with("WXFLOW_SECRET_"), "{env:?}");
    assert!(env["valueFrom"]["secretKeyRef"]["name"].is_string(), "{env:?}");
    let at = a.iter().position(|x| x == "--shard").unwrap();
    assert_eq!(a[at + 1], format!("$(JOB_COMPLETION_INDEX)/{n}"));
    assert!(a.iter().any(|x| x == "json=/reports/shard-$(JOB_COMPLETION_INDEX).json"));
    let mock_url = &a[a.iter().position(|x| x == "--mock").unwrap() + 1];
    let service = &documents(&format!("{dir}/mock.yaml"))[1];
    assert_eq!(
        mock_url,
        &format!(
            "http://{}:{}",
            service["metadata"]["name"].as_str().unwrap(),
            service["spec"]["ports"][0]["port"].as_u64().unwrap()
        )
    );
    let merge = args(&documents(&format!("{dir}/merge-job.yaml"))[0]);
    let inputs: Vec<&String> = merge.iter().filter(|x| x.starts_with("/reports/shard-")).collect();
    let expected: Vec<String> = (0..n).map(|i| format!("/reports/shard-{i}.json")).collect();
    assert_eq!(inputs, expected.iter().collect::<Vec<_>>(), "the merge lists every shard once");
    let mut cmd = vec!["wxflow".to_string()];
    cmd.extend(merge);
    wxflow::cli::Cli::try_parse_from_args(&cmd).unwrap();
    let gha = &documents("deploy/github-actions/sharded-load.yml")[0];
    assert_eq!(gha["jobs"]["shard"]["strategy"]["matrix"]["index"].as_sequence().unwrap().len(), 4);
}
