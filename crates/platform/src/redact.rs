//! Finding the token in a response however the response escaped it. A proxy or error page that
//! echoes the request headers may write the token as is, JSON-escaped (`\/`, `\u002f`),
//! percent-encoded (either case, every character or only some) or with HTML entities
//! (`&#x2F;`, `&#47;`, `&sol;`). Each character of the token is matched in any of these forms,
//! so mixtures (an encoder that leaves `/` alone) are found too. No crate decodes all of these
//! at once, and decoding the text first would lose the positions to redact.

/// `text` with every echo of `token` replaced by `***`.
pub(crate) fn redact(text: &str, token: &str) -> String {
    let token: Vec<char> = token.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while at < text.len() {
        match echo_end(text, at, &token) {
            Some(end) => {
                out.push_str(&text[copied..at]);
                out.push_str("***");
                copied = end;
                at = end;
            }
            None => at += text[at..].chars().next().map_or(1, char::len_utf8),
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Where an echo of `token` starting at `start` ends (the longest), if one starts there. The
/// forms of one character can overlap (`%` and `%25`), so every position reachable after each
/// character is followed, not only the first match.
fn echo_end(text: &str, start: usize, token: &[char]) -> Option<usize> {
    let mut reached = vec![start];
    for &c in token {
        let mut next: Vec<usize> = reached
            .iter()
            .flat_map(|&at| forms(&text[at..], c).into_iter().map(move |len| at + len))
            .collect();
        next.sort_unstable();
        next.dedup();
        if next.is_empty() {
            return None;
        }
        reached = next;
    }
    reached.last().copied()
}

/// The lengths of the forms of `c` that `rest` starts with.
fn forms(rest: &str, c: char) -> Vec<usize> {
    let mut found = Vec::new();
    if rest.starts_with(c) {
        found.push(c.len_utf8());
    }
    found.extend(percent(rest, c));
    found.extend(json(rest, c));
    found.extend(html(rest, c));
    found
}

/// `%2F` or `%2f`, one `%XX` per UTF-8 byte of `c`.
fn percent(rest: &str, c: char) -> Option<usize> {
    let mut utf8 = [0; 4];
    let bytes = c.encode_utf8(&mut utf8).as_bytes();
    let len = bytes.len() * 3;
    let encoded = rest.as_bytes().get(..len)?;
    let all = encoded
        .chunks(3)
        .zip(bytes)
        .all(|(chunk, &byte)| chunk[0] == b'%' && hex_byte(&chunk[1..]) == Some(byte));
    all.then_some(len)
}

/// `\/`, `\"`, `\\` or `\uXXXX` (either case).
fn json(rest: &str, c: char) -> Option<usize> {
    let escaped = rest.strip_prefix('\\')?;
    if matches!(c, '/' | '"' | '\\') && escaped.starts_with(c) {
        return Some(2);
    }
    let digits = escaped.strip_prefix('u')?.get(..4)?;
    let code = u32::from_str_radix(digits, 16).ok()?;
    (digits.chars().all(|d| d.is_ascii_hexdigit()) && code == c as u32).then_some(6)
}

/// `&#47;`, `&#x2F;` (either case) or a named entity.
fn html(rest: &str, c: char) -> Option<usize> {
    let entity = rest.strip_prefix('&')?;
    let end = entity.find(';').filter(|&end| end <= 10)?;
    let name = &entity[..end];
    let decoded = if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => number.parse().ok(),
        };
        code.and_then(char::from_u32)
    } else {
        NAMED
            .iter()
            .find(|(entity_name, _)| *entity_name == name)
            .map(|&(_, named)| named)
    };
    (decoded == Some(c)).then_some(end + 2)
}

/// The entities of the characters a token (base64, hex, URL-safe) may hold, and of those HTML
/// escapes anyway.
const NAMED: [(&str, char); 11] = [
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("sol", '/'),
    ("plus", '+'),
    ("equals", '='),
    ("lowbar", '_'),
    ("hyphen", '-'),
    ("period", '.'),
];

fn hex_byte(digits: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(digits).ok()?;
    if !text.chars().all(|d| d.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_forms_and_non_ascii_tokens() {
        // `%` literal or `%25`: the longer reading is not lost to the shorter one.
        assert_eq!(redact("a 100%25done b", "100%done"), "a *** b");
        assert_eq!(redact("a 100%done b", "100%done"), "a *** b");
        assert_eq!(redact("x t\\u00e9st y", "tést"), "x *** y");
        assert_eq!(redact("x t%C3%A9st y", "tést"), "x *** y");
        assert_eq!(
            redact("x t&eacute;st y", "tést"),
            "x t&eacute;st y",
            "entities outside the list stay"
        );
        assert_eq!(redact("tokentoken", "token"), "******");
        assert_eq!(
            redact("&#x;&#;%G1\\u12", "abcd"),
            "&#x;&#;%G1\\u12",
            "malformed escapes are text"
        );
    }
}
