//! Secrets and guessable codes come from the operating system's CSPRNG (`getrandom`),
//! never from a fast non-cryptographic generator.

/// Fills `buf` from the OS CSPRNG. Panics only if the OS has no usable source of
/// randomness, where running at all would be unsafe.
pub fn fill(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random source is unavailable");
}

/// 32 random bytes as 64 hex digits: session ids, CSRF tokens, one-time links.
pub fn hex_token() -> String {
    let mut bytes = [0u8; 32];
    fill(&mut bytes);
    hex::encode(bytes)
}

/// `len` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
pub fn code(alphabet: &[u8], len: usize) -> String {
    assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill(&mut buf);
        for &b in &buf {
            if (b as usize) < limit && out.len() < len {
                out.push(char::from(alphabet[b as usize % alphabet.len()]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_length_and_alphabet_asked_for_and_differ() {
        let a = code(b"AB23", 12);
        assert_eq!(a.len(), 12);
        assert!(a.bytes().all(|b| b"AB23".contains(&b)));
        let many: std::collections::HashSet<_> = (0..100).map(|_| code(b"ABCDEFGH", 10)).collect();
        assert_eq!(many.len(), 100);
    }
}
