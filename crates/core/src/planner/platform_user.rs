//! Which platform user a journal's campaign lives in (review D23). An OutboundAccount's `baseUrl`
//! and `userId` can change while a journal holds a campaign paused; read through the new ones,
//! the campaign is "not found" and would be left paused with no one to resume it. The journal
//! therefore records the platform user it runs against (`status.operationPlatform`), and a task
//! whose account moved away from it is Stalled ([`Failure::AccountMoved`]) until a person sets the
//! account back or finishes by hand.

use outbound_api::OutboundTaskStatus;

use super::Failure;

/// The platform user an account reaches: its base URL and user id, as `base_url_key` and
/// `id_key` compare them.
pub fn platform_user(base_url: &str, user_id: &str) -> String {
    format!("{} user {}", base_url_key(base_url), id_key(user_id))
}

/// A base URL as the platform tells it apart: a trailing `/` and letter case aside.
pub(super) fn base_url_key(base_url: &str) -> String {
    base_url.trim_end_matches('/').to_ascii_lowercase()
}

/// A user or task id (a UUID) as the platform tells it apart: spaces and letter case aside.
pub(super) fn id_key(id: &str) -> String {
    id.trim().to_ascii_lowercase()
}

/// The failure when `status` holds a journal written through another platform user than `now`.
/// Journals of earlier versions (no platform recorded) are taken as this one's.
pub fn account_moved(status: &OutboundTaskStatus, now: &str) -> Option<Failure> {
    let was = status.operation.as_ref().and(status.operation_platform.as_deref())?;
    (was != now).then(|| Failure::AccountMoved {
        was: was.to_string(),
        now: now.to_string(),
    })
}

/// Records `now` as the platform user of the journal in `status` (an earlier journal's is kept:
/// its campaign was paused there), or clears it when there is no journal.
pub fn stamp_platform(status: &mut OutboundTaskStatus, now: &str) {
    match status.operation {
        Some(_) => {
            status.operation_platform.get_or_insert_with(|| now.to_string());
        }
        None => status.operation_platform = None,
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use outbound_api::{Operation, OperationPhase};

    use super::*;

    fn journaled(platform: Option<&str>) -> OutboundTaskStatus {
        OutboundTaskStatus {
            operation: Some(Operation {
                phase: OperationPhase::Updating,
                resume_after: true,
                started_at: Time(jiff::Timestamp::UNIX_EPOCH),
                generation: 1,
            }),
            operation_platform: platform.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn a_journal_written_through_another_platform_user_stalls() {
        let old = platform_user("https://A.example/", "U1 ");
        assert_eq!(old, "https://a.example user u1");
        let status = journaled(Some(&old));
        assert_eq!(account_moved(&status, &old), None);
        let moved = account_moved(&status, &platform_user("https://b.example", "u1")).unwrap();
        assert_eq!(moved.synced_reason(), "AccountMoved");
        assert!(moved.stalls());
        assert!(
            moved.message().contains("https://a.example user u1"),
            "{}",
            moved.message()
        );
        // No journal, or one of an earlier version: nothing to protect, or nothing known.
        assert_eq!(account_moved(&OutboundTaskStatus::default(), "x"), None);
        assert_eq!(account_moved(&journaled(None), "x"), None);
    }

    #[test]
    fn the_stamp_keeps_an_earlier_journals_platform_and_goes_with_the_journal() {
        let mut status = journaled(None);
        stamp_platform(&mut status, "p1");
        stamp_platform(&mut status, "p2");
        assert_eq!(status.operation_platform.as_deref(), Some("p1"));
        status.operation = None;
        stamp_platform(&mut status, "p2");
        assert_eq!(status.operation_platform, None);
    }
}
