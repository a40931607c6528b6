//! An in-memory Kubernetes API server, as a `tower::Service` for `kube::Client::new`: enough of
//! the real one for the controller's reconcile code to run in-process against it, with its
//! writes failing on demand and its task and account caches fed as a watch would feed them.
//! Include with `#[path = "support/fake_kube.rs"] mod fake_kube;` (not from `support/mod.rs`, so
//! that its own tests run in one test binary only).
//!
//! What it serves, for namespaced objects stored as JSON (OutboundTasks, OutboundAccounts,
//! Secrets, Events):
//! - GET of one object; POST (create: uid, resourceVersion, generation 1, creationTimestamp);
//! - PATCH of the object or its `/status`: JSON patch (RFC 6902, `test` ops included: a failed one
//!   is answered 422, as the API server answers a patch that does not apply), merge patch, and
//!   server-side apply (simplified: a deep merge, `metadata.finalizers` merged as a set, which is
//!   what the operator's finalizer apply relies on). A write to the object never changes its
//!   status, a write to `/status` changes nothing else; `generation` moves only when the spec did;
//! - DELETE: an object with finalizers gets a `deletionTimestamp` and goes once they are removed.
//!
//! Every request first passes the gate ([`FakeKube::set_gate`]), which may fail it before or after
//! its effect, or hold it for ever (a crash of the caller, or an API server that never answers).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use kube::client::Body;
use kube::runtime::reflector::{self, Store, store::Writer};
use kube::runtime::watcher::Event;
use outbound_api::{OutboundAccount, OutboundTask};
use serde_json::{Value, json};

/// What happens to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Proceed,
    /// Answered with this HTTP status; nothing changes.
    FailBefore(u16),
    /// Takes effect, then is answered with this HTTP status (the answer was lost).
    FailAfter(u16),
    /// Never answered; with `after_effect`, it took effect first.
    Hang {
        after_effect: bool,
    },
}

/// A request as the gate sees it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// `plural/namespace/name[/subresource]`.
    pub target: String,
}

impl Seen {
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }
}

type Gate = Arc<dyn Fn(&Seen) -> Verdict + Send + Sync>;

/// (plural, namespace, name)
type Key = (String, String, String);

#[derive(Clone)]
pub struct FakeKube {
    state: Arc<Mutex<State>>,
}

struct State {
    objects: BTreeMap<Key, Value>,
    version: u64,
    gate: Option<Gate>,
    tasks: Writer<OutboundTask>,
    accounts: Writer<OutboundAccount>,
}

impl Default for FakeKube {
    fn default() -> Self {
        let state = State {
            objects: BTreeMap::new(),
            version: 0,
            gate: None,
            tasks: Writer::default(),
            accounts: Writer::default(),
        };
        FakeKube {
            state: Arc::new(Mutex::new(state)),
        }
    }
}

impl FakeKube {
    /// A client whose every request this server answers (call inside a tokio runtime).
    pub fn client(&self) -> kube::Client {
        let fake = self.clone();
        let service = tower::service_fn(move |request: Request<Body>| {
            let fake = fake.clone();
            async move { Ok::<_, std::convert::Infallible>(fake.serve(request).await) }
        });
        kube::Client::new(service, "default")
    }

    pub fn set_gate(&self, gate: impl Fn(&Seen) -> Verdict + Send + Sync + 'static) {
        self.lock().gate = Some(Arc::new(gate));
    }

    pub fn clear_gate(&self) {
        self.lock().gate = None;
    }

    /// New task and account caches, listed from what is stored now and fed every change from
    /// here on (as after a restart of the watching process; the old caches are no longer fed).
    pub fn caches(&self) -> (Store<OutboundTask>, Store<OutboundAccount>) {
        let mut state = self.lock();
        let (tasks, accounts) = (reflector::store(), reflector::store());
        state.tasks = tasks.1;
        state.accounts = accounts.1;
        let listed_tasks: Vec<OutboundTask> = state.all("outboundtasks");
        let listed_accounts: Vec<OutboundAccount> = state.all("outboundaccounts");
        relist(&mut state.tasks, listed_tasks);
        relist(&mut state.accounts, listed_accounts);
        (tasks.0, accounts.0)
    }

    /// The stored object, if any.
    pub fn get(&self, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        self.lock().objects.get(&key(plural, namespace, name)).cloned()
    }

    /// Every stored object of a kind, as `K`.
    pub fn list<K: serde::de::DeserializeOwned>(&self, plural: &str) -> Vec<K> {
        self.lock().all(plural)
    }

    /// Changes a stored object as a person's edit would (spec changes move the generation).
    pub fn edit(&self, plural: &str, namespace: &str, name: &str, edit: impl FnOnce(&mut Value)) -> bool {
        let mut state = self.lock();
        let key = key(plural, namespace, name);
        let Some(mut object) = state.objects.get(&key).cloned() else {
            return false;
        };
        edit(&mut object);
        state.store(key, object, false);
        true
    }

    /// Creates an object as a person would; false if one of that name exists.
    pub fn create(&self, plural: &str, namespace: &str, object: Value) -> bool {
        let body = serde_json::to_vec(&object).expect("JSON");
        self.write("POST", plural, namespace, None, &body).status().is_success()
    }

    /// Deletes an object as a person would (marked for deletion while it has finalizers); false
    /// if there is none.
    pub fn delete(&self, plural: &str, namespace: &str, name: &str) -> bool {
        self.write("DELETE", plural, namespace, Some(name), &[])
            .status()
            .is_success()
    }

    fn write(&self, method: &str, plural: &str, namespace: &str, name: Option<&str>, body: &[u8]) -> Response<Body> {
        let request = Incoming {
            method,
            plural,
            namespace,
            name,
            status: false,
            content_type: "application/json",
            body,
        };
        self.lock().handle(&request)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake API server lock")
    }

    async fn serve(&self, request: Request<Body>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let body = body.collect_bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        let Some((plural, namespace, name, sub)) = parse(parts.uri.path()) else {
            return answer(StatusCode::NOT_FOUND, status_body(404, "NotFound", parts.uri.path()));
        };
        let seen = Seen {
            method: parts.method.to_string(),
            target: [
                plural.as_str(),
                &namespace,
                name.as_deref().unwrap_or(""),
                sub.as_deref().unwrap_or(""),
            ]
            .join("/")
            .trim_end_matches('/')
            .to_owned(),
        };
        let gate = self.lock().gate.clone();
        let verdict = gate.map_or(Verdict::Proceed, |gate| gate(&seen));
        match verdict {
            Verdict::FailBefore(code) => return failure(code),
            Verdict::Hang { after_effect: false } => return futures::future::pending().await,
            _ => {}
        }
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let request = Incoming {
            method: parts.method.as_str(),
            plural: &plural,
            namespace: &namespace,
            name: name.as_deref(),
            status: sub.as_deref() == Some("status"),
            content_type: &content_type,
            body: &body,
        };
        let response = self.lock().handle(&request);
        match verdict {
            Verdict::FailAfter(code) => failure(code),
            Verdict::Hang { .. } => futures::future::pending().await,
            _ => response,
        }
    }
}

struct Incoming<'a> {
    method: &'a str,
    plural: &'a str,
    namespace: &'a str,
    name: Option<&'a str>,
    status: bool,
    content_type: &'a str,
    body: &'a [u8],
}

impl State {
    fn all<K: serde::de::DeserializeOwned>(&self, plural: &str) -> Vec<K> {
        let objects = self.objects.iter().filter(|((p, _, _), _)| p == plural);
        objects
            .map(|(_, v)| serde_json::from_value(v.clone()).expect("stored object decodes"))
            .collect()
    }

    fn handle(&mut self, request: &Incoming) -> Response<Body> {
        let Ok(sent) = serde_json::from_slice::<Value>(request.body).or_else(|e| match request.body {
            [] => Ok(Value::Null),
            _ => Err(e),
        }) else {
            return answer(
                StatusCode::BAD_REQUEST,
                status_body(400, "BadRequest", "body is not JSON"),
            );
        };
        let (method, name) = (request.method, request.name.unwrap_or(""));
        let key = key(request.plural, request.namespace, name);
        if method == "POST" {
            let mut object = sent;
            let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            let key = self::key(request.plural, request.namespace, &name);
            if self.objects.contains_key(&key) {
                return answer(StatusCode::CONFLICT, status_body(409, "AlreadyExists", &name));
            }
            self.version += 1;
            let meta = &mut object["metadata"];
            meta["namespace"] = json!(request.namespace);
            meta["uid"] = json!(format!("uid-{}", self.version));
            meta["generation"] = json!(1);
            // Whole seconds, one apart, in creation order (what the claims compare).
            let created = jiff::Timestamp::from_second(1_767_225_600 + self.version as i64).expect("a valid time");
            meta["creationTimestamp"] = json!(created.to_string());
            return answer(StatusCode::CREATED, self.store(key, object, true));
        }
        let Some(stored) = self.objects.get(&key).cloned() else {
            return answer(StatusCode::NOT_FOUND, status_body(404, "NotFound", name));
        };
        match method {
            "GET" => answer(StatusCode::OK, stored),
            "DELETE" => {
                let finalizers = stored["metadata"]["finalizers"]
                    .as_array()
                    .is_some_and(|f| !f.is_empty());
                if !finalizers {
                    self.remove(&key);
                    return answer(StatusCode::OK, stored);
                }
                let mut object = stored.clone();
                if object["metadata"]["deletionTimestamp"].is_null() {
                    object["metadata"]["deletionTimestamp"] = json!(jiff::Timestamp::now().to_string());
                }
                answer(StatusCode::OK, self.store(key, object, false))
            }
            "PATCH" => match patched(&stored, sent, request.content_type) {
                Err(message) => answer(StatusCode::UNPROCESSABLE_ENTITY, status_body(422, "Invalid", &message)),
                Ok(mut object) => {
                    // The status subresource writes status only; the object everything else.
                    let result = if request.status {
                        let mut result = stored.clone();
                        result["status"] = object["status"].take();
                        result
                    } else {
                        object["status"] = stored["status"].clone();
                        object
                    };
                    answer(StatusCode::OK, self.store(key, result, false))
                }
            },
            _ => answer(
                StatusCode::METHOD_NOT_ALLOWED,
                status_body(405, "MethodNotAllowed", method),
            ),
        }
    }

    /// Stores `object` under `key` as the API server would: a new resourceVersion, the generation
    /// moved when the spec changed, gone once deleted without finalizers; the caches are told.
    fn store(&mut self, key: Key, mut object: Value, created: bool) -> Value {
        let before = self.objects.get(&key);
        if !created && before.is_some_and(|before| before["spec"] != object["spec"]) {
            let generation = object["metadata"]["generation"].as_i64().unwrap_or(0);
            object["metadata"]["generation"] = json!(generation + 1);
        }
        self.version += 1;
        object["metadata"]["resourceVersion"] = json!(self.version.to_string());
        let finalizers = object["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if !object["metadata"]["deletionTimestamp"].is_null() && !finalizers {
            self.objects.insert(key.clone(), object.clone());
            self.remove(&key);
            return object;
        }
        self.objects.insert(key.clone(), object.clone());
        self.tell_caches(&key.0, false, &object);
        object
    }

    fn remove(&mut self, key: &Key) {
        if let Some(object) = self.objects.remove(key) {
            self.tell_caches(&key.0, true, &object);
        }
    }

    fn tell_caches(&mut self, plural: &str, deleted: bool, object: &Value) {
        match plural {
            "outboundtasks" => self.tasks.apply_watcher_event(&event(deleted, object)),
            "outboundaccounts" => self.accounts.apply_watcher_event(&event(deleted, object)),
            _ => {}
        }
    }
}

/// The watch event of a change to `object`.
fn event<K: serde::de::DeserializeOwned>(deleted: bool, object: &Value) -> Event<K> {
    let object = serde_json::from_value(object.clone()).expect("stored object decodes");
    match deleted {
        true => Event::Delete(object),
        false => Event::Apply(object),
    }
}

fn relist<K>(writer: &mut Writer<K>, objects: Vec<K>)
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Clone + Eq + std::hash::Hash + Default,
{
    writer.apply_watcher_event(&Event::Init);
    for object in objects {
        writer.apply_watcher_event(&Event::InitApply(object));
    }
    writer.apply_watcher_event(&Event::InitDone);
}

/// `stored` with the patch `sent` applied, as its content type says.
fn patched(stored: &Value, sent: Value, content_type: &str) -> Result<Value, String> {
    let mut object = stored.clone();
    if content_type.starts_with("application/json-patch+json") {
        let patch: json_patch::Patch = serde_json::from_value(sent).map_err(|e| e.to_string())?;
        json_patch::patch(&mut object, &patch).map_err(|e| e.to_string())?;
    } else if content_type.starts_with("application/merge-patch+json") {
        json_patch::merge(&mut object, &sent);
    } else if content_type.starts_with("application/apply-patch") {
        apply(&mut object, sent);
    } else {
        return Err(format!("unsupported patch type {content_type:?}"));
    }
    Ok(object)
}

/// Server-side apply, simplified: a deep merge, `metadata.finalizers` as a set.
fn apply(object: &mut Value, mut sent: Value) {
    if let Some(finalizers) = sent["metadata"]["finalizers"].as_array().cloned() {
        let mut merged = object["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
        for finalizer in finalizers {
            if !merged.contains(&finalizer) {
                merged.push(finalizer);
            }
        }
        sent["metadata"]["finalizers"] = Value::Array(merged);
    }
    deep_merge(object, sent);
}

fn deep_merge(target: &mut Value, sent: Value) {
    match (target, sent) {
        (Value::Object(target), Value::Object(sent)) => {
            for (key, value) in sent {
                deep_merge(target.entry(key).or_insert(Value::Null), value);
            }
        }
        (target, sent) => *target = sent,
    }
}

/// `(plural, namespace, name, subresource)` of `/api/v1/namespaces/{ns}/{plural}/{name}/{sub}` and
/// `/apis/{group}/{version}/namespaces/...`.
fn parse(path: &str) -> Option<(String, String, Option<String>, Option<String>)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let at = parts.iter().position(|p| *p == "namespaces")?;
    let rest = &parts[at + 1..];
    let owned = |i: usize| rest.get(i).map(|s| (*s).to_owned());
    Some((owned(1)?, owned(0)?, owned(2), owned(3)))
}

fn key(plural: &str, namespace: &str, name: &str) -> Key {
    (plural.to_owned(), namespace.to_owned(), name.to_owned())
}

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code})
}

fn failure(code: u16) -> Response<Body> {
    let status = StatusCode::from_u16(code).expect("a valid HTTP status");
    answer(status, status_body(code, "InternalError", "injected by the test"))
}

fn answer(status: StatusCode, body: Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(&body).expect("JSON")))
        .expect("a valid response")
}

#[cfg(test)]
#[path = "fake_kube_tests.rs"]
mod tests;
