//! The platform endpoints the simulator serves, and how a request path maps onto them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the platform calls the simulator implements. The lower-case names (`detail`, `update`,
/// `pause`, `resume`, `token`) are used in the journal, the counters, the fault config and the
/// command-line flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SimEndpoint {
    /// `GET /agent-api/new/user/{user_id}/task/{task_id}/edit`
    Detail,
    /// `PUT /agent-api/new/user/{user_id}/task/{task_id}`
    Update,
    /// `PUT /agent-api/new/user/{user_id}/task_stop/{task_id}`
    Pause,
    /// `PUT /agent-api/new/user/{user_id}/task_start/{task_id}`
    Resume,
    /// `GET /agent-api/token`
    Token,
    /// `POST /agent-api/new/user/{user_id}/task`
    Create,
    /// `GET /agent-api/new/user/{user_id}/task`
    List,
    /// `DELETE /agent-api/user/{user_id}/task/{task_id}` (the v1 path, the only one documented)
    Delete,
}

impl SimEndpoint {
    pub const ALL: [SimEndpoint; 8] = [
        SimEndpoint::Detail,
        SimEndpoint::Update,
        SimEndpoint::Pause,
        SimEndpoint::Resume,
        SimEndpoint::Token,
        SimEndpoint::Create,
        SimEndpoint::List,
        SimEndpoint::Delete,
    ];

    /// The endpoints that act on one task (all but the token endpoint).
    pub const TASK: [SimEndpoint; 4] = [
        SimEndpoint::Detail,
        SimEndpoint::Update,
        SimEndpoint::Pause,
        SimEndpoint::Resume,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SimEndpoint::Detail => "detail",
            SimEndpoint::Update => "update",
            SimEndpoint::Pause => "pause",
            SimEndpoint::Resume => "resume",
            SimEndpoint::Token => "token",
            SimEndpoint::Create => "create",
            SimEndpoint::List => "list",
            SimEndpoint::Delete => "delete",
        }
    }

    /// Whether the call addresses one task (its path carries a task id).
    pub fn has_task_id(self) -> bool {
        !matches!(self, SimEndpoint::Token | SimEndpoint::Create | SimEndpoint::List)
    }

    /// The HTTP method the platform expects for this endpoint.
    pub fn method(self) -> &'static str {
        match self {
            SimEndpoint::Detail | SimEndpoint::Token | SimEndpoint::List => "GET",
            SimEndpoint::Update | SimEndpoint::Pause | SimEndpoint::Resume => "PUT",
            SimEndpoint::Create => "POST",
            SimEndpoint::Delete => "DELETE",
        }
    }
}

impl fmt::Display for SimEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SimEndpoint {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        SimEndpoint::ALL
            .into_iter()
            .find(|endpoint| endpoint.as_str() == name)
            .ok_or_else(|| {
                format!(
                    "unknown endpoint {name:?} (expected detail, update, pause, resume, token, create, list or delete)"
                )
            })
    }
}

/// The result of matching a request path against the platform's routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// The path and method name a known endpoint.
    Matched {
        endpoint: SimEndpoint,
        /// `(user_id, task_id)`, the task id empty for create and list; `None` for the token
        /// endpoint.
        task: Option<(String, String)>,
    },
    /// The path names a known endpoint but the method is wrong (Laravel answers 405).
    WrongMethod { endpoint: SimEndpoint },
    /// No platform route has this path.
    Unknown,
}

/// Matches a path (without query) and method against the platform's routes.
pub(crate) fn route(method: &str, path: &str) -> Route {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (endpoint, task) = match segments.as_slice() {
        ["agent-api", "token"] => (SimEndpoint::Token, None),
        ["agent-api", "new", "user", user_id, "task", task_id, "edit"] => {
            (SimEndpoint::Detail, Some((*user_id, *task_id)))
        }
        ["agent-api", "new", "user", user_id, "task", task_id] => (SimEndpoint::Update, Some((*user_id, *task_id))),
        ["agent-api", "new", "user", user_id, "task_stop", task_id] => (SimEndpoint::Pause, Some((*user_id, *task_id))),
        ["agent-api", "new", "user", user_id, "task_start", task_id] => {
            (SimEndpoint::Resume, Some((*user_id, *task_id)))
        }
        // One path, two calls: the method picks (anything but POST is held against the list).
        ["agent-api", "new", "user", user_id, "task"] if method.eq_ignore_ascii_case("POST") => {
            (SimEndpoint::Create, Some((*user_id, "")))
        }
        ["agent-api", "new", "user", user_id, "task"] => (SimEndpoint::List, Some((*user_id, ""))),
        ["agent-api", "user", user_id, "task", task_id] => (SimEndpoint::Delete, Some((*user_id, *task_id))),
        _ => return Route::Unknown,
    };
    if let Some((user_id, task_id)) = task
        && (user_id.is_empty() || (task_id.is_empty() && endpoint.has_task_id()))
    {
        return Route::Unknown;
    }
    if !method.eq_ignore_ascii_case(endpoint.method()) {
        return Route::WrongMethod { endpoint };
    }
    Route::Matched {
        endpoint,
        task: task.map(|(user_id, task_id)| (user_id.to_owned(), task_id.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_platform_path() {
        let matched = |method, path| match route(method, path) {
            Route::Matched { endpoint, task } => Some((endpoint, task)),
            _ => None,
        };
        let ids = Some(("u".to_owned(), "t".to_owned()));
        assert_eq!(
            matched("GET", "/agent-api/new/user/u/task/t/edit"),
            Some((SimEndpoint::Detail, ids.clone()))
        );
        assert_eq!(
            matched("PUT", "/agent-api/new/user/u/task/t"),
            Some((SimEndpoint::Update, ids.clone()))
        );
        assert_eq!(
            matched("PUT", "/agent-api/new/user/u/task_stop/t"),
            Some((SimEndpoint::Pause, ids.clone()))
        );
        assert_eq!(
            matched("PUT", "/agent-api/new/user/u/task_start/t"),
            Some((SimEndpoint::Resume, ids))
        );
        assert_eq!(matched("GET", "/agent-api/token"), Some((SimEndpoint::Token, None)));
        let user = Some(("u".to_owned(), String::new()));
        assert_eq!(
            matched("POST", "/agent-api/new/user/u/task"),
            Some((SimEndpoint::Create, user.clone()))
        );
        assert_eq!(
            matched("GET", "/agent-api/new/user/u/task"),
            Some((SimEndpoint::List, user))
        );
        assert_eq!(
            matched("DELETE", "/agent-api/user/u/task/t"),
            Some((SimEndpoint::Delete, Some(("u".to_owned(), "t".to_owned()))))
        );
    }

    #[test]
    fn wrong_method_and_unknown_paths_are_told_apart() {
        assert_eq!(
            route("GET", "/agent-api/new/user/u/task_stop/t"),
            Route::WrongMethod {
                endpoint: SimEndpoint::Pause
            }
        );
        assert_eq!(
            route("PUT", "/agent-api/new/user/u/task"),
            Route::WrongMethod {
                endpoint: SimEndpoint::List
            }
        );
        assert_eq!(route("GET", "/agent-api/new/user/u/tasks"), Route::Unknown);
        assert_eq!(route("GET", "/agent-api/new/user//task/t/edit"), Route::Unknown);
    }

    #[test]
    fn endpoint_names_round_trip() {
        for endpoint in SimEndpoint::ALL {
            assert_eq!(endpoint.as_str().parse::<SimEndpoint>(), Ok(endpoint));
        }
        assert!("copy".parse::<SimEndpoint>().is_err());
    }
}
