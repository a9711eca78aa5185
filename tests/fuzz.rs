//! Bounded fuzzing in CI (proptest): flow parsing and checking, templates
//! and decryption never panic, whatever they are fed. Each property runs a
//! fixed number of cases, so the suite's time stays bounded.

use proptest::prelude::*;

/// The shipped flows, to mutate: near-valid input reaches deeper checks
/// than random text.
fn shipped() -> Vec<String> {
    let mut out: Vec<String> =
        std::fs::read_dir("flows").unwrap().filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect();
    out.sort();
    out
}

fn config() -> ProptestConfig {
    ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_a_flow_or_located_errors(src in "\\PC{0,400}") {
        if let Err(errors) = wxflow::flow::check("fuzz.yaml", &src) {
            prop_assert!(!errors.is_empty());
            for e in errors {
                let _ = e.to_string();
            }
        }
    }

    #[test]
    fn mutated_shipped_flows_never_panic(
        which in 0usize..12,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), "\\PC{0,8}", 0usize..6), 1..6),
    ) {
        let flows = shipped();
        let mut src = flows[which % flows.len()].clone();
        for (at, insert, remove) in edits {
            let boundaries: Vec<usize> = (0..=src.len()).filter(|i| src.is_char_boundary(*i)).collect();
            let start = boundaries[at.index(boundaries.len())];
            let end = boundaries.iter().copied().filter(|b| *b >= start).nth(remove).unwrap_or(src.len());
            src.replace_range(start..end, &insert);
        }
        if let Err(errors) = wxflow::flow::check("fuzz.yaml", &src) {
            for e in errors {
                let _ = e.to_string();
            }
        }
    }

    #[test]
    fn templates_parse_or_fail_cleanly(text in "\\PC{0,80}") {
        if let Ok(t) = wxflow::flow::template::Template::parse(&text) {
            let _ = t.render(&serde_json::Map::new());
        }
    }

    #[test]
    fn decrypt_never_panics(key in "\\PC{0,40}", iv in "\\PC{0,40}", data in "[A-Za-z0-9+/= ]{0,200}", appid in proptest::option::of("\\PC{0,20}")) {
        let _ = wxflow::wechat::decrypt(&key, &iv, &data, appid.as_deref());
    }

    #[test]
    fn decrypt_of_well_formed_base64_never_panics(key in any::<[u8; 16]>(), iv in any::<[u8; 16]>(), body in proptest::collection::vec(any::<u8>(), 0..200)) {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let _ = wxflow::wechat::decrypt(&b64(&key), &b64(&iv), &b64(&body), Some("wx5e1f0c2b9a7d3e11"));
    }
}
