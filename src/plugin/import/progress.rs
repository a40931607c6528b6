//! The progress of an import on stderr, only when stderr is a terminal (a pipe or a CI log gets
//! nothing: the summary line says what was done).

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    shown: bool,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            shown: std::io::stderr().is_terminal(),
        }
    }

    /// A counter of the tasks listed so far.
    pub fn listing(&self) -> ProgressBar {
        let bar = self.bar(None);
        bar.set_style(ProgressStyle::with_template("{spinner} listing tasks: {pos}").expect("template"));
        bar
    }

    /// A bar over the `total` tasks to read.
    pub fn reading(&self, total: usize) -> ProgressBar {
        let bar = self.bar(Some(total as u64));
        bar.set_style(
            ProgressStyle::with_template("reading tasks [{bar:30}] {pos}/{len} ({eta} left)")
                .expect("template")
                .progress_chars("=> "),
        );
        bar
    }

    fn bar(&self, total: Option<u64>) -> ProgressBar {
        match (self.shown, total) {
            (false, _) => ProgressBar::hidden(),
            (true, Some(total)) => ProgressBar::new(total),
            (true, None) => ProgressBar::new_spinner(),
        }
    }
}
