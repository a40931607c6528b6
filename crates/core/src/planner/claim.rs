//! One campaign, one owner: when several OutboundTasks name the same remote task, which one
//! manages it ([`holder`]). The others make no platform call (`Failure::TaskClaimed`), so two
//! objects with different settings never pause, update and resume one campaign against each
//! other.
//!
//! # Guarantees
//!
//! - The holder is the first claimant: the earliest `metadata.creationTimestamp`, ties broken by
//!   namespace then name. It depends on nothing but the objects, so every reconcile, a restarted
//!   operator and a new leader all reach the same answer with no state stored anywhere.
//! - Two objects name the same remote task when they name the same task id (case aside) on the
//!   same platform account: the same base URL (a trailing `/` and letter case aside) and user id,
//!   whichever OutboundAccount objects they go through. The sub-account is not part of it: a task
//!   id names one task, and counting two objects as rivals is the safe side of a doubt (no write).

use jiff::Timestamp;

use super::platform_user::{base_url_key, id_key};

/// A remote task as the platform knows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RemoteTask {
    base_url: String,
    user_id: String,
    task_id: String,
}

impl RemoteTask {
    pub fn new(base_url: &str, user_id: &str, task_id: &str) -> Self {
        RemoteTask {
            base_url: base_url_key(base_url),
            user_id: id_key(user_id),
            task_id: id_key(task_id),
        }
    }

    /// Whether `task_id` could be this task's id (a cheap first test before the account is
    /// looked up).
    pub fn has_id(&self, task_id: &str) -> bool {
        self.task_id.eq_ignore_ascii_case(task_id.trim())
    }
}

/// An object that names a remote task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimant {
    /// `metadata.creationTimestamp`; the API server always sets it (one without counts last).
    pub created: Option<Timestamp>,
    pub namespace: String,
    pub name: String,
}

impl Claimant {
    /// `namespace/name`, as messages name it.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The order of claims: earliest first, then by namespace and name.
    fn rank(&self) -> (bool, Option<Timestamp>, &str, &str) {
        (self.created.is_none(), self.created, &self.namespace, &self.name)
    }

    fn same_object(&self, other: &Claimant) -> bool {
        self.namespace == other.namespace && self.name == other.name
    }
}

/// Who holds the remote task `me` names, given the `others` naming it (`me` among them is
/// ignored): `None` when `me` holds it, else the claimant that does.
pub fn holder<'a>(me: &Claimant, others: impl IntoIterator<Item = &'a Claimant>) -> Option<&'a Claimant> {
    others
        .into_iter()
        .filter(|other| !other.same_object(me))
        .min_by(|a, b| a.rank().cmp(&b.rank()))
        .filter(|first| first.rank() < me.rank())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimant(created: Option<&str>, namespace: &str, name: &str) -> Claimant {
        Claimant {
            created: created.map(|at| at.parse().unwrap()),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    #[test]
    fn the_earliest_claimant_holds_and_ties_go_by_namespace_then_name() {
        let early = claimant(Some("2026-12-07T10:00:00Z"), "zz", "z");
        let late = claimant(Some("2026-12-07T10:00:01Z"), "aa", "a");
        let tie_ns = claimant(Some("2026-12-07T10:00:00Z"), "ab", "z");
        let tie_name = claimant(Some("2026-12-07T10:00:00Z"), "zz", "a");
        let undated = claimant(None, "aa", "u");
        let all = [&early, &late, &tie_ns, &tie_name, &undated];

        // tie_ns holds: same second as the others of that second, first namespace.
        for me in all {
            let held_by = holder(me, all.iter().copied());
            match me == &tie_ns {
                true => assert_eq!(held_by, None, "{me:?} holds"),
                false => assert_eq!(held_by, Some(&tie_ns), "{me:?}"),
            }
        }
        // Without it, tie_name (same second and namespace as early, first name) holds.
        let rest = [&early, &late, &tie_name, &undated];
        assert_eq!(holder(&early, rest.iter().copied()), Some(&tie_name));
        assert_eq!(holder(&tie_name, rest.iter().copied()), None);
        // An object without a creation time never holds against one with.
        assert_eq!(holder(&undated, [&late]), Some(&late));
        assert_eq!(holder(&late, [&undated]), None);
    }

    #[test]
    fn alone_or_only_with_itself_it_holds() {
        let me = claimant(Some("2026-12-07T10:00:00Z"), "ns", "a");
        assert_eq!(holder(&me, []), None);
        let again = me.clone();
        assert_eq!(holder(&me, [&again]), None);
        let later = claimant(Some("2026-12-07T11:00:00Z"), "ns", "b");
        assert_eq!(holder(&me, [&again, &later]), None);
        assert_eq!(holder(&later, [&again, &later]).map(Claimant::key), Some("ns/a".into()));
    }

    #[test]
    fn the_same_remote_task_whatever_the_spelling_of_the_account() {
        let id = "F232D184-DD54-42A0-8ACE-0BF8D660F4CC";
        let user = "0b8a9e6e-0c5d-4f4b-9a53-0c9d0c7f5f11";
        let one = RemoteTask::new("https://AI.example.com/", user, id);
        assert_eq!(
            one,
            RemoteTask::new("https://ai.example.com", &user.to_uppercase(), &id.to_lowercase())
        );
        assert!(one.has_id(&id.to_lowercase()));
        assert_ne!(
            one,
            RemoteTask::new("https://ai.example.org", user, id),
            "another platform"
        );
        assert_ne!(
            one,
            RemoteTask::new("https://ai.example.com", "1b8a9e6e-0c5d-4f4b-9a53-0c9d0c7f5f11", id),
            "another account"
        );
        assert!(!one.has_id("f232d184-dd54-42a0-8ace-0bf8d660f4cd"));
    }
}
