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
}

impl StepError {
    pub fn cause(&self) -> Cause {
        match self {
            StepError::Render(_) => Cause::Template,
            StepError::MockRefused { .. } => Cause::Mock,
            StepError::MockUnreachable { .. } if self.exhausted().is_some() => Cause::TesterLimit,
            StepError::MockUnreachable { .. } => Cause::Connection,
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
        match self.exhausted() {
            Some(x) => x.diagnosis("a request to the mock"),
            None => self.to_string(),
        }
    }
}
