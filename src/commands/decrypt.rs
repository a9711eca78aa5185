//! `wxflow decrypt`: a Mini Program's encryptedData opened as WeChat's official sample does.

use crate::cli::DecryptArgs;
use crate::exit::{EXIT_FAILED, InvalidInput};
use crate::wechat;
use std::io::Read;
use std::process::ExitCode;

/// The most encryptedData `decrypt` reads: a real payload is under 2 KiB.
pub const MAX_DATA_BYTES: u64 = 1024 * 1024;

/// `--data`: the text, `-` for stdin or `@FILE`, read up to
/// [`MAX_DATA_BYTES`] bytes.
fn read_data(arg: &str) -> Result<String, InvalidInput> {
    let bad = |e: String| InvalidInput(format!("--data {arg}: {e}"));
    let mut bytes = vec![];
    let read = if arg == "-" {
        std::io::stdin().take(MAX_DATA_BYTES + 1).read_to_end(&mut bytes)
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::File::open(path).and_then(|f| f.take(MAX_DATA_BYTES + 1).read_to_end(&mut bytes))
    } else {
        bytes.extend_from_slice(arg.as_bytes());
        Ok(bytes.len())
    };
    read.map_err(|e| bad(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_DATA_BYTES {
        return Err(bad(format!("more than {MAX_DATA_BYTES} bytes; encryptedData is base64 of a few hundred bytes")));
    }
    let text = String::from_utf8(bytes).map_err(|_| bad("not text: encryptedData is base64".into()))?;
    Ok(text.trim().to_string())
}

/// `wxflow decrypt`.
pub fn decrypt(args: DecryptArgs) -> Result<ExitCode, InvalidInput> {
    let data = read_data(&args.data)?;
    match wechat::decrypt(&args.session_key, &args.iv, &data, args.appid.as_deref()) {
        Ok(value) => {
            crate::outln!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error {} {}: {e}", e.code(), e.name());
            eprintln!("hint: {}", e.explanation());
            Ok(ExitCode::from(EXIT_FAILED))
        }
    }
}
