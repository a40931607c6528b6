//! Run state of a task, as the platform numbers it (`status` in its answers).

pub const STATUS_PAUSED: u8 = 1;
pub const STATUS_RUNNING: u8 = 2;
pub const STATUS_WAITING: u8 = 3;
