//! The `wxflow` binary: decrypt, and the servers' start-up errors.

use std::process::Command;

fn wxflow(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wxflow")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

const KEY: &str = "AAECAwQFBgcICQoLDA0ODw==";
const IV: &str = "Dw4NDAsKCQgHBgUEAwIBAA==";
const DATA: &str = "8XbfwlsPKHbNvuVZphLIcfBFFUrBcgANhS9/CpcfNUxcTrhX99/maQgGNjzN5IYAP716soHreXbd2FFX5w156RDdQcVANw0wU8olUdYg9B9rhlpo/AV5oGb8Tzsv5h5h";

#[test]
fn decrypt_prints_pretty_json_and_exits_0() {
    let (code, out, _) =
        wxflow(&["decrypt", "--session-key", KEY, "--iv", IV, "--data", DATA, "--appid", "wx5e1f0c2b9a7d3e11"]);
    assert_eq!(code, 0);
    assert!(out.contains("\n  \"openId\": \"oTest\""), "{out}");
}

#[test]
fn decrypt_with_the_wrong_key_explains_the_stale_session_key_and_exits_1() {
    let (code, _, err) = wxflow(&["decrypt", "--session-key", "tiihtNczf5v6AKRyjwEUhQ==", "--iv", IV, "--data", DATA]);
    assert_eq!(code, 1);
    assert!(err.contains("error -41003 IllegalBuffer"), "{err}");
    assert!(err.contains("was wx.login called after getUserInfo?"), "{err}");
}

#[test]
fn decrypt_names_each_code() {
    for (key, iv, data, expect) in [
        ("short", IV, DATA, "-41001 IllegalAesKey"),
        (KEY, "short", DATA, "-41002 IllegalIv"),
        (KEY, IV, "not base64!", "-41004 DecodeBase64Error"),
    ] {
        let (code, _, err) = wxflow(&["decrypt", "--session-key", key, "--iv", iv, "--data", data]);
        assert_eq!(code, 1);
        assert!(err.contains(expect), "{err}");
    }
}

#[test]
fn servers_that_cannot_bind_exit_2() {
    let (code, _, err) = wxflow(&["mock", "--addr", "256.0.0.1:1"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot listen on 256.0.0.1:1"), "{err}");
    let (code, _, err) = wxflow(&["mock", "--rotation", "often"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid rotation policy"), "{err}");
}

#[test]
fn mistyped_inputs_get_the_fix_that_was_meant() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wxflow")).args(args).output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run(&["run", "flows/login-frist.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("did you mean flows/login-first.yaml?"), "{err}");
    let (code, err) = run(&["run", "--duration", "10"]);
    assert_eq!(code, 2);
    assert!(err.contains("a number needs a unit: 10s?") && err.contains("ms, s, m, h or d"), "{err}");
    let (code, err) = run(&["run", "--mock", "localhost:9000"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean http://localhost:9000?"), "{err}");
    // The limit is 30 days, and it can be written so.
    assert_eq!(wxflow::flow::parse_duration("30d"), Ok(std::time::Duration::from_hours(720)));
    assert!(wxflow::flow::parse_duration("31d").unwrap_err().contains("longer than the maximum"));
}
