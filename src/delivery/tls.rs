//! Trust and pinning for the libcurl transport: a private CA bundle (a file, or
//! PEM text held in memory) and pinned public keys. Each is checked when it is
//! set, so a mistake is an error at configuration time rather than a collector
//! that is silently never reached.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The largest CA bundle accepted, as a file or as text. A system bundle with
/// every public root is about 200 KiB.
pub(crate) const MAX_CA_BUNDLE_BYTES: usize = 4 * 1024 * 1024;

/// The most pinned keys in one pin string.
pub(crate) const MAX_PINNED_KEYS: usize = 64;

const BEGIN_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----";
const END_CERTIFICATE: &str = "-----END CERTIFICATE-----";

/// The certificates the collector's certificate must chain to. When one is set,
/// it is the only trust: the system's CA file and directory are not consulted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaBundle {
    /// A PEM file, read by libcurl at each TLS handshake (so a rotated file is
    /// picked up); it held at least one certificate when it was set.
    File(PathBuf),
    /// PEM text with at least one certificate, handed to libcurl from memory.
    Pem(String),
}

impl CaBundle {
    /// A PEM file: it must be readable, at most `MAX_CA_BUNDLE_BYTES`, and hold
    /// at least one well-formed certificate.
    pub fn file(path: &str) -> Result<CaBundle> {
        if path.is_empty() {
            return Err(Error::invalid("CA bundle path is empty"));
        }
        let text = read_bundle(Path::new(path))
            .map_err(|why| Error::invalid(format!("CA bundle '{path}' cannot be used: {why}")))?;
        certificates(&text).map_err(|why| Error::invalid(format!("CA bundle '{path}': {why}")))?;
        Ok(CaBundle::File(PathBuf::from(path)))
    }

    /// PEM text: at most `MAX_CA_BUNDLE_BYTES`, with at least one well-formed
    /// certificate.
    pub fn pem(text: &str) -> Result<CaBundle> {
        if text.len() > MAX_CA_BUNDLE_BYTES {
            return Err(Error::invalid(format!(
                "CA bundle PEM is {} bytes; at most {MAX_CA_BUNDLE_BYTES} are accepted",
                text.len()
            )));
        }
        certificates(text).map_err(|why| Error::invalid(format!("CA bundle PEM: {why}")))?;
        Ok(CaBundle::Pem(text.to_owned()))
    }
}

fn read_bundle(path: &Path) -> std::result::Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    if file.metadata().map_err(|e| e.to_string())?.is_dir() {
        return Err("it is a directory; pass a PEM file".into());
    }
    let mut bytes = Vec::new();
    file.take(MAX_CA_BUNDLE_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() > MAX_CA_BUNDLE_BYTES {
        return Err(format!("it is larger than {MAX_CA_BUNDLE_BYTES} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "it is not PEM text (not UTF-8)".into())
}

/// How many certificates `text` holds: every `BEGIN CERTIFICATE` block must end
/// and hold base64 of a DER sequence; other blocks (keys, CRLs) are ignored.
/// Zero certificates is an error.
pub fn certificates(text: &str) -> std::result::Result<usize, String> {
    let mut count = 0;
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN_CERTIFICATE) {
        let body_start = start + BEGIN_CERTIFICATE.len();
        let Some(len) = rest[body_start..].find(END_CERTIFICATE) else {
            return Err(format!("certificate {} has no END CERTIFICATE line", count + 1));
        };
        let body: String =
            rest[body_start..body_start + len].chars().filter(|c| !c.is_ascii_whitespace()).collect();
        match base64_decode(&body) {
            Some(der) if der.len() > 2 && der[0] == 0x30 => count += 1,
            _ => return Err(format!("certificate {} is not base64 of a DER certificate", count + 1)),
        }
        rest = &rest[body_start + len + END_CERTIFICATE.len()..];
    }
    if count == 0 {
        return Err("no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)".into());
    }
    Ok(count)
}

/// Public keys the collector's certificate must carry one of, as libcurl takes
/// them: `sha256//<base64>` entries separated by `;`, where the base64 is of the
/// SHA-256 digest of the key's DER SubjectPublicKeyInfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedKeys(String);

impl PinnedKeys {
    /// Parses `sha256//<base64 of 32 bytes>[;sha256//...]`. Spaces around an
    /// entry are ignored; the base64 must be canonical (padded, as
    /// `openssl base64` writes it), since libcurl compares it as text.
    pub fn parse(pins: &str) -> Result<PinnedKeys> {
        let entries: Vec<&str> = pins.split(';').map(str::trim).collect();
        if entries.len() > MAX_PINNED_KEYS {
            return Err(Error::invalid(format!(
                "{} pinned keys; at most {MAX_PINNED_KEYS} are accepted",
                entries.len()
            )));
        }
        for (i, entry) in entries.iter().enumerate() {
            let n = i + 1;
            let Some(b64) = entry.strip_prefix("sha256//") else {
                return Err(Error::invalid(format!(
                    "pinned key {n} '{}' does not start with sha256// (form: sha256//<base64>;sha256//<base64>)",
                    crate::hit::shorten(entry)
                )));
            };
            match base64_decode(b64) {
                Some(digest) if digest.len() == 32 && base64_encode(&digest) == b64 => {}
                Some(digest) if digest.len() != 32 => {
                    return Err(Error::invalid(format!(
                        "pinned key {n} decodes to {} bytes; a SHA-256 digest has 32",
                        digest.len()
                    )))
                }
                _ => {
                    return Err(Error::invalid(format!(
                        "pinned key {n} is not canonical padded base64 of a SHA-256 digest"
                    )))
                }
            }
        }
        Ok(PinnedKeys(entries.join(";")))
    }

    /// The string libcurl's `CURLOPT_PINNEDPUBLICKEY` takes.
    #[cfg_attr(not(feature = "curl-transport"), allow(dead_code))]
    pub fn as_curl(&self) -> &str {
        &self.0
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding; `None` for anything else.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return None;
    }
    let pad = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    if pad > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let mut acc = 0u32;
    for (i, &b) in bytes[..bytes.len() - pad].iter().enumerate() {
        let v = ALPHABET.iter().position(|&a| a == b)? as u32;
        acc = (acc << 6) | v;
        if i % 4 == 3 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
        }
    }
    match pad {
        1 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        2 => out.push((acc >> 4) as u8),
        _ => {}
    }
    Some(out)
}

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST_A: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; // sha256("")
    const DIGEST_B: &str = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="; // sha256("abc")

    #[test]
    fn base64_round_trips_every_padding() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            let enc = base64_encode(data);
            if !data.is_empty() {
                assert_eq!(base64_decode(&enc).as_deref(), Some(data), "{enc}");
            }
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64_encode(b"foob"), "Zm9vYg==");
        for bad in ["Zm9", "Zm9vY===", "Zm9v!mFy", "=Zm9", ""] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn pins_of_the_documented_form_are_taken_and_normalised() {
        let one = PinnedKeys::parse(&format!("sha256//{DIGEST_A}")).unwrap();
        assert_eq!(one.as_curl(), format!("sha256//{DIGEST_A}"));
        let two = PinnedKeys::parse(&format!(" sha256//{DIGEST_A} ; sha256//{DIGEST_B}")).unwrap();
        assert_eq!(two.as_curl(), format!("sha256//{DIGEST_A};sha256//{DIGEST_B}"));
    }

    #[test]
    fn pins_of_any_other_form_are_refused_with_the_reason() {
        let cases = [
            ("", "does not start with sha256//"),
            (DIGEST_A, "does not start with sha256//"),
            ("sha1//AAAA", "does not start with sha256//"),
            ("sha256//", "not canonical"),
            ("sha256//Zm9vYmFy", "decodes to 6 bytes"),
            ("sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", "not canonical"),
            ("sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=", "not canonical"),
            ("sha256//47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "not canonical"),
        ];
        for (pins, why) in cases {
            let e = PinnedKeys::parse(pins).unwrap_err();
            assert!(e.message.contains(why), "{pins}: {}", e.message);
        }
        let second_bad = PinnedKeys::parse(&format!("sha256//{DIGEST_A};sha256//nope")).unwrap_err();
        assert!(second_bad.message.contains("pinned key 2"), "{}", second_bad.message);
        let trailing = PinnedKeys::parse(&format!("sha256//{DIGEST_A};")).unwrap_err();
        assert!(trailing.message.contains("pinned key 2"), "{}", trailing.message);
        let many = vec![format!("sha256//{DIGEST_A}"); MAX_PINNED_KEYS + 1].join(";");
        assert!(PinnedKeys::parse(&many).unwrap_err().message.contains("at most"));
    }

    fn pem(der_b64: &str) -> String {
        format!("{BEGIN_CERTIFICATE}\n{der_b64}\n{END_CERTIFICATE}\n")
    }

    #[test]
    fn a_bundle_needs_at_least_one_well_formed_certificate() {
        // 0x30 0x03 0x02 0x01 0x01: a DER SEQUENCE (the shape is all that is checked).
        let seq = base64_encode(&[0x30, 0x03, 0x02, 0x01, 0x01]);
        assert_eq!(certificates(&pem(&seq)), Ok(1));
        let two = format!("junk\n{}# comment\n{}", pem(&seq), pem(&seq));
        assert_eq!(certificates(&two), Ok(2));
        assert!(certificates("").unwrap_err().contains("no certificate"));
        let key_only = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(certificates(key_only).unwrap_err().contains("no certificate"));
        assert!(certificates(&format!("{BEGIN_CERTIFICATE}\n{seq}\n")).unwrap_err().contains("no END"));
        assert!(certificates(&pem("not base64!")).unwrap_err().contains("not base64"));
        assert!(certificates(&pem(&base64_encode(b"text"))).unwrap_err().contains("DER"));
        assert!(CaBundle::pem(&"x".repeat(MAX_CA_BUNDLE_BYTES + 1)).unwrap_err().message.contains("at most"));
        assert_eq!(CaBundle::pem(&pem(&seq)), Ok(CaBundle::Pem(pem(&seq))));
    }

    #[test]
    fn a_bundle_file_must_be_readable_and_hold_a_certificate() {
        let dir = std::env::temp_dir().join(format!("attracker-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("ca.pem");
        std::fs::write(&good, pem(&base64_encode(&[0x30, 0x03, 0x02, 0x01, 0x01]))).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let good_s = good.to_str().unwrap();
        assert_eq!(CaBundle::file(good_s), Ok(CaBundle::File(good.clone())));
        let missing = CaBundle::file(dir.join("missing.pem").to_str().unwrap()).unwrap_err();
        assert!(missing.message.contains("cannot be used"), "{}", missing.message);
        let is_dir = CaBundle::file(dir.to_str().unwrap()).unwrap_err();
        assert!(is_dir.message.contains("directory"), "{}", is_dir.message);
        let no_cert = CaBundle::file(empty.to_str().unwrap()).unwrap_err();
        assert!(no_cert.message.contains("no certificate"), "{}", no_cert.message);
        assert!(CaBundle::file("").unwrap_err().message.contains("empty"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
