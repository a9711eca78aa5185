//! The mock WeChat service: one axum router with two faces.
//!
//! * The **server API** a backend calls, byte-compatible with
//!   `api.weixin.qq.com` (see [`server_api`]).
//! * The **client side** a flow drives in place of the Mini Program runtime,
//!   under the prefix [`CLIENT_PREFIX`](crate::contract::CLIENT_PREFIX), clearly not WeChat's (see
//!   [`client_api`]); it also serves the ground truth and live settings.
//!
//! Its own API's wire types live in [`crate::contract`]; from outside, the
//! mock is [`Mock`], [`MockConfig`] and [`app`].

pub mod client_api;
pub mod server_api;
pub mod state;

pub use state::{App, MockConfig, MockState, demo_app};

use crate::contract::{GroundTruth, TruthQuery, Truths};
use futures::future::BoxFuture;
use std::sync::{Arc, Mutex, MutexGuard};

/// A handle on the mock's shared state; cheap to clone.
#[derive(Clone)]
pub struct Mock(Arc<Mutex<MockState>>);

impl Mock {
    pub fn new(config: MockConfig) -> Self {
        Mock(Arc::new(Mutex::new(MockState::new(config))))
    }

    /// Locks the state. A panic while holding the lock cannot leave it half
    /// written in a way later requests care about, so poisoning is ignored.
    pub fn state(&self) -> MutexGuard<'_, MockState> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Mock {
    /// The truth about every code and iv of a query, under one lock.
    pub fn truths(&self, q: &TruthQuery) -> Truths {
        let s = self.state();
        Truths {
            codes: q.codes.iter().map(|c| s.code_truth(c)).collect(),
            ivs: q.ivs.iter().map(|iv| s.iv_truth(iv)).collect(),
            requests: 0,
            instance: Some(s.instance.clone()),
        }
    }
}

/// The embedded mock answers ground truth in-process, without HTTP.
impl GroundTruth for Mock {
    fn lookup<'a>(&'a self, query: &'a TruthQuery) -> BoxFuture<'a, Truths> {
        Box::pin(std::future::ready(self.truths(query)))
    }

    fn over_http(&self) -> bool {
        false
    }

    fn handed_out<'a>(&'a self, candidates: &'a [String]) -> BoxFuture<'a, Option<Vec<bool>>> {
        let s = self.state();
        Box::pin(std::future::ready(Some(candidates.iter().map(|c| s.handed_out(c)).collect())))
    }
}

/// The largest request body the mock reads: WeChat's own are tiny.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The whole mock as one router: server API plus client side.
pub fn app(mock: Mock) -> axum::Router {
    server_api::routes()
        .merge(client_api::routes())
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(mock)
}
