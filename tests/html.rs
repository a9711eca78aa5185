//! The HTML report: self-contained (nothing fetched, no script), and
//! rendered by a real headless browser (Debian's chromium, which `.ci/run`
//! installs): the screenshot shows the failing flow's red badge, the
//! passing flow's green one and the stale step, and the DOM holds the
//! verdicts, the diagnosis and the reproducer.

mod common;

use common::{tempdir, wxflow};

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| std::process::Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// Pixels of `png` within a small distance of `rgb`.
fn pixels_like(png: &[u8], rgb: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(png);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    buf[..info.buffer_size()].chunks(step).filter(|p| p.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) < 12)).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_html_report_is_self_contained_and_renders_in_a_real_browser() {
    let dir = tempdir();
    let html = dir.path().join("report.html");
    let rp = format!("html={}", html.display());
    let (code, out, err) = wxflow(&[
        "run",
        "flows/userinfo-first.yaml",
        "flows/login-first.yaml",
        "--rotation",
        "never",
        "--repeat",
        "20",
        "--report",
        &rp,
    ])
    .await;
    assert_eq!(code, 1, "userinfo-first expects a stale failure that never comes: {out}{err}");
    let page = std::fs::read_to_string(&html).unwrap();
    for banned in ["<script", "<link", "src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!page.contains(banned), "the page fetches nothing: {banned}");
    }
    assert!(
        page.contains("id=\"flow-userinfo-first\"") && page.contains("not met") && page.contains("1 passed, 1 failed")
    );

    let Some(browser) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "CI installs chromium (.ci/run)");
        eprintln!("skipped: no chromium here (apt-get install chromium)");
        return;
    };
    let url = format!("file://{}", html.display());
    let shot = dir.path().join("shot.png");
    let run = |args: &[&str]| {
        std::process::Command::new(browser)
            .args(["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars"])
            .args(args)
            .arg(&url)
            .output()
            .unwrap()
    };
    let dom = String::from_utf8_lossy(&run(&["--dump-dom"]).stdout).into_owned();
    assert!(dom.contains("userinfo-first") && dom.contains("login-first"), "{dom}");
    assert!(dom.contains("expected fail (stale_iv)") && dom.contains("20 iterations: 20 passed"), "{dom}");
    let out = run(&[&format!("--screenshot={}", shot.display()), "--window-size=1100,1400"]);
    assert!(shot.is_file(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).unwrap();
    // Red: the summary badge and userinfo-first's "not met"; green: login-first's "met" and "Pass".
    let (red, green) = (pixels_like(&png, [0xc6, 0x2f, 0x2f]), pixels_like(&png, [0x1f, 0x8a, 0x3b]));
    assert!(red > 500, "the failing verdicts are drawn in red: {red} pixels");
    assert!(green > 500, "the passing verdicts are drawn in green: {green} pixels");
    let blue = pixels_like(&png, [0x3b, 0x6e, 0xa5]);
    assert!(blue > 300, "the latency histogram is drawn: {blue} pixels");
}
