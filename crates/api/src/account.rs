// Each `printcolumn(...)` repeats `type_ = "string"`; clippy reads that as a duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::status::AccountStatus;

/// How to reach the calling platform for one main account: base URL, main account id, and the
/// Secret holding the partner token. Every OutboundTask names one.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "outbound.dev",
    version = "v1alpha1",
    kind = "OutboundAccount",
    doc = "How to reach the calling platform for one main account: base URL, main account id, and the Secret holding the partner token.",
    namespaced,
    status = "AccountStatus",
    shortname = "oacct",
    category = "outbound",
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.baseUrl"),
    printcolumn(
        name = "READY",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "REASON",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "AGE", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct OutboundAccountSpec {
    /// Base URL of the platform's API, without the `/agent-api` path, e.g.
    /// `https://ai.api.longlonglong.cn`. `http://` is accepted for the simulator and tests.
    #[schemars(regex(pattern = super::patterns::HTTP_URL))]
    pub base_url: String,

    /// Main account id (UUID): the `{user_id}` path parameter of every task call.
    #[schemars(regex(pattern = super::patterns::UUID))]
    pub user_id: String,

    /// Secret in this namespace holding the partner Bearer token. Read again when the Secret
    /// changes or after the platform refuses the token, so rotating the Secret needs no restart;
    /// a change to it triggers the tasks that use it.
    pub token_secret_ref: SecretKeyRef,

    /// Client-side request budget shared by every task of this account.
    #[serde(default)]
    pub rate_limit: RateLimit,

    /// The most campaigns of this account the operator holds paused at once to update them (like
    /// a Deployment's `maxUnavailable`). A change to more tasks rolls through them: the others
    /// wait for a place, then read their task again. Counted from the journals in status too, so
    /// a restarted operator keeps to it. Unset: 5 × `rateLimit.requestsPerSecond`, more than the
    /// budget can keep in flight unless a pause takes over 20 s to take effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000))]
    pub max_paused: Option<u32>,

    /// Path templates of the calls, with `{user_id}` and `{task_id}` placeholders (each path of
    /// one task must contain `{task_id}`, create and list must not; no query string). The resume
    /// path is not documented by the platform (inferred from `task_stop`), and the delete path is
    /// documented for v1 tasks only: override them here when your deployment uses others.
    #[serde(default)]
    pub endpoints: Endpoints,

    /// IANA zone of the platform's naive date-times (`start_time`, `stop_time`, the list's
    /// `create_datetime`).
    #[serde(default = "default_time_zone")]
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,

    /// Timeout of one HTTP call to the platform, from sending to the end of the answer (a
    /// duration such as `10s`, at most `60s`; a new connection has its own 2 s timeout). Must be
    /// shorter than `platform.createListGrace`; the account is refused otherwise.
    #[serde(default = "default_request_timeout")]
    #[schemars(regex(pattern = super::patterns::DURATION))]
    #[x_kube(validation = kube::core::Rule::new("duration(self) <= duration('60s')").message("spec.requestTimeout must be at most 60s"))]
    pub request_timeout: String,

    /// Behaviour of the platform that its documentation leaves open, as settings.
    #[serde(default)]
    pub platform: PlatformBehaviour,
}

/// A key of a Secret in the same namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the Secret whose value is the token.
    #[serde(default = "default_token_key")]
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// A budget of requests (see `outbound_platform::ratelimit` for its exact meaning).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Sustained requests per second to the platform for this account.
    #[serde(default = "default_rps")]
    #[schemars(range(min = 1, max = 1000))]
    pub requests_per_second: u32,
    /// Calls that may go at once after an idle spell. 1 (the default): calls are spaced so that
    /// no second ever holds more than `requestsPerSecond` of them (what a platform publishing
    /// "N requests per second" enforces). B > 1 lets up to `requestsPerSecond + B - 1` calls
    /// into one second after an idle spell: only for a platform known to allow it.
    #[serde(default = "default_burst")]
    #[schemars(range(min = 1, max = 1000))]
    pub burst: u32,
}

impl OutboundAccountSpec {
    /// `maxPaused`, or its default.
    pub fn max_paused(&self) -> u32 {
        self.max_paused
            .unwrap_or_else(|| self.rate_limit.requests_per_second.max(1).saturating_mul(5))
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            requests_per_second: default_rps(),
            burst: default_burst(),
        }
    }
}

/// Path templates of the platform's task calls.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    /// GET: read a task's settings and run state.
    #[serde(default = "default_detail")]
    #[schemars(regex(pattern = r"^/[^?#\s]*\{task_id\}[^?#\s]*$"), length(max = 512))]
    pub detail: String,
    /// PUT: replace a task's settings (the task must be paused).
    #[serde(default = "default_update")]
    #[schemars(regex(pattern = r"^/[^?#\s]*\{task_id\}[^?#\s]*$"), length(max = 512))]
    pub update: String,
    /// PUT: pause (stop) a task.
    #[serde(default = "default_pause")]
    #[schemars(regex(pattern = r"^/[^?#\s]*\{task_id\}[^?#\s]*$"), length(max = 512))]
    pub pause: String,
    /// PUT: resume (start) a task. Inferred, not documented by the platform: override if needed.
    #[serde(default = "default_resume")]
    #[schemars(regex(pattern = r"^/[^?#\s]*\{task_id\}[^?#\s]*$"), length(max = 512))]
    pub resume: String,
    /// GET: check the partner token's validity.
    #[serde(default = "default_token_check")]
    #[schemars(regex(pattern = r"^/[^?#\s]*$"), length(max = 512))]
    pub token_check: String,
    /// POST: create a task (body as for the update).
    #[serde(default = "default_create")]
    #[schemars(regex(pattern = r"^/[^?#\s]*$"), length(max = 512))]
    pub create: String,
    /// GET: list tasks (`name`, `page`, `per_page` in the query).
    #[serde(default = "default_list")]
    #[schemars(regex(pattern = r"^/[^?#\s]*$"), length(max = 512))]
    pub list: String,
    /// DELETE: delete a task. Documented for v1 tasks only; unverified for 2.0 tasks.
    #[serde(default = "default_delete")]
    #[schemars(regex(pattern = r"^/[^?#\s]*\{task_id\}[^?#\s]*$"), length(max = 512))]
    pub delete: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            detail: default_detail(),
            update: default_update(),
            pause: default_pause(),
            resume: default_resume(),
            token_check: default_token_check(),
            create: default_create(),
            list: default_list(),
            delete: default_delete(),
        }
    }
}

/// Where to put `sub_user_id` on PUT calls. The platform documents it among the body fields of
/// the update call but shows no example for pause/resume.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SubUserIdPlacement {
    /// In the JSON body (the documented placement).
    #[default]
    Body,
    /// In the query string.
    Query,
    /// In both (servers that merge query and body parameters accept either).
    Both,
}

/// Settings for what the platform's documentation leaves open.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlatformBehaviour {
    /// Where `sub_user_id` goes on PUT calls (pause, update, resume).
    #[serde(default)]
    pub sub_user_id_on_write: SubUserIdPlacement,
    /// How many times an update answered with code 6007 (task still started: the pause has not
    /// taken effect yet) is retried before the reconcile gives up and tries again later. At most
    /// 10, so that with `startedRetryInterval` at most 15s one reconcile holds a campaign paused
    /// for at most a few minutes.
    #[serde(default = "default_started_retries")]
    #[schemars(range(min = 0, max = 10))]
    pub started_retries: u32,
    /// Wait between those retries (a duration such as `2s`, at most `15s`).
    #[serde(default = "default_started_retry_interval")]
    #[schemars(regex(pattern = super::patterns::DURATION))]
    #[x_kube(validation = kube::core::Rule::new("duration(self) <= duration('15s')").message("spec.platform.startedRetryInterval must be at most 15s"))]
    pub started_retry_interval: String,
    /// How long, after a create whose outcome is unknown (a crash, a lost answer, a timeout), the
    /// list is searched for the task before it is created again: the list may lag behind a
    /// create. Counted from when the outcome became unknown (the failed answer, or the intent
    /// found unanswered), not from the intent. A duration, at least `5s`, longer than
    /// `requestTimeout`.
    #[serde(default = "default_create_list_grace")]
    #[schemars(regex(pattern = super::patterns::DURATION))]
    #[x_kube(validation = kube::core::Rule::new("duration(self) >= duration('5s')").message("spec.platform.createListGrace must be at least 5s"))]
    pub create_list_grace: String,
    /// Clock difference allowed between this cluster and the platform when telling our task from
    /// older ones of the same name: tasks listed as created earlier than the create intent minus
    /// this margin are not ours. A duration, at most `30m`: a larger one makes older tasks of
    /// the same name candidates.
    #[serde(default = "default_create_clock_skew")]
    #[schemars(regex(pattern = super::patterns::DURATION))]
    #[x_kube(validation = kube::core::Rule::new("duration(self) <= duration('30m')").message("spec.platform.createClockSkew must be at most 30m"))]
    pub create_clock_skew: String,
}

impl Default for PlatformBehaviour {
    fn default() -> Self {
        Self {
            sub_user_id_on_write: SubUserIdPlacement::default(),
            started_retries: default_started_retries(),
            started_retry_interval: default_started_retry_interval(),
            create_list_grace: default_create_list_grace(),
            create_clock_skew: default_create_clock_skew(),
        }
    }
}

fn default_time_zone() -> String {
    "Asia/Shanghai".into()
}
fn default_request_timeout() -> String {
    "10s".into()
}
fn default_token_key() -> String {
    "token".into()
}
fn default_rps() -> u32 {
    10
}
fn default_burst() -> u32 {
    1
}
fn default_started_retries() -> u32 {
    5
}
fn default_started_retry_interval() -> String {
    "2s".into()
}
pub fn default_detail() -> String {
    "/agent-api/new/user/{user_id}/task/{task_id}/edit".into()
}
pub fn default_update() -> String {
    "/agent-api/new/user/{user_id}/task/{task_id}".into()
}
pub fn default_pause() -> String {
    "/agent-api/new/user/{user_id}/task_stop/{task_id}".into()
}
pub fn default_resume() -> String {
    "/agent-api/new/user/{user_id}/task_start/{task_id}".into()
}
pub fn default_token_check() -> String {
    "/agent-api/token".into()
}
pub fn default_create() -> String {
    "/agent-api/new/user/{user_id}/task".into()
}
pub fn default_list() -> String {
    "/agent-api/new/user/{user_id}/task".into()
}
pub fn default_delete() -> String {
    "/agent-api/user/{user_id}/task/{task_id}".into()
}
fn default_create_list_grace() -> String {
    "30s".into()
}
fn default_create_clock_skew() -> String {
    "5m".into()
}
