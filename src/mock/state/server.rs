//! The server API's rules on the mock's state: app credentials, access
//! tokens, jscode2session's one-use five-minute codes, checksession,
//! resetusersessionkey and phone-number codes. HTTP lives in
//! `mock::server_api`; this is the logic it calls.

use super::{App, CODE_TTL_MS, MockState, TOKEN_TTL_MS, Token, UserKey, alnum, b64, code_key};

/// A replaced access token keeps working this long.
const TOKEN_OVERLAP_MS: i64 = 5 * 60 * 1000;
/// `stable_token` force refreshes: at most one per 30 s, 20 a day.
const FORCE_REFRESH_PERIOD_MS: i64 = 30 * 1000;
const FORCE_REFRESHES_PER_DAY: usize = 20;
const DAY_MS: i64 = 86_400 * 1000;
use crate::wechat::api::{self, ApiError};

impl MockState {
    fn check_app(&self, appid: Option<&str>, secret: Option<&str>) -> Result<&App, ApiError> {
        let appid = appid.filter(|s| !s.is_empty()).ok_or(api::APPID_MISSING)?;
        let secret = secret.filter(|s| !s.is_empty()).ok_or(api::APPSECRET_MISSING)?;
        let app = self.app(appid).ok_or(api::INVALID_APPID)?;
        if app.secret != secret {
            return Err(api::INVALID_APPSECRET);
        }
        Ok(app)
    }

    /// Server API `jscode2session`: parameter checks in the real service's
    /// order, then the one-use, five-minute code rules.
    /// Notes that the backend called jscode2session with `js_code`, before
    /// faults or checks answer it: ground truth that the login reached
    /// WeChat.
    pub fn note_code_asked(&mut self, js_code: Option<&str>) {
        if let Some(code) = js_code.and_then(code_key).and_then(|k| self.codes.get_mut(&k)) {
            code.asked = true;
        }
    }

    /// Notes the errcode jscode2session answered for `js_code` (0: a session).
    pub fn note_code_answer(&mut self, js_code: Option<&str>, errcode: i64) {
        if let Some(code) = js_code.and_then(code_key).and_then(|k| self.codes.get_mut(&k)) {
            code.answered = Some(errcode);
        }
    }

    pub fn jscode2session(
        &mut self,
        appid: Option<&str>,
        secret: Option<&str>,
        js_code: Option<&str>,
    ) -> Result<api::Code2Session, ApiError> {
        let app = self.check_app(appid, secret)?;
        let unionid_bound = app.unionid;
        let app_id = app.appid.clone();
        let js_code = js_code.filter(|s| !s.is_empty()).ok_or(api::MISSING_CODE)?;
        let owner = self.code_owner(js_code).ok_or(api::INVALID_CODE)?;
        let now = self.user_now_ms(&owner);
        let user = self.users.get(&owner).ok_or(api::INVALID_CODE)?;
        if self.appid_of(user) != app_id {
            return Err(api::INVALID_CODE);
        }
        let (generation, session_key) = (user.generation, user.session_key);
        let (openid, unionid, _) = self.derive(&owner);
        let code = code_key(js_code).and_then(|k| self.codes.get_mut(&k)).ok_or(api::INVALID_CODE)?;
        if code.exchanged.is_some() {
            return Err(api::CODE_BEEN_USED);
        }
        if now - code.issued_ms > CODE_TTL_MS {
            return Err(api::INVALID_CODE);
        }
        code.exchanged = Some(generation);
        self.handed_keys.insert(session_key, ());
        Ok(api::Code2Session {
            openid: Some(openid),
            session_key: Some(b64(&session_key)),
            unionid: unionid_bound.then_some(unionid),
            errcode: None,
            errmsg: None,
        })
    }

    /// Server API `/cgi-bin/token` and `/cgi-bin/stable_token`. `/token`
    /// issues a new token on every call; `stable_token` returns the same
    /// one until it expires or `force_refresh` asks (at most once per 30 s,
    /// 20 times a day). A replaced token keeps working for five minutes,
    /// then gives 40001: two servers refreshing on their own lock each
    /// other out.
    pub fn access_token(
        &mut self,
        appid: Option<&str>,
        secret: Option<&str>,
        stable: bool,
        force_refresh: bool,
    ) -> Result<(String, i64), ApiError> {
        let appid = self.check_app(appid, secret)?.appid.clone();
        let now = self.now_ms();
        let current = if stable { self.stable_tokens.get(&appid) } else { self.latest_tokens.get(&appid) }.cloned();
        let left = current
            .as_ref()
            .and_then(|t| self.tokens.get(t))
            .map(|tok| tok.expires_ms - now - self.token_skew_ms(&appid, tok.issued, None));
        if stable
            && !force_refresh
            && let (Some(t), Some(left)) = (&current, left.filter(|ms| *ms > 0))
        {
            return Ok((t.clone(), left / 1000));
        }
        if stable && force_refresh {
            let times = self.force_refreshes.entry(appid.clone()).or_default();
            times.retain(|t| now - t < DAY_MS);
            if times.last().is_some_and(|t| now - t < FORCE_REFRESH_PERIOD_MS) || times.len() >= FORCE_REFRESHES_PER_DAY
            {
                return Err(api::API_FREQ_OUT_OF_LIMIT);
            }
            times.push(now);
        }
        if let Some(old) = current.as_ref().and_then(|t| self.tokens.get_mut(t))
            && old.expires_ms > now + TOKEN_OVERLAP_MS
        {
            old.expires_ms = now + TOKEN_OVERLAP_MS;
            old.retired = true;
        }
        let token = format!("{}_{}", self.rid().replace('-', ""), alnum(&mut self.rng, 96));
        let issued = self.moment();
        let fresh = Token { appid: appid.clone(), issued, expires_ms: now + TOKEN_TTL_MS, retired: false };
        self.tokens.insert(token.clone(), fresh);
        let latest = if stable { &mut self.stable_tokens } else { &mut self.latest_tokens };
        latest.insert(appid, token.clone());
        Ok((token, TOKEN_TTL_MS / 1000))
    }

    /// Checks an `access_token` query parameter, used on behalf of `user`
    /// (whose clock it ages with); returns its appid.
    pub fn check_token(&self, token: Option<&str>, user: Option<&UserKey>) -> Result<String, ApiError> {
        let token = token.filter(|s| !s.is_empty()).ok_or(api::ACCESS_TOKEN_MISSING)?;
        let t = self.tokens.get(&token.to_string()).ok_or(api::INVALID_CREDENTIAL)?;
        if t.expires_ms <= self.now_ms() + self.token_skew_ms(&t.appid, t.issued, user) {
            // Replaced tokens die early (40001); the rest expire (42001).
            return Err(if t.retired { api::INVALID_CREDENTIAL } else { api::ACCESS_TOKEN_EXPIRED });
        }
        Ok(t.appid.clone())
    }

    fn openid_user(&self, openid: Option<&str>) -> Option<&UserKey> {
        openid.and_then(|o| o.as_bytes().try_into().ok()).and_then(|k: [u8; 28]| self.openids.get(&k))
    }

    /// The user behind `openid`, checked with the token used for them.
    fn user_by_openid(&self, token: Option<&str>, openid: Option<&str>) -> Result<UserKey, ApiError> {
        let key = self.openid_user(openid).cloned();
        let appid = self.check_token(token, key.as_ref())?;
        key.filter(|k| self.users.get(k).is_some_and(|u| self.appid_of(u) == appid)).ok_or(api::INVALID_OPENID)
    }

    fn check_user_signature(
        &self,
        key: &UserKey,
        signature: Option<&str>,
        sig_method: Option<&str>,
    ) -> Result<(), ApiError> {
        if sig_method != Some("hmac_sha256") {
            return Err(api::INVALID_SIG_METHOD);
        }
        let u = self.users.get(key).ok_or(api::INVALID_OPENID)?;
        let expected = crate::wechat::hmac_sha256_hex(b64(&u.session_key).as_bytes(), b"");
        if signature != Some(expected.as_str()) {
            return Err(api::INVALID_SIGNATURE);
        }
        Ok(())
    }

    /// Server API `/wxa/checksession`.
    pub fn server_check_session(
        &self,
        token: Option<&str>,
        openid: Option<&str>,
        signature: Option<&str>,
        sig_method: Option<&str>,
    ) -> Result<(), ApiError> {
        let key = self.user_by_openid(token, openid)?;
        self.check_user_signature(&key, signature, sig_method)
    }

    /// Server API `/wxa/resetusersessionkey`: rotates the key server-side.
    pub fn reset_session_key(
        &mut self,
        token: Option<&str>,
        openid: Option<&str>,
        signature: Option<&str>,
        sig_method: Option<&str>,
    ) -> Result<(String, String), ApiError> {
        let key = self.user_by_openid(token, openid)?;
        self.check_user_signature(&key, signature, sig_method)?;
        let now = self.user_now_ms(&key);
        let mut rng = self.user_rng(&key);
        let (openid, _, _) = self.derive(&key);
        let u = self.users.get_mut(&key).ok_or(api::INVALID_OPENID)?;
        u.refresh_key(&mut rng, now);
        let session_key = u.session_key;
        self.handed_keys.insert(session_key, ());
        Ok((openid, b64(&session_key)))
    }

    /// Server API `getuserphonenumber`: exchanges a one-use phone code.
    pub fn exchange_phone_code(
        &mut self,
        token: Option<&str>,
        code: Option<&str>,
    ) -> Result<(String, String), ApiError> {
        let code = code.filter(|c| !c.is_empty());
        let entry = code.and_then(|c| self.phone_codes.get(&c.to_string())).cloned();
        let appid = self.check_token(token, entry.as_ref().map(|(owner, ..)| owner))?;
        let (code, (owner, issued, used)) = code.zip(entry).ok_or(api::INVALID_CODE)?;
        let now = self.user_now_ms(&owner);
        let user = owner.split_once('/').map_or("", |(_, u)| u).to_string();
        if used || now - issued > CODE_TTL_MS || !owner.starts_with(&format!("{appid}/")) {
            return Err(api::INVALID_CODE);
        }
        if let Some(entry) = self.phone_codes.get_mut(&code.to_string()) {
            entry.2 = true;
        }
        Ok((appid, user))
    }
}
