//! The WeChat server API's errcodes, errmsgs and response shapes, as the
//! real service sends them (HTTP 200 with `{"errcode","errmsg"}` on error).

use serde::{Deserialize, Serialize};

/// A WeChat server API error: the errcode and its errmsg (without the
/// request-id suffix the service appends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiError {
    pub errcode: i64,
    pub errmsg: &'static str,
}

macro_rules! errcodes {
    ($($name:ident = $code:expr, $msg:expr;)*) => {
        $(pub const $name: ApiError = ApiError { errcode: $code, errmsg: $msg };)*
        /// Every errcode the mock can send, for lookups by number.
        pub const ALL: &[ApiError] = &[$($name),*];

        /// The error the mock sends with `errcode`.
        pub fn by_errcode(errcode: i64) -> Option<ApiError> {
            ALL.iter().find(|e| e.errcode == errcode).copied()
        }
    };
}

errcodes! {
    SYSTEM_ERROR = -1, "system error";
    INVALID_CREDENTIAL = 40001, "invalid credential, access_token is invalid or not latest";
    INVALID_GRANT_TYPE = 40002, "invalid grant_type";
    INVALID_OPENID = 40003, "invalid openid";
    INVALID_APPID = 40013, "invalid appid";
    INVALID_CODE = 40029, "invalid code";
    INVALID_APPSECRET = 40125, "invalid appsecret";
    CODE_BEEN_USED = 40163, "code been used";
    CODE_BLOCKED = 40226, "code blocked";
    APPID_MISSING = 41002, "appid missing";
    APPSECRET_MISSING = 41004, "appsecret missing";
    MISSING_CODE = 41008, "missing code";
    ACCESS_TOKEN_MISSING = 41001, "access_token missing";
    ACCESS_TOKEN_EXPIRED = 42001, "access_token expired";
    DATA_FORMAT_ERROR = 47001, "data format error";
    MINUTE_QUOTA = 45011, "api minute-quota reach limit mustslower retry next minute";
    API_FREQ_OUT_OF_LIMIT = 45009, "reach max api daily quota limit";
    REQUIRE_GET_METHOD = 43001, "require GET method";
    REQUIRE_POST_METHOD = 43002, "require POST method";
    INVALID_SIG_METHOD = 87008, "invalid sig_method";
    INVALID_SIGNATURE = 87009, "invalid signature";
}

impl ApiError {
    /// The errmsg as WeChat writes it for this code, with the request id:
    /// most end `, rid: …`; 40001 has a long text and no comma; 40125 and
    /// 40013 end with a `hint: [...]`.
    pub fn errmsg_with(&self, rid: &str) -> String {
        match self.errcode {
            40001 => format!(
                "invalid credential, access_token is invalid or not latest, could get access_token by getStableAccessToken, more details at https://mmbizurl.cn/s/JtxxFh33r rid: {rid}"
            ),
            40125 => format!("invalid appsecret, view more at http://t.cn/RAEkdVq hint: [{rid}]"),
            40013 => format!("invalid appid hint: [{rid}]"),
            _ => format!("{}, rid: {rid}", self.errmsg),
        }
    }

    /// Looks up an errcode the mock knows.
    pub fn from_code(code: i64) -> Option<ApiError> {
        ALL.iter().copied().find(|e| e.errcode == code)
    }
}

/// What `/sns/jscode2session` returns. Real successes usually omit
/// `errcode`; errors carry it with HTTP 200. Clients must accept both.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Code2Session {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errcode: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errmsg: Option<String>,
}
