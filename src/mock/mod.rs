//! The mock WeChat service: one axum router with two faces.
//!
//! * The **server API** a backend calls, byte-compatible with
//!   `api.weixin.qq.com` (see [`server_api`]).
//! * The **client side** a flow drives in place of the Mini Program runtime,
//!   under the prefix [`CLIENT_PREFIX`], clearly not WeChat's (see
//!   [`client_api`]); it also serves the ground truth and live settings.

pub mod client_api;
pub mod rotation;
pub mod server_api;
pub mod state;

pub use rotation::{Fault, Faults, Rotation, RotationPolicy};
pub use state::{App, MockConfig, MockState, demo_app};

use std::sync::{Arc, Mutex, MutexGuard};

/// Path prefix of everything that is the mock's own, not WeChat's.
pub const CLIENT_PREFIX: &str = "/__wxflow";

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
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The whole mock as one router: server API plus client side.
pub fn app(mock: Mock) -> axum::Router {
    server_api::routes().merge(client_api::routes()).with_state(mock)
}
