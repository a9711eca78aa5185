//! The client-side steps: `wx.*` calls and sleeps on the mock's clock,
//! spoken in the mock's contract.

use super::{
    Basis, Engine, Exchange, Executed, Freshness, Outcome, PayloadUse, Produced, StepError, StepNote, StepResult, ms,
};
use crate::contract::{CLIENT_PREFIX, ClientRequest, ClientTruth, ClockUpdate};
use crate::flow::Flow;
use crate::flow::model::{SleepClock, WxApi, WxArgs};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

impl Engine {
    /// POSTs `body` (JSON) to the mock's client side; answers the JSON and
    /// its text. An error status is a refusal.
    async fn post_mock(&self, path: &str, what: &str, body: String) -> Result<(Value, String), StepError> {
        let unreachable =
            |reason: String| StepError::MockUnreachable { url: format!("{}{path}", self.mock_url), reason };
        let answer = self.mock.post_json(path, body, Duration::from_secs(10)).await;
        let (status, bytes) = answer.map_err(unreachable)?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let v: Value = serde_json::from_str(&text).map_err(|e| unreachable(format!("answered non-JSON: {e}")))?;
        if status != 200 {
            let message = v["error"].as_str().map_or_else(|| v.to_string(), String::from);
            return Err(StepError::MockRefused { what: what.into(), status, message });
        }
        Ok((v, text))
    }

    pub(super) async fn wx(
        &self,
        flow: &Flow,
        r: StepResult,
        api: WxApi,
        args: &WxArgs,
        user: &str,
        produced: &mut Vec<Produced>,
    ) -> Executed {
        let id = r.id.clone();
        let login = api == WxApi::Login;
        let request = ClientRequest {
            appid: self.appid.clone(),
            user: user.into(),
            rotation: if login { self.rotation().or(flow.mock.rotation) } else { None },
            faults: if login { flow.mock.faults.clone() } else { None },
            watermark_appid: args.watermark_appid.clone(),
            mode: args.mode,
            ensure_plus: args.ensure_plus,
            truth: None,
        };
        let path = format!("{CLIENT_PREFIX}/client/{}", api.route());
        let request_body = serde_json::to_string(&request).unwrap_or_default();
        // Other iterations' ground-truth lookups ride along; the exchange
        // keeps this step's own request and answer.
        let riders = self.truth.riders();
        let sent = match &riders {
            Some(r) => {
                serde_json::to_string(&ClientRequest { truth: Some(r.query().clone()), ..request }).unwrap_or_default()
            }
            None => request_body.clone(),
        };
        let t0 = Instant::now();
        let answer = self.post_mock(&path, api.name(), sent).await;
        let mut r = StepResult { http_requests: 1, duration_ms: ms(t0.elapsed()), ..r };
        let url = format!("{}{path}", self.mock_url);
        let mut exchange = Exchange { method: "POST".into(), url, request_body, ..Exchange::default() };
        let mut v = match answer {
            Ok((mut v, text)) => {
                exchange.status = Some(200);
                exchange.response_body = match riders {
                    Some(riders) => {
                        let truths = v["wxflow"].as_object_mut().and_then(|w| w.remove("truths"));
                        riders.answer(truths.and_then(|t| serde_json::from_value(t).ok()));
                        v.to_string()
                    }
                    None => text,
                };
                r.exchange = Some(exchange);
                v
            }
            Err(e) => {
                if let Some(riders) = riders {
                    riders.answer(None);
                }
                if let StepError::MockRefused { status, message, .. } = &e {
                    exchange.status = Some(*status);
                    exchange.response_body.clone_from(message);
                }
                r.exchange = Some(exchange);
                return r.failed_with(e).into();
            }
        };
        // The mock's truth becomes plain result fields for templates.
        let truth: ClientTruth = v
            .as_object_mut()
            .and_then(|o| o.remove("wxflow"))
            .and_then(|t| serde_json::from_value(t).ok())
            .unwrap_or_default();
        let before = produced.iter().find_map(|p| p.instance.as_deref());
        if let Some(e) = StepError::restart(before, truth.instance.as_deref()) {
            return r.failed_with(e).into();
        }
        if let Some(g) = truth.generation {
            v["generation"] = json!(g);
        }
        if let Some(rotated) = truth.rotated {
            v["rotated"] = json!(rotated);
            if let (true, Some(generation)) = (rotated, truth.generation) {
                r.note = Some(StepNote::Rotated { generation });
            }
        }
        if api == WxApi::CheckSession {
            v["valid"] = json!(v["errMsg"].as_str().is_some_and(|m| m.ends_with(":ok")));
        }
        let iv = v["iv"].as_str().map(String::from);
        let has_plus = [&v["iv"], &v["encryptedData"]].iter().any(|x| x.as_str().is_some_and(|s| s.contains('+')));
        if let Some(iv) = &iv {
            r.payloads.push(PayloadUse {
                from_step: id.clone(),
                iv: iv.clone(),
                sealed_generation: truth.generation,
                against_generation: truth.generation,
                basis: Basis::CurrentKey,
                age_ms: 0.0,
                freshness: Freshness::Fresh,
                has_plus,
                plus_unencoded: false,
            });
        }
        produced.push(Produced {
            step: id,
            iv,
            has_plus,
            code: v["code"].as_str().map(String::from),
            login,
            generation: truth.generation,
            at: Instant::now(),
            instance: truth.instance,
        });
        r.outcome = Outcome::Pass;
        Executed { value: Some(v), ..r.into() }
    }

    pub(super) async fn sleep(&self, r: StepResult, d: Duration, clock: SleepClock, user: &str) -> StepResult {
        let t0 = Instant::now();
        let r = match clock {
            SleepClock::Real => {
                // A zero sleep is a no-op, not a wait for the timer's next tick.
                if !d.is_zero() {
                    tokio::time::sleep(d).await;
                }
                StepResult { outcome: Outcome::Pass, ..r }
            }
            SleepClock::Mock => {
                let update =
                    ClockUpdate { advance_secs: d.as_secs_f64(), appid: self.appid.clone(), user: Some(user.into()) };
                let body = serde_json::to_string(&update).unwrap_or_default();
                match self.post_mock(&format!("{CLIENT_PREFIX}/clock"), "to move its clock", body).await {
                    Ok(_) => StepResult {
                        outcome: Outcome::Pass,
                        note: Some(StepNote::MockClockAdvanced { secs: d.as_secs_f64() }),
                        ..r
                    },
                    Err(e) => r.failed_with(e),
                }
            }
        };
        StepResult { duration_ms: ms(t0.elapsed()), ..r }
    }
}
