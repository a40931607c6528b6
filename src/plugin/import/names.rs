//! Object names for imported tasks: DNS-1123 labels derived from the remote name, the same
//! whatever order the platform lists the tasks in. A name shared by several tasks (or a remote
//! name with nothing usable, such as one in Chinese) gets the start of the task's id appended.

use std::collections::HashMap;

/// Longest name kept from the remote name, leaving room for `-` and an id suffix within 63.
const MAX_BASE: usize = 50;
/// Used when nothing of the remote name is usable.
const FALLBACK: &str = "task";

/// One name per `(task_id, remote_name)`, in the same order.
pub fn object_names(tasks: &[(&str, &str)]) -> Vec<String> {
    let bases: Vec<String> = tasks.iter().map(|(_, name)| base(name)).collect();
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for base in &bases {
        *uses.entry(base.as_str()).or_default() += 1;
    }
    let mut names: Vec<String> = tasks
        .iter()
        .zip(&bases)
        .map(|((id, _), base)| match uses[base.as_str()] {
            1 if base != FALLBACK => base.clone(),
            _ => format!("{base}-{}", id_part(id, 8)),
        })
        .collect();
    // Two ids with the same first 8 characters: the whole id tells them apart.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for name in &names {
        *seen.entry(name.clone()).or_default() += 1;
    }
    for (name, ((id, _), base)) in names.iter_mut().zip(tasks.iter().zip(&bases)) {
        if seen[name.as_str()] > 1 {
            *name = format!("{base}-{}", id_part(id, 32));
        }
    }
    names
}

/// Lowercase ASCII letters and digits, any other run of characters as one `-`, trimmed.
fn base(remote_name: &str) -> String {
    let mut out = String::new();
    for c in remote_name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(MAX_BASE).collect();
    let trimmed = trimmed.trim_end_matches('-');
    if trimmed.is_empty() {
        FALLBACK.to_string()
    } else {
        trimmed.to_string()
    }
}

/// The first `len` letters and digits of a task id, lowercase.
fn id_part(id: &str, len: usize) -> String {
    id.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(len)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_labels_from_the_remote_name() {
        let names = object_names(&[
            ("a1b2c3d4-0000", "Spring Campaign (2025)!"),
            ("f0e0d0c0-1111", "春季活动"),
            ("99999999-2222", "--x--"),
        ]);
        assert_eq!(names, ["spring-campaign-2025", "task-f0e0d0c0", "x"]);
    }

    #[test]
    fn shared_names_get_the_id_whatever_the_order() {
        let one = object_names(&[("aaaa1111-x", "Promo"), ("bbbb2222-y", "promo"), ("c", "other")]);
        let other = object_names(&[("c", "other"), ("bbbb2222-y", "promo"), ("aaaa1111-x", "Promo")]);
        assert_eq!(one, ["promo-aaaa1111", "promo-bbbb2222", "other"]);
        assert_eq!(other, ["other", "promo-bbbb2222", "promo-aaaa1111"]);
        let same_prefix = object_names(&[("abcdefgh-1", "p"), ("abcdefgh-2", "p")]);
        assert_eq!(same_prefix, ["p-abcdefgh1", "p-abcdefgh2"]);
    }

    #[test]
    fn long_names_fit_a_label() {
        let long = "x".repeat(300);
        let names = object_names(&[("id1", &long), ("id2", &long)]);
        assert!(names.iter().all(|n| n.len() <= 63), "{names:?}");
    }
}
