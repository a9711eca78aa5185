//! The mock WeChat service's state and rules, without HTTP: apps, users and
//! their session_key generations, one-time codes, access tokens, and the
//! ledger of every payload sealed (the ground truth for iv freshness).
//!
//! Randomness that decides outcomes (keys, ivs, codes, rotation draws) comes
//! from a stream per (seed, appid, user), so a user's outcome never depends
//! on other users' requests. Every table is bounded (oldest entry evicted),
//! so a run of millions of logins keeps constant memory.

mod bounded;
mod server;
mod truth;

pub use bounded::Bounded;

use crate::contract::{Fault, Faults, Rotation, RotationPolicy};
use crate::wechat::api::ApiError;
use crate::wechat::crypto::b64;
use rand::{RngExt, SeedableRng, rngs::ChaCha8Rng};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

pub use crate::contract::CODE_TTL_MS;
/// An access token lives two hours.
pub const TOKEN_TTL_MS: i64 = 7200 * 1000;
/// How many users, codes and sealed payloads the mock remembers; the oldest
/// are forgotten past it (a long run keeps constant memory).
pub const TABLE_CAP: usize = 50_000;

/// A Mini Program registered with the mock.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct App {
    pub appid: String,
    pub secret: String,
    /// Bound to an Open Platform account: jscode2session returns `unionid`.
    #[serde(default)]
    pub unionid: bool,
}

/// The documented demo app every shipped flow uses by default.
pub fn demo_app() -> App {
    App { appid: DEMO_APPID.into(), secret: DEMO_SECRET.into(), unionid: true }
}
pub const DEMO_APPID: &str = "wx5e1f0c2b9a7d3e11";
pub const DEMO_SECRET: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";

/// Settings the mock starts with.
#[derive(Debug, Clone)]
pub struct MockConfig {
    pub seed: u64,
    pub apps: Vec<App>,
    pub rotation: Rotation,
    pub faults: Faults,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            seed: 0,
            apps: vec![demo_app()],
            rotation: Rotation::policy(RotationPolicy::Never),
            faults: Faults::new(),
        }
    }
}

/// One virtual user of one app, kept small: a long run holds up to
/// [`TABLE_CAP`] of them. openid and unionid are derived from the seed on
/// demand.
#[derive(Debug)]
struct User {
    /// Index into the mock's apps.
    app: u16,
    session_key: [u8; 16],
    generation: u32,
    key_issued_ms: i64,
    last_refresh_ms: Option<i64>,
    logins: u64,
    /// Draws taken from this user's random stream so far.
    draws: u64,
    clock_offset_ms: i64,
    /// When (in [`MockState::moment`]s) a flow last moved this user's clock.
    moved: u64,
    rotation: Option<Rotation>,
    faults: Option<Box<Faults>>,
}

impl User {
    /// A new session_key: the old one stops working.
    fn refresh_key(&mut self, rng: &mut ChaCha8Rng, now_ms: i64) {
        self.session_key = rng.random();
        self.generation += 1;
        self.key_issued_ms = now_ms;
        self.last_refresh_ms = Some(now_ms);
    }
}

type UserKey = Arc<str>;
/// A login code: `0` and 31 alphanumerics.
type CodeKey = [u8; 32];
/// An iv, decoded.
type IvKey = [u8; 16];

fn code_key(code: &str) -> Option<CodeKey> {
    code.as_bytes().try_into().ok()
}

fn iv_key(iv: &str) -> Option<IvKey> {
    crate::wechat::crypto::b64_decode16(iv)
}

#[derive(Debug)]
struct Code {
    user: UserKey,
    issued_ms: i64,
    generation: u32,
    exchanged: Option<u32>,
    /// The backend called jscode2session with it, whatever the answer.
    asked: bool,
    /// The errcode the last exchange of it was answered (0: a session).
    answered: Option<i64>,
}

/// What the ledger keeps per sealed payload.
#[derive(Debug)]
struct Sealing {
    user: UserKey,
    api: &'static str,
    generation: u32,
    sealed_ms: i64,
}

/// The outcome of a client-side `wx.login`.
#[derive(Debug, Clone, Serialize)]
pub struct LoginOutcome {
    pub code: String,
    pub generation: u32,
    pub rotated: bool,
    pub logins: u64,
}

/// A payload sealed for the client side (getUserInfo and siblings).
#[derive(Debug, Clone)]
pub struct Sealed {
    pub encrypted_data: String,
    pub iv: String,
    /// The key that sealed it, for the client side's `signature`.
    pub session_key: String,
    pub generation: u32,
}

#[derive(Debug)]
struct Token {
    appid: String,
    /// When it was issued, in [`MockState::moment`]s.
    issued: u64,
    expires_ms: i64,
    /// A newer token replaced it: past its (shortened) expiry it is
    /// invalid (40001), not expired (42001).
    retired: bool,
}

/// All mutable state of the mock. Wrapped in a mutex by [`super::Mock`].
#[derive(Debug)]
pub struct MockState {
    pub seed: u64,
    /// New at every start (not seeded): see [`crate::contract::Identity`].
    pub instance: String,
    pub apps: Vec<App>,
    pub rotation: Rotation,
    pub faults: Faults,
    pub clock_offset_ms: i64,
    users: Bounded<UserKey, User>,
    /// session_keys handed to backends (jscode2session, resetusersessionkey):
    /// one found in a backend's answer to its client has leaked.
    handed_keys: Bounded<[u8; 16], ()>,
    openids: Bounded<[u8; 28], UserKey>,
    codes: Bounded<CodeKey, Code>,
    phone_codes: Bounded<String, (UserKey, i64, bool)>,
    payloads: Bounded<IvKey, Sealing>,
    tokens: Bounded<String, Token>,
    /// Per app: the latest `/cgi-bin/token` and `stable_token` tokens, and
    /// the force refreshes of `stable_token` (times, for its limits).
    latest_tokens: HashMap<String, String>,
    stable_tokens: HashMap<String, String>,
    force_refreshes: HashMap<String, Vec<i64>>,
    /// Per app: the last user clock move (`sleep {clock: mock}`), when (in
    /// moments) and the user's offset after it (see [`MockState::token_skew_ms`]).
    app_moves: HashMap<String, (u64, i64)>,
    /// Moments so far: orders token issues and clock moves.
    moments: u64,
    /// Non-outcome randomness (tokens, request ids, fault draws).
    rng: ChaCha8Rng,
}

/// FNV-1a: a hash that is stable across Rust versions, for seeding streams.
fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain(&[0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn alnum(rng: &mut ChaCha8Rng, len: usize) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..len).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl MockState {
    pub fn new(config: MockConfig) -> Self {
        MockState {
            seed: config.seed,
            instance: format!("{:016x}", rand::random::<u64>()),
            apps: config.apps,
            rotation: config.rotation,
            faults: config.faults,
            clock_offset_ms: 0,
            users: Bounded::new(TABLE_CAP),
            handed_keys: Bounded::new(TABLE_CAP),
            openids: Bounded::new(TABLE_CAP),
            codes: Bounded::new(TABLE_CAP),
            phone_codes: Bounded::new(10_000),
            payloads: Bounded::new(TABLE_CAP),
            tokens: Bounded::new(10_000),
            latest_tokens: HashMap::new(),
            stable_tokens: HashMap::new(),
            force_refreshes: HashMap::new(),
            app_moves: HashMap::new(),
            moments: 0,
            rng: ChaCha8Rng::seed_from_u64(stable_hash(&[b"mock", &config.seed.to_le_bytes()])),
        }
    }

    /// Whether `key` (base64 text) is a session_key this mock handed to a
    /// backend.
    pub fn handed_out(&self, key: &str) -> bool {
        use base64::Engine as _;
        if self.tokens.get(&key.to_string()).is_some() {
            return true;
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(key).ok();
        bytes.and_then(|b| <[u8; 16]>::try_from(b).ok()).is_some_and(|k| self.handed_keys.get(&k).is_some())
    }

    /// The mock's clock (wall clock plus the global skew), in ms.
    pub fn now_ms(&self) -> i64 {
        wall_ms() + self.clock_offset_ms
    }

    /// The next moment: orders token issues and clock moves (milliseconds
    /// cannot: a token fetched right after a move may share its millisecond).
    fn moment(&mut self) -> u64 {
        self.moments += 1;
        self.moments
    }

    /// How far ahead of the mock's clock a token issued at moment `issued`
    /// is judged: by the clock of `user` (on whose behalf it is used) or,
    /// without one, of the app's last user to move, if that clock moved
    /// after the token was issued. So a flow's `sleep {clock: mock}` expires
    /// the tokens its backend holds for it, and a token fetched after the
    /// move is fresh for it, while concurrent flows' moves leave it alone.
    fn token_skew_ms(&self, appid: &str, issued: u64, user: Option<&UserKey>) -> i64 {
        let (moved, offset) = match user.and_then(|k| self.users.get(k)) {
            Some(u) => (u.moved, u.clock_offset_ms),
            None => self.app_moves.get(appid).copied().unwrap_or_default(),
        };
        if moved > issued { offset } else { 0 }
    }

    fn user_now_ms(&self, key: &UserKey) -> i64 {
        self.now_ms() + self.users.get(key).map_or(0, |u| u.clock_offset_ms)
    }

    pub fn app(&self, appid: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.appid == appid)
    }

    /// The appid a client request names, or the mock's first app's.
    pub fn appid_or_first(&self, appid: Option<&str>) -> String {
        appid.or_else(|| self.apps.first().map(|a| a.appid.as_str())).unwrap_or_default().to_string()
    }

    /// The next random stream of a user: draw n of (seed, appid, user).
    fn user_rng(&mut self, key: &UserKey) -> ChaCha8Rng {
        let seed = self.seed;
        let user = self.users.get_mut(key).expect("user exists before drawing");
        user.draws += 1;
        ChaCha8Rng::seed_from_u64(stable_hash(&[&seed.to_le_bytes(), key.as_bytes(), &user.draws.to_le_bytes()]))
    }

    /// Looks a user up, creating them on first touch as a returning user who
    /// already holds a generation-1 session_key.
    fn user(&mut self, appid: &str, user: &str) -> Result<UserKey, String> {
        let Some(app) = self.apps.iter().position(|a| a.appid == appid) else {
            return Err(format!("unknown appid `{appid}`: the mock knows {}", self.appids().join(", ")));
        };
        let key: UserKey = format!("{appid}/{user}").into();
        if self.users.get(&key).is_none() {
            let (openid, _, session_key) = self.derive(&key);
            let now = self.now_ms();
            if let Ok(k) = openid.as_bytes().try_into() {
                self.openids.insert(k, key.clone());
            }
            self.users.insert(
                key.clone(),
                User {
                    app: app as u16,
                    session_key,
                    generation: 1,
                    key_issued_ms: now,
                    last_refresh_ms: None,
                    logins: 0,
                    draws: 0,
                    clock_offset_ms: 0,
                    moved: 0,
                    rotation: None,
                    faults: None,
                },
            );
        }
        Ok(key)
    }

    /// A user's openid, unionid and first session_key, from (seed, appid, user).
    fn derive(&self, key: &UserKey) -> (String, String, [u8; 16]) {
        let mut rng = ChaCha8Rng::seed_from_u64(stable_hash(&[&self.seed.to_le_bytes(), key.as_bytes()]));
        let openid = format!("o{}", alnum(&mut rng, 27));
        let unionid = format!("o{}", alnum(&mut rng, 27));
        (openid, unionid, rng.random())
    }

    fn appid_of(&self, u: &User) -> &str {
        self.apps.get(u.app as usize).map_or("", |a| a.appid.as_str())
    }

    pub fn appids(&self) -> Vec<String> {
        self.apps.iter().map(|a| a.appid.clone()).collect()
    }

    /// Client side `wx.login`: maybe refreshes the session_key (by the
    /// user's rotation policy), then issues a one-time code.
    pub fn login(
        &mut self,
        appid: &str,
        user: &str,
        rotation: Option<Rotation>,
        faults: Option<Faults>,
    ) -> Result<LoginOutcome, String> {
        let key = self.user(appid, user)?;
        let now = self.user_now_ms(&key);
        let mut rng = self.user_rng(&key);
        let global = self.rotation;
        let u = self.users.get_mut(&key).expect("user was just created");
        if rotation.is_some() {
            u.rotation = rotation;
        }
        if let Some(f) = faults {
            u.faults = Some(Box::new(f));
        }
        let rotation = u.rotation.unwrap_or(global);
        u.logins += 1;
        // Draw first, so the stream advances the same whether or not a
        // period or TTL rule overrides the policy.
        let drawn = match rotation.policy {
            RotationPolicy::Never => false,
            RotationPolicy::Always => true,
            RotationPolicy::Probability(p) => rng.random_bool(p),
            RotationPolicy::Every(n) => u.logins.is_multiple_of(u64::from(n)),
        };
        let expired = rotation.ttl_secs.is_some_and(|t| (now - u.key_issued_ms) as f64 > t * 1000.0);
        let too_soon =
            rotation.min_period_secs.zip(u.last_refresh_ms).is_some_and(|(p, last)| ((now - last) as f64) < p * 1000.0);
        let rotated = expired || (drawn && !too_soon);
        if rotated {
            u.refresh_key(&mut rng, now);
        }
        let code = format!("0{}", alnum(&mut rng, 31));
        let outcome = LoginOutcome { code: code.clone(), generation: u.generation, rotated, logins: u.logins };
        if let Some(k) = code_key(&code) {
            self.codes.insert(
                k,
                Code {
                    user: key,
                    issued_ms: now,
                    generation: outcome.generation,
                    exchanged: None,
                    asked: false,
                    answered: None,
                },
            );
        }
        Ok(outcome)
    }

    /// Client side: seals `plaintext` (a watermark is added) with the user's
    /// current session_key and a fresh iv, and records the ground truth.
    /// With `ensure_plus` the iv is drawn again (from the same seeded
    /// stream) until the iv or the ciphertext holds a `+`.
    pub fn seal(
        &mut self,
        appid: &str,
        user: &str,
        api: &'static str,
        mut plaintext: serde_json::Value,
        watermark_appid: Option<&str>,
        ensure_plus: bool,
    ) -> Result<Sealed, String> {
        let key = self.user(appid, user)?;
        let now = self.user_now_ms(&key);
        let mut rng = self.user_rng(&key);
        let u = self.users.get(&key).expect("user exists");
        plaintext["watermark"] = serde_json::json!({
            "timestamp": now / 1000,
            "appid": watermark_appid.unwrap_or(appid),
        });
        let body = serde_json::to_vec(&plaintext).expect("JSON values serialize");
        let (generation, session_key) = (u.generation, u.session_key);
        // Without a `+` one draw in about 5,000 (22 base64 characters of iv,
        // ~540 of ciphertext); 64 draws leave none in practice.
        let (mut iv, mut encrypted_data): (IvKey, String);
        let mut draws = 0;
        loop {
            iv = rng.random();
            encrypted_data = crate::wechat::seal(&session_key, &iv, &body);
            draws += 1;
            if !ensure_plus || draws >= 64 || encrypted_data.contains('+') || b64(&iv).contains('+') {
                break;
            }
        }
        self.payloads.insert(iv, Sealing { user: key, api, generation, sealed_ms: now });
        Ok(Sealed { encrypted_data, iv: b64(&iv), session_key: b64(&session_key), generation })
    }

    /// The user's openid and unionid, for building plaintexts before sealing.
    pub fn identity(&mut self, appid: &str, user: &str) -> Result<(String, String), String> {
        let key = self.user(appid, user)?;
        let (openid, unionid, _) = self.derive(&key);
        Ok((openid, unionid))
    }

    /// Client side `wx.checkSession`: false once the TTL has passed.
    pub fn check_session(&mut self, appid: &str, user: &str) -> Result<bool, String> {
        let key = self.user(appid, user)?;
        let now = self.user_now_ms(&key);
        let global = self.rotation;
        let u = self.users.get(&key).expect("user exists");
        let ttl = u.rotation.unwrap_or(global).ttl_secs;
        Ok(u.logins > 0 && ttl.is_none_or(|t| ((now - u.key_issued_ms) as f64) <= t * 1000.0))
    }

    /// Client side: the newer `getPhoneNumber` returns a one-time code.
    pub fn phone_code(&mut self, appid: &str, user: &str) -> Result<String, String> {
        let key = self.user(appid, user)?;
        let now = self.user_now_ms(&key);
        let code = alnum(&mut self.user_rng(&key), 64).to_lowercase();
        self.phone_codes.insert(code.clone(), (key, now, false));
        Ok(code)
    }

    /// A user's deterministic phone number.
    pub fn phone_number(&self, appid: &str, user: &str) -> String {
        let h = stable_hash(&[&self.seed.to_le_bytes(), appid.as_bytes(), user.as_bytes(), b"phone"]);
        format!("138{:08}", h % 100_000_000)
    }

    /// Moves the clock: one user's (for expiring their codes without
    /// touching other flows) or, with no user, everyone's.
    pub fn advance_clock(&mut self, target: Option<(&str, &str)>, ms: i64) -> Result<(), String> {
        /// Skews add up; past a century off the wall clock, time means nothing.
        const MAX_OFFSET_MS: i64 = 100 * 365 * 86_400 * 1000;
        let moved = |offset: &mut i64| match offset.checked_add(ms) {
            Some(new) if new.abs() <= MAX_OFFSET_MS => {
                *offset = new;
                Ok(())
            }
            _ => Err("the clock would end more than 100 years off the wall clock".to_string()),
        };
        match target {
            Some((appid, user)) => {
                let key = self.user(appid, user)?;
                let moment = self.moment();
                let u = self.users.get_mut(&key).expect("user exists");
                moved(&mut u.clock_offset_ms)?;
                u.moved = moment;
                // Tokens issued before now age with this user's clock.
                self.app_moves.insert(appid.to_string(), (moment, u.clock_offset_ms));
                Ok(())
            }
            None => moved(&mut self.clock_offset_ms),
        }
    }

    /// The fault in force for an endpoint: the user's own, else the global.
    pub fn fault_for(&self, endpoint: &str, user: Option<&UserKey>) -> Option<Fault> {
        let own = user.and_then(|k| self.users.get(k)).and_then(|u| u.faults.as_deref());
        own.unwrap_or(&self.faults).get(endpoint).copied()
    }

    /// The user a login code belongs to (for per-user faults).
    pub fn code_owner(&self, code: &str) -> Option<UserKey> {
        self.codes.get(&code_key(code)?).map(|c| c.user.clone())
    }

    /// Draws latency and whether to inject the fault's errcode.
    pub fn draw_fault(&mut self, fault: &Fault) -> (u64, Option<ApiError>) {
        let jitter = if fault.jitter_ms > 0 { self.rng.random_range(0..=fault.jitter_ms) } else { 0 };
        let hit = fault.rate > 0.0 && self.rng.random_bool(fault.rate.min(1.0));
        (fault.latency_ms + jitter, fault.errcode.filter(|_| hit).and_then(ApiError::from_code))
    }

    /// A request id for errmsg suffixes.
    pub fn rid(&mut self) -> String {
        let [a, b, c]: [u32; 3] = self.rng.random();
        format!("{a:08x}-{b:08x}-{c:08x}")
    }
}
