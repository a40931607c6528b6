//! The partner token, kept out of every log line and error.

use std::fmt;

/// The partner bearer token. Read from the Secret by the caller on every reconcile and passed to
/// each call; the client never stores it. `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(token: impl Into<String>) -> Self {
        Token(token.into())
    }

    /// The secret value, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_never_printed() {
        let token = Token::new("s3cr3t-token-value");
        assert_eq!(format!("{token}"), "***");
        assert!(!format!("{token:?}").contains("s3cr3t"));
        assert_eq!(token.expose(), "s3cr3t-token-value");
    }
}
