//! wxflow: finds login bugs in WeChat Mini Programs.
//!
//! The pieces: [`wechat`] (protocol crypto and wire types), [`mock`] (a mock
//! WeChat service, server API and client side), [`backend`] (a correct
//! reference login server), [`serve`] (binding them), [`cli`] and
//! [`commands`] (the `wxflow` binary's surface).

pub mod backend;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod flow;
pub mod load;
pub mod mock;
pub mod report;
pub mod run;
pub mod serve;
pub mod stats;
pub mod tui;
pub mod wechat;
