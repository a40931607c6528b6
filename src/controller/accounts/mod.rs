//! What the operator keeps per account (OutboundAccount): the token read from its Secret, the
//! places of `maxPaused` its campaigns hold, how long its pauses take to settle (as learned), and
//! the Ready condition its status reports.

pub mod credentials;
pub mod pause_slots;
pub mod settle_times;
pub mod tokens;
