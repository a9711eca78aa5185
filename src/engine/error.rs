//! Why a step failed before its answer could be judged: typed, so each
//! failure carries its cause and says where it happened.

use crate::flow::Cause;
use crate::flow::template::RenderError;
use crate::limits::Exhausted;

/// A step that could not do its work.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StepError {
    /// A template named a value that was not there at run time.
    #[error("template: {0}")]
    Render(#[from] RenderError),
    /// The mock answered a client-side request with an error.
    #[error("the mock refused {what} (HTTP {status}): {message}")]
    MockRefused { what: String, status: u16, message: String },
    /// The mock could not be reached, or answered nonsense.
    #[error("mock at {url}: {reason}")]
    MockUnreachable { url: String, reason: String },
    /// The mock answered as another instance than earlier in the iteration.
    #[error("the mock restarted during this iteration (instance {before}, then {now})")]
    MockRestarted { before: String, now: String },
}

impl StepError {
    pub fn cause(&self) -> Cause {
        match self {
            StepError::Render(_) => Cause::Template,
            StepError::MockRefused { status, .. } if *status >= 500 => Cause::MockUnavailable,
            StepError::MockRefused { .. } => Cause::Mock,
            StepError::MockUnreachable { .. } if self.exhausted().is_some() => Cause::TesterLimit,
            StepError::MockUnreachable { .. } | StepError::MockRestarted { .. } => Cause::MockUnavailable,
        }
    }

    /// The tester's own resource this error says ran out, if any.
    pub fn exhausted(&self) -> Option<Exhausted> {
        match self {
            StepError::MockUnreachable { reason, .. } => Exhausted::in_text(reason),
            _ => None,
        }
    }

    /// What the failure means, in plain words.
    pub fn diagnosis(&self) -> String {
        if let Some(x) = self.exhausted() {
            return x.diagnosis("a request to the mock");
        }
        match self {
            StepError::MockRestarted { .. } => format!("{self}: {RESTARTED}"),
            _ if self.cause() == Cause::MockUnavailable => {
                format!("{self}: {UNJUDGED}; is `wxflow mock` running there?")
            }
            _ => self.to_string(),
        }
    }
}

/// Why an iteration the mock failed says nothing about the backend.
pub const UNJUDGED: &str =
    "the mock is the tester's side of the run, so this says nothing about the backend and the iteration is not judged";

/// What a restart of the mock under an iteration means.
pub const RESTARTED: &str = "it forgot the users, codes and keys the earlier steps got (users it knew are new to it), so the backend's answer says nothing about the backend and the iteration is not judged";

impl StepError {
    /// The error when `now`, the instance a mock answer names, is not the
    /// one `before` it in this iteration.
    pub fn restart(before: Option<&str>, now: Option<&str>) -> Option<StepError> {
        match (before, now) {
            (Some(before), Some(now)) if before != now => {
                Some(StepError::MockRestarted { before: before.into(), now: now.into() })
            }
            _ => None,
        }
    }
}
