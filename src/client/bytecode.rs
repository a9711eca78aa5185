//! Scripts compiled once and run in many contexts: QuickJS's bytecode,
//! through its C API (rquickjs offers it for modules only, and a module is
//! strict, which the sloppy code of many Mini Programs is not).

use rquickjs::{Ctx, Error, Result, Value, qjs};
use std::ffi::CString;

/// Compiles `source`, a script named `file`, to bytecode. A syntax error is
/// left pending in `ctx` as the exception it is.
pub fn compile(ctx: &Ctx<'_>, source: &str, file: &str) -> Result<Vec<u8>> {
    let src = CString::new(source)?;
    let name = CString::new(file)?;
    let raw = ctx.as_raw().as_ptr();
    let flags = (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY).cast_signed();
    // SAFETY: `raw` is this live context, the strings outlive the call, and
    // every value made here is freed here or handed on exactly once.
    unsafe {
        qjs::JS_UpdateStackTop(qjs::JS_GetRuntime(raw));
        let function = qjs::JS_Eval(raw, src.as_ptr(), source.len() as _, name.as_ptr(), flags);
        if qjs::JS_IsException(function) {
            return Err(Error::Exception);
        }
        let mut size = 0;
        let buf = qjs::JS_WriteObject(raw, &raw mut size, function, qjs::JS_WRITE_OBJ_BYTECODE.cast_signed());
        qjs::JS_FreeValue(raw, function);
        if buf.is_null() {
            return Err(Error::Exception);
        }
        let bytes = std::slice::from_raw_parts(buf, size as usize).to_vec();
        qjs::js_free(raw, buf.cast());
        Ok(bytes)
    }
}

/// Runs bytecode from [`compile`] (of this build) in `ctx`: the script's
/// completion value.
pub fn run<'js>(ctx: &Ctx<'js>, bytecode: &[u8]) -> Result<Value<'js>> {
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: the bytes come from `compile` in this process (the same
    // QuickJS build), JS_ReadObject copies them, and JS_EvalFunction takes
    // the function it is given.
    unsafe {
        qjs::JS_UpdateStackTop(qjs::JS_GetRuntime(raw));
        let function =
            qjs::JS_ReadObject(raw, bytecode.as_ptr(), bytecode.len() as _, qjs::JS_READ_OBJ_BYTECODE.cast_signed());
        if qjs::JS_IsException(function) {
            return Err(Error::Exception);
        }
        let value = qjs::JS_EvalFunction(raw, function);
        if qjs::JS_IsException(value) {
            return Err(Error::Exception);
        }
        Ok(Value::from_raw(ctx.clone(), value))
    }
}
