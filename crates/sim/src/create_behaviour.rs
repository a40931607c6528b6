//! How create and list behave on the simulated platform (part of the fault config: the create
//! answer's shape, the list's lag behind a create, a lost or held create answer, the run state of
//! a new task). The platform documents none of the answers: every behaviour here is configurable
//! so the operator can be tested against each guess.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::run_state::{STATUS_PAUSED, STATUS_WAITING};

/// `create_datetime` of fixture tasks and of tasks put through the admin API: long ago.
pub const FIXTURE_CREATE_DATETIME: &str = "2024-12-20 10:00:00";

/// What a successful create answers in `data`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CreateAnswer {
    /// `data` is the new task's id (a string).
    #[default]
    Id,
    /// `data: ""`, as the update answers: the id must be found through the list.
    Empty,
    /// `data` is an object `{uuid, name}`.
    Object,
}

/// How create and list behave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreateBehaviour {
    pub answer: CreateAnswer,
    /// A created task shows in the list only this many seconds after its create.
    pub list_lag_secs: f64,
    /// Creates are performed (the task is made) but answered HTTP 502, as when a gateway loses
    /// the answer.
    pub lose_response: bool,
    /// Creates are performed, then their answer is held this long (to kill a client mid-create).
    pub hold_response_secs: f64,
    /// Run state of a new task (1 paused, 2 running, 3 waiting).
    pub initial_status: u8,
}

impl Default for CreateBehaviour {
    fn default() -> Self {
        CreateBehaviour {
            answer: CreateAnswer::Id,
            list_lag_secs: 0.0,
            lose_response: false,
            hold_response_secs: 0.0,
            initial_status: STATUS_PAUSED,
        }
    }
}

impl CreateBehaviour {
    pub fn validate(&self) -> Result<(), String> {
        for (name, secs) in [
            ("list_lag_secs", self.list_lag_secs),
            ("hold_response_secs", self.hold_response_secs),
        ] {
            if !(secs.is_finite() && secs >= 0.0) {
                return Err(format!("create.{name} {secs} must be zero or positive"));
            }
        }
        if !(STATUS_PAUSED..=STATUS_WAITING).contains(&self.initial_status) {
            return Err(format!(
                "create.initial_status {} is not 1, 2 or 3",
                self.initial_status
            ));
        }
        Ok(())
    }

    pub fn hold(&self) -> Duration {
        Duration::from_secs_f64(self.hold_response_secs)
    }

    /// The `data` of a successful create of task `id` named `name`.
    pub fn answer_data(&self, id: &str, name: &str) -> Value {
        match self.answer {
            CreateAnswer::Id => json!(id),
            CreateAnswer::Empty => json!(""),
            CreateAnswer::Object => json!({"uuid": id, "name": name}),
        }
    }
}
