use super::super::{GRACE, RETRY_PERIOD};
use super::*;

fn held_by(holder: Option<&str>, seconds: i32) -> Lease {
    Lease {
        metadata: ObjectMeta {
            resource_version: Some("1".into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            lease_duration_seconds: Some(seconds),
            ..LeaseSpec::default()
        }),
    }
}

/// What a release writes: no holder, 1 s, and the release mark.
fn released_by_a_leader() -> Lease {
    let mut lease = held_by(None, 1);
    lease.metadata.annotations = Some([(RELEASED_ANNOTATION.to_owned(), "old".to_owned())].into());
    lease
}

const FRESH: Duration = Duration::from_secs(14);

#[test]
fn followers_take_only_a_released_or_long_unchanged_lease() {
    let other = held_by(Some("other"), 15);
    assert_eq!(decide(Some(&other), "me", false, FRESH), Step::Wait);
    assert_eq!(decide(Some(&other), "me", false, LEASE_DURATION), Step::Take);
    // A record's longer duration counts.
    assert_eq!(
        decide(Some(&held_by(Some("other"), 60)), "me", false, FRESH * 2),
        Step::Wait
    );
    // Our name, but not this process: waited out like anyone else.
    assert_eq!(decide(Some(&held_by(Some("me"), 15)), "me", false, FRESH), Step::Wait);
    // A leader's release (graceful shutdown): taken at once.
    assert_eq!(
        decide(Some(&released_by_a_leader()), "me", false, Duration::ZERO),
        Step::Take
    );
}

/// Review D9: what a person does to the Lease never lets a follower in before the leader it had
/// can have stopped writing.
#[test]
fn a_lease_a_person_deleted_emptied_or_shortened_is_waited_out_for_our_duration() {
    // `kubectl delete lease`: no record. (Also the very first start: nobody can tell them apart.)
    assert_eq!(decide(None, "me", false, Duration::ZERO), Step::Wait);
    assert_eq!(decide(None, "me", false, FRESH), Step::Wait);
    assert_eq!(decide(None, "me", false, LEASE_DURATION), Step::Create);
    // `holderIdentity` removed or "", without a release mark.
    for holder in [None, Some("")] {
        let emptied = held_by(holder, 15);
        assert_eq!(decide(Some(&emptied), "me", false, Duration::ZERO), Step::Wait);
        assert_eq!(decide(Some(&emptied), "me", false, FRESH), Step::Wait);
        assert_eq!(decide(Some(&emptied), "me", false, LEASE_DURATION), Step::Take);
    }
    // client-go's release (no holder, 1 s) without our mark, or a person's copy of it.
    assert_eq!(decide(Some(&held_by(None, 1)), "me", false, FRESH), Step::Wait);
    // `leaseDurationSeconds: 1` (or 0, or negative): our duration is the floor.
    for seconds in [1, 0, -5] {
        let short = held_by(Some("other"), seconds);
        assert_eq!(decide(Some(&short), "me", false, FRESH), Step::Wait, "{seconds}");
        assert_eq!(decide(Some(&short), "me", false, LEASE_DURATION), Step::Take);
    }
}

#[test]
fn the_leader_renews_its_own_and_notices_a_new_holder_or_none() {
    assert_eq!(
        decide(Some(&held_by(Some("me"), 15)), "me", true, Duration::ZERO),
        Step::Renew
    );
    // A person shortened our own record: still ours, renewed (which writes our duration again).
    assert_eq!(
        decide(Some(&held_by(Some("me"), 1)), "me", true, Duration::ZERO),
        Step::Renew
    );
    assert_eq!(
        decide(Some(&held_by(Some("other"), 15)), "me", true, Duration::ZERO),
        Step::Lost
    );
    assert_eq!(decide(Some(&held_by(None, 15)), "me", true, Duration::ZERO), Step::Lost);
    assert_eq!(decide(None, "me", true, Duration::ZERO), Step::Lost, "deleted");
}

#[test]
fn a_lease_recording_another_share_is_refused() {
    let mut lease = held_by(Some("other"), 15);
    assert_eq!(other_share(&lease, "k=a"), None, "a Lease from before sharding");
    lease.metadata.annotations = Some([(LEASE_SHARE_ANNOTATION.to_owned(), "k=a".to_owned())].into());
    assert_eq!(other_share(&lease, "k=a"), None);
    assert_eq!(other_share(&lease, "k=b").as_deref(), Some("k=a"));
    assert_eq!(other_share(&lease, "").as_deref(), Some("k=a"));
}

#[test]
fn the_renew_deadline_leaves_the_grace_before_a_takeover() {
    assert!(RENEW_DEADLINE + GRACE <= LEASE_DURATION);
    assert!(
        RETRY_PERIOD * 3 < RENEW_DEADLINE,
        "several renewals fit in the deadline"
    );
}
