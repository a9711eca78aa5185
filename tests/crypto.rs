//! Known-answer tests from independent implementations (WeChat's official
//! sample, openssl, sha1sum, a Go SDK's README) and every error code.

use wxflow::wechat::crypto::{BufferFault, DecryptError, decrypt, hmac_sha256_hex, seal, signature};

// WeChat's official decrypt sample ("WXBizDataCrypt" demo, all languages).
const SAMPLE_APPID: &str = "wx4f4bc4dec97d474b";
const SAMPLE_KEY: &str = "tiihtNczf5v6AKRyjwEUhQ==";
const SAMPLE_IV: &str = "r7BXXKkLb8qrSNn05n0qiA==";
const SAMPLE_DATA: &str = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==";

// Made with: printf '%s' '{"openId":"oTest",…}' | openssl enc -aes-128-cbc
//   -K 000102030405060708090a0b0c0d0e0f -iv 0f0e0d0c0b0a09080706050403020100 | base64 -w0
const KEY: &str = "AAECAwQFBgcICQoLDA0ODw==";
const IV: &str = "Dw4NDAsKCQgHBgUEAwIBAA==";
const PLAIN: &str = r#"{"openId":"oTest","watermark":{"appid":"wx5e1f0c2b9a7d3e11","timestamp":1700000000}}"#;
const OPENSSL_DATA: &str = "8XbfwlsPKHbNvuVZphLIcfBFFUrBcgANhS9/CpcfNUxcTrhX99/maQgGNjzN5IYAP716soHreXbd2FFX5w156RDdQcVANw0wU8olUdYg9B9rhlpo/AV5oGb8Tzsv5h5h";
// 32 bytes encrypted with openssl -nopad: the last block is not PKCS#7.
const OPENSSL_NOPAD: &str = "rzSbbiuRB+qlxpN++Bzc6oACwzFg8iYMjjOsQiApmQs=";
// "not json at all" with valid padding.
const OPENSSL_NOT_JSON: &str = "DgtfSw9WaCrFXenV+sMkJw==";

#[test]
fn official_sample_decrypts_to_its_documented_plaintext() {
    let v = decrypt(SAMPLE_KEY, SAMPLE_IV, SAMPLE_DATA, Some(SAMPLE_APPID)).unwrap();
    assert_eq!(v["openId"], "oGZUI0egBJY1zhBYw2KhdUfwVJJE");
    assert_eq!(v["nickName"], "Band");
    assert_eq!(v["city"], "Guangzhou");
    assert_eq!(v["watermark"]["timestamp"], 1_477_314_187);
    assert_eq!(v["watermark"]["appid"], SAMPLE_APPID);
}

#[test]
fn openssl_vector_decrypts() {
    let v = decrypt(KEY, IV, OPENSSL_DATA, Some("wx5e1f0c2b9a7d3e11")).unwrap();
    assert_eq!(v, serde_json::from_str::<serde_json::Value>(PLAIN).unwrap());
}

#[test]
fn seal_matches_openssl_byte_for_byte() {
    let key: [u8; 16] = core::array::from_fn(|i| i as u8);
    let iv: [u8; 16] = core::array::from_fn(|i| 15 - i as u8);
    assert_eq!(seal(&key, &iv, PLAIN.as_bytes()), OPENSSL_DATA);
}

#[test]
fn signature_matches_sha1sum_and_a_published_sdk_vector() {
    // From gopay's README (wechat mini program open data), checked with sha1sum.
    let raw = r#"{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}"#;
    assert_eq!(signature(raw, "HyVFkGl5F5OQWJZZaNzBBg=="), "75e81ceda165f4ffa64f4068af58c64b8f54b88c");
}

#[test]
fn checksession_hmac_matches_openssl() {
    // printf '' | openssl dgst -sha256 -hmac 'HyVFkGl5F5OQWJZZaNzBBg=='
    assert_eq!(
        hmac_sha256_hex(b"HyVFkGl5F5OQWJZZaNzBBg==", b""),
        "252b75c92698025afe925b29cca5517fdf9ee67aae072cf3225ebf3a53783058"
    );
}

#[test]
fn short_session_key_is_41001() {
    let e = decrypt("AAECAwQFBgcICQoLDA0O", IV, OPENSSL_DATA, None).unwrap_err();
    assert_eq!((e.code(), e.name()), (-41001, "IllegalAesKey"));
}

#[test]
fn short_iv_is_41002() {
    let e = decrypt(KEY, "Dw4NDAsKCQgHBgUE", OPENSSL_DATA, None).unwrap_err();
    assert_eq!((e.code(), e.name()), (-41002, "IllegalIv"));
}

#[test]
fn wrong_key_is_41003_padding() {
    let e = decrypt(SAMPLE_KEY, IV, OPENSSL_DATA, None).unwrap_err();
    assert_eq!(e.code(), -41003);
    // A wrong key yields random bytes: almost always bad padding, rarely
    // valid padding over garbage that is not JSON.
    assert!(matches!(e, DecryptError::IllegalBuffer(BufferFault::Padding | BufferFault::NotJson(_))), "{e:?}");
    assert!(e.explanation().contains("wx.login called after getUserInfo"));
}

#[test]
fn bad_padding_from_openssl_nopad_is_41003() {
    let e = decrypt(KEY, IV, OPENSSL_NOPAD, None).unwrap_err();
    assert_eq!(e, DecryptError::IllegalBuffer(BufferFault::Padding));
}

#[test]
fn valid_padding_but_not_json_is_41003() {
    let e = decrypt(KEY, IV, OPENSSL_NOT_JSON, None).unwrap_err();
    assert!(matches!(e, DecryptError::IllegalBuffer(BufferFault::NotJson(_))), "{e:?}");
}

#[test]
fn watermark_of_another_app_is_41003() {
    let e = decrypt(SAMPLE_KEY, SAMPLE_IV, SAMPLE_DATA, Some("wx5e1f0c2b9a7d3e11")).unwrap_err();
    assert_eq!(e.code(), -41003);
    assert!(matches!(e, DecryptError::IllegalBuffer(BufferFault::WatermarkAppid { .. })));
}

#[test]
fn plus_turned_into_space_is_41004_and_says_so() {
    let spaced = SAMPLE_DATA.replace('+', " ");
    let e = decrypt(SAMPLE_KEY, SAMPLE_IV, &spaced, None).unwrap_err();
    assert_eq!((e.code(), e.name()), (-41004, "DecodeBase64Error"));
    assert!(e.to_string().contains("space"), "{e}");
}

#[test]
fn truncated_ciphertext_is_41003_block_length() {
    let e = decrypt(KEY, IV, "AAECAwQFBgcICQoLDA0O", None).unwrap_err();
    assert!(matches!(e, DecryptError::IllegalBuffer(BufferFault::BlockLength(15))), "{e:?}");
    let e = decrypt(KEY, IV, "", None).unwrap_err();
    assert!(matches!(e, DecryptError::IllegalBuffer(BufferFault::BlockLength(0))), "{e:?}");
}

#[test]
fn garbage_never_panics() {
    let inputs = ["", "=", "====", "€€€€€€€€€€€€€€€€€€€€€€€€", "AAAAAAAAAAAAAAAAAAAAAA==", &"A".repeat(100_000)];
    for k in inputs {
        for iv in inputs {
            for d in inputs {
                let _ = decrypt(k, iv, d, Some("wx"));
            }
        }
    }
}
