//! HTTP plumbing of the engine: rendering a step's request, reading an
//! answer with a size cap and time to first byte.

use super::diagnose::Transport;
use crate::error_chain;
use crate::flow::model::HttpStep;
use crate::flow::template::{render_text, render_value};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Bodies kept in results are cut past this many bytes.
const KEPT_BODY: usize = 16 * 1024;
/// Answers are read up to this many bytes.
const MAX_BODY: usize = 1024 * 1024;

pub(super) fn cut(text: &str) -> String {
    if text.len() <= KEPT_BODY {
        return text.to_string();
    }
    let mut end = KEPT_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

pub(super) type Rendered = (String, Vec<(String, String)>, String, Option<&'static str>);

pub(super) fn render_request(h: &HttpStep, scope: &serde_json::Map<String, Value>) -> Result<Rendered, String> {
    let url = render_text(&h.spec.url, scope)?;
    let headers = h
        .spec
        .headers
        .iter()
        .map(|(k, v)| Ok((k.clone(), render_text(v, scope)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let (body, ct) = if let Some(j) = &h.spec.json {
        (render_value(j, scope)?.to_string(), Some("application/json"))
    } else if let Some(form) = &h.spec.form {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            s.append_pair(k, &crate::flow::template::as_text(&render_value(v, scope)?));
        }
        (s.finish(), Some("application/x-www-form-urlencoded"))
    } else if let Some(raw) = &h.spec.raw {
        (render_text(raw, scope)?, None)
    } else {
        (String::new(), None)
    };
    let has_ct = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    Ok((url, headers, body, if has_ct { None } else { ct }))
}

pub(super) type Answer = (u16, Duration, BTreeMap<String, String>, String);

pub(super) async fn read_answer(req: reqwest::RequestBuilder) -> Result<Answer, Transport> {
    let t0 = Instant::now();
    let classify = |e: reqwest::Error| {
        if e.is_timeout() { Transport::Timeout(error_chain(&e)) } else { Transport::Connection(error_chain(&e)) }
    };
    let mut resp = req.send().await.map_err(classify)?;
    let ttfb = t0.elapsed();
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(classify)? {
        if bytes.len() + chunk.len() > MAX_BODY {
            bytes.extend_from_slice(&chunk[..MAX_BODY - bytes.len()]);
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((status, ttfb, headers, String::from_utf8_lossy(&bytes).into_owned()))
}
