//! How the program ends: exit codes, and the error that means "the input
//! was invalid" (exit 2).

/// Every flow met its expectation.
pub const EXIT_OK: u8 = 0;
/// Some flow did not.
pub const EXIT_FAILED: u8 = 1;
/// Invalid flags or flow files, an unwritable report, or a server that
/// could not start. (A run cut short by a signal exits 128 + its number.)
pub const EXIT_INVALID: u8 = 2;
/// Some iterations could not be judged (cause `tester_limit`: the tester's
/// own descriptors, ports or buffers ran out): the run says nothing certain
/// about the backend, whatever the judged iterations showed.
pub const EXIT_INCONCLUSIVE: u8 = 3;

/// An error that ends the command with exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);
