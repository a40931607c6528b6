//! What tests/people_properties.rs generates: the cases (the objects at the start) and the steps
//! (people's actions between reconciles, and reconciles with happenings at their requests).

use proptest::prelude::*;

/// A person's action. Objects are named by index (`world::name`): 0 and 1 adopt a campaign each,
/// 2 creates one; `Duplicate` adds a copy of an object naming the same campaign.
#[derive(Clone, Debug)]
pub enum Person {
    /// `spec.task.maxConcurrency` set to 1 or 2 (a new generation), and from 2 on a rename
    /// (`spec.task.name`: the name a create looks its task up by).
    Settings(u8, u8),
    /// `runState: Paused` (true) or `Running`.
    RunState(u8, bool),
    Observe(u8, bool),
    Suspend(u8, bool),
    Delete(u8),
    /// A copied manifest: another object with the same `spec` (the same `taskId`).
    Duplicate(u8),
    /// Someone starts the campaign in the platform's console.
    Console(u8),
    /// The account's `maxPaused`.
    MaxPaused(u32),
    /// The account's `rateLimit.requestsPerSecond`.
    Rate(u32),
}

/// A fault of the simulator (its FaultConfig) for one platform request.
#[derive(Clone, Debug)]
pub enum PlatformFault {
    /// HTTP 500/503, no effect.
    ServerError,
    /// The effect happens, the answer is garbled.
    LostAnswer,
    /// No answer until the client's timeout; no effect.
    Hang,
    /// 429 with `Retry-After: 1`.
    Throttled,
    /// A pause takes effect only after a while: updates meanwhile are refused (6007).
    SlowPause,
    /// A task created now is listed only a while later (less than the create grace).
    ListLag,
}

/// What happens at one request of a reconcile.
#[derive(Clone, Debug)]
pub enum Happening {
    Nothing,
    /// A person acts right when the request arrives.
    Person(Person),
    Platform(PlatformFault),
    /// An API-server write fails, before or after it took effect.
    ApiWriteFails {
        after_effect: bool,
    },
    /// The process dies right before or after the request takes effect: the reconcile is
    /// dropped, and a new process starts from what the API server holds.
    Crash {
        after_effect: bool,
    },
}

/// Where in a reconcile a happening comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum At {
    /// At its n-th request (to the API server or the platform), from 0.
    Request(u8),
    /// At its n-th platform write (pause, update, resume, create, delete), from 0.
    Write(u8),
}

#[derive(Clone, Debug)]
pub enum Step {
    Person(Person),
    /// A reconcile of one object, with happenings at some of its requests.
    Reconcile(u8, Vec<(At, Happening)>),
}

/// The objects at the start.
#[derive(Clone, Debug)]
pub struct Start {
    /// Per adopted object: whether its campaign runs, its `runState` (None: unset), its
    /// `deletionPolicy`.
    pub adopted: [(bool, Option<bool>, &'static str); 2],
    /// Whether object 2 (to be created) exists, and whether an older task of the same name
    /// is on the platform.
    pub creates: bool,
    pub older_namesake: bool,
}

fn object() -> impl Strategy<Value = u8> {
    prop_oneof![4 => 0u8..2, 3 => Just(2u8), 1 => 3u8..5]
}

pub fn person() -> impl Strategy<Value = Person> {
    prop_oneof![
        3 => (object(), 0u8..4).prop_map(|(o, v)| Person::Settings(o, v)),
        3 => (object(), any::<bool>()).prop_map(|(o, p)| Person::RunState(o, p)),
        2 => (object(), any::<bool>()).prop_map(|(o, on)| Person::Observe(o, on)),
        2 => (object(), any::<bool>()).prop_map(|(o, on)| Person::Suspend(o, on)),
        1 => object().prop_map(Person::Delete),
        1 => (0u8..2).prop_map(Person::Duplicate),
        1 => object().prop_map(Person::Console),
        1 => (1u32..3).prop_map(Person::MaxPaused),
        1 => prop_oneof![Just(5u32), Just(1000u32)].prop_map(Person::Rate),
    ]
}

fn platform_fault() -> impl Strategy<Value = PlatformFault> {
    prop_oneof![
        Just(PlatformFault::ServerError),
        // Twice: the fault that leaves an outcome unknown.
        Just(PlatformFault::LostAnswer),
        Just(PlatformFault::LostAnswer),
        Just(PlatformFault::Hang),
        Just(PlatformFault::Throttled),
        Just(PlatformFault::SlowPause),
        Just(PlatformFault::ListLag),
    ]
}

fn happening() -> impl Strategy<Value = Happening> {
    prop_oneof![
        3 => person().prop_map(Happening::Person),
        3 => platform_fault().prop_map(Happening::Platform),
        1 => any::<bool>().prop_map(|after_effect| Happening::ApiWriteFails { after_effect }),
        2 => any::<bool>().prop_map(|after_effect| Happening::Crash { after_effect }),
    ]
}

pub fn step() -> impl Strategy<Value = Step> {
    // A reconcile makes 3 to 10 requests, up to 4 of them platform writes; a happening past the
    // last does not happen. Most actions during a reconcile are on the object reconciling.
    let at = prop_oneof![(0u8..10).prop_map(At::Request), (0u8..3).prop_map(At::Write)];
    let happenings = proptest::collection::vec((at, happening(), prop::bool::weighted(0.75)), 0..5);
    prop_oneof![
        1 => person().prop_map(Step::Person),
        3 => (object(), happenings).prop_map(|(o, happenings)| {
            let on = |(at, happening, on_it): (At, Happening, bool)| match happening {
                Happening::Person(person) if on_it => (at, Happening::Person(person.on(o))),
                other => (at, other),
            };
            Step::Reconcile(o, happenings.into_iter().map(on).collect())
        }),
    ]
}

impl Person {
    /// The same action on object `o` (account edits stay as they are).
    fn on(self, o: u8) -> Person {
        match self {
            Person::Settings(_, v) => Person::Settings(o, v),
            Person::RunState(_, paused) => Person::RunState(o, paused),
            Person::Observe(_, on) => Person::Observe(o, on),
            Person::Suspend(_, on) => Person::Suspend(o, on),
            Person::Delete(_) => Person::Delete(o),
            Person::Duplicate(_) if o < 2 => Person::Duplicate(o),
            Person::Console(_) => Person::Console(o),
            other => other,
        }
    }
}

pub fn start() -> impl Strategy<Value = Start> {
    let adopted = (
        any::<bool>(),
        proptest::option::of(any::<bool>()),
        prop_oneof![Just("Orphan"), Just("Pause"), Just("Delete")],
    );
    ((adopted.clone(), adopted), any::<bool>(), any::<bool>()).prop_map(|((a, b), creates, older_namesake)| Start {
        adopted: [a, b],
        creates,
        older_namesake,
    })
}
