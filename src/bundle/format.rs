//! The byte-level layer of the bundle format: the envelope (magic, version, body, digest,
//! signature) and the primitives the body is written in (LEB128 varints, length-prefixed
//! strings, tagged sections). `docs/BUNDLE.md` describes the layout.

use super::BundleError;
use sha2::{Digest, Sha256};

/// The first four bytes of every bundle.
pub const MAGIC: &[u8; 4] = b"ZTPB";
/// The format version this build writes and reads.
pub const VERSION: u16 = 3;
/// Magic, version, flags and body length.
pub const HEADER_LEN: usize = 16;
pub const DIGEST_LEN: usize = 32;

/// Section tags, in the order they appear in the body.
pub mod tag {
    pub const META: u8 = 1;
    pub const STRINGS: u8 = 2;
    pub const INTS: u8 = 3;
    pub const SOURCES: u8 = 4;
    pub const RELATIONS: u8 = 5;
    pub const POLICIES: u8 = 6;
    pub const ROWS: u8 = 7;
    pub const PROFILES: u8 = 8;
    // 9 was the principals section of version 1; version 2 gives profiles in `STRINGS`.
    pub const ORDER: u8 = 10;
    pub const MANIFEST: u8 = 11;
    pub const ALL: [u8; 10] = [
        META, STRINGS, INTS, SOURCES, RELATIONS, POLICIES, ROWS, PROFILES, ORDER, MANIFEST,
    ];

    pub fn name(tag: u8) -> &'static str {
        match tag {
            META => "meta",
            STRINGS => "strings",
            INTS => "ints",
            SOURCES => "sources",
            RELATIONS => "relations",
            POLICIES => "policies",
            ROWS => "rows",
            PROFILES => "profiles",
            ORDER => "order",
            MANIFEST => "manifest",
            _ => "unknown",
        }
    }
}

/// An append-only byte buffer with the body's encodings.
#[derive(Debug, Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// Unsigned LEB128.
    pub fn var(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(byte);
                return;
            }
            self.buf.push(byte | 0x80);
        }
    }

    pub fn usize(&mut self, v: usize) {
        self.var(v as u64);
    }

    /// Zigzag, then LEB128.
    pub fn int(&mut self, v: i64) {
        self.var(((v << 1) ^ (v >> 63)) as u64);
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.usize(b.len());
        self.buf.extend_from_slice(b);
    }

    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// A section: tag, length, contents.
    pub fn section(&mut self, tag: u8, contents: &Writer) {
        self.u8(tag);
        self.bytes(&contents.buf);
    }
}

/// A cursor over body bytes; every read is bounds-checked and fails with a
/// [`BundleError::Malformed`] naming what was being read.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// What this reader decodes, for messages.
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader {
            bytes,
            pos: 0,
            what,
        }
    }

    pub fn error(&self, message: impl Into<String>) -> BundleError {
        BundleError::Malformed {
            section: self.what,
            offset: self.pos,
            message: message.into(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    pub fn u8(&mut self) -> Result<u8, BundleError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.error("unexpected end"))?;
        self.pos += 1;
        Ok(b)
    }

    #[inline]
    pub fn var(&mut self) -> Result<u64, BundleError> {
        // Most varints of a bundle are one byte.
        if let Some(&b) = self.bytes.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        self.var_long()
    }

    #[inline(never)]
    fn var_long(&mut self) -> Result<u64, BundleError> {
        let mut v: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                return Err(self.error("varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                // The shortest encoding only, so that every value has one byte form.
                if b == 0 && shift > 0 {
                    return Err(self.error("varint is not in its shortest form"));
                }
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(self.error("varint too long"));
            }
        }
    }

    /// A varint that must fit `u32`.
    pub fn u32(&mut self) -> Result<u32, BundleError> {
        let v = self.var()?;
        u32::try_from(v).map_err(|_| self.error(format!("value {v} does not fit 32 bits")))
    }

    /// A count of items that each take at least `min_bytes` bytes, bounded by the bytes left,
    /// so that a corrupted count never makes the reader allocate much.
    pub fn count(&mut self, min_bytes: usize) -> Result<usize, BundleError> {
        let n = self.var()?;
        let limit = (self.remaining() / min_bytes.max(1)) as u64;
        if n > limit {
            return Err(self.error(format!(
                "count {n} exceeds what the remaining {} bytes can hold",
                self.remaining()
            )));
        }
        Ok(n as usize)
    }

    /// A varint that must be below `bound`.
    #[inline]
    pub fn index(&mut self, bound: usize, what: &str) -> Result<usize, BundleError> {
        let v = self.var()?;
        if v >= bound as u64 {
            return Err(self.error(format!("{what} {v} out of range (< {bound})")));
        }
        Ok(v as usize)
    }

    pub fn int(&mut self) -> Result<i64, BundleError> {
        let z = self.var()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    pub fn bool(&mut self) -> Result<bool, BundleError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.error(format!("expected a boolean byte, found {b}"))),
        }
    }

    /// The next `n` bytes, without reading past them (`None` when fewer are left).
    #[inline]
    pub fn peek(&self, n: usize) -> Option<&'a [u8]> {
        self.bytes.get(self.pos..self.pos.checked_add(n)?)
    }

    /// Moves past `n` bytes that [`Reader::peek`] showed.
    #[inline]
    pub fn skip(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.bytes.len());
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], BundleError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.error(format!("{n} bytes announced, fewer left")))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], BundleError> {
        let n = self.var()?;
        let n = usize::try_from(n).map_err(|_| self.error("length overflows"))?;
        self.take(n)
    }

    pub fn str(&mut self) -> Result<&'a str, BundleError> {
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| self.error("string is not UTF-8"))
    }

    /// The next section, which must carry `want`.
    pub fn section(&mut self, want: u8) -> Result<Reader<'a>, BundleError> {
        let got = self.u8()?;
        if got != want {
            return Err(self.error(format!(
                "expected section `{}` ({want}), found tag {got}",
                tag::name(want)
            )));
        }
        let body = self.bytes()?;
        Ok(Reader::new(body, tag::name(want)))
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), BundleError> {
        if self.pos != self.bytes.len() {
            return Err(self.error(format!(
                "{} unread bytes at the end",
                self.bytes.len() - self.pos
            )));
        }
        Ok(())
    }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

/// Wraps a body into a complete unsigned envelope (the signature length is 0).
pub fn seal(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + DIGEST_LEN + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
    let digest = sha256(&out);
    out.extend_from_slice(&digest);
    out.extend_from_slice(&0u32.to_le_bytes());
    out
}

/// The parts of an envelope whose structure and digest have been checked.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub body: &'a [u8],
    pub digest: [u8; 32],
    /// The JWS compact serialization, when the bundle is signed.
    pub signature: Option<&'a str>,
    /// The signed part: header, body and digest (everything the signature section follows).
    pub signed_len: usize,
}

/// The body that [`open`] would return, found from the header's length alone (nothing is
/// checked), so that decoding it can start while [`open`] checks the digest.
pub fn body_unchecked(bytes: &[u8]) -> Option<&[u8]> {
    let len = u64::from_le_bytes(bytes.get(8..HEADER_LEN)?.try_into().ok()?);
    let end = HEADER_LEN.checked_add(usize::try_from(len).ok()?)?;
    bytes.get(HEADER_LEN..end)
}

/// Checks magic, version, lengths and digest.
pub fn open(bytes: &[u8]) -> Result<Envelope<'_>, BundleError> {
    if bytes.len() < HEADER_LEN {
        if !bytes.is_empty() && !MAGIC.starts_with(&bytes[..bytes.len().min(4)]) {
            return Err(BundleError::NotABundle);
        }
        return Err(BundleError::Truncated {
            needed: HEADER_LEN,
            found: bytes.len(),
        });
    }
    if &bytes[..4] != MAGIC {
        return Err(BundleError::NotABundle);
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != VERSION {
        return Err(BundleError::Version { found: version });
    }
    let flags = u16::from_le_bytes([bytes[6], bytes[7]]);
    if flags != 0 {
        return Err(BundleError::Flags(flags));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[8..16]);
    let body_len = u64::from_le_bytes(len);
    let digest_end = usize::try_from(body_len)
        .ok()
        .and_then(|b| b.checked_add(HEADER_LEN + DIGEST_LEN));
    let Some(digest_end) =
        digest_end.filter(|&e| e.checked_add(4).is_some_and(|t| t <= bytes.len()))
    else {
        return Err(BundleError::Truncated {
            needed: (body_len as usize).saturating_add(HEADER_LEN + DIGEST_LEN + 4),
            found: bytes.len(),
        });
    };
    let body_end = digest_end - DIGEST_LEN;
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&bytes[body_end..digest_end]);
    if sha256(&bytes[..body_end]) != digest {
        return Err(BundleError::Digest);
    }
    let mut sl = [0u8; 4];
    sl.copy_from_slice(&bytes[digest_end..digest_end + 4]);
    let sig_len = u32::from_le_bytes(sl) as usize;
    let sig_start = digest_end + 4;
    let total = sig_start.checked_add(sig_len);
    match total {
        Some(t) if t == bytes.len() => {}
        Some(t) if t > bytes.len() => {
            return Err(BundleError::Truncated {
                needed: t,
                found: bytes.len(),
            })
        }
        _ => {
            return Err(BundleError::Trailing {
                extra: bytes
                    .len()
                    .saturating_sub(sig_start.saturating_add(sig_len)),
            })
        }
    }
    let signature = if sig_len == 0 {
        None
    } else {
        Some(
            std::str::from_utf8(&bytes[sig_start..])
                .map_err(|_| BundleError::Signature("the signature is not ASCII text".into()))?,
        )
    };
    Ok(Envelope {
        body: &bytes[HEADER_LEN..body_end],
        digest,
        signature,
        signed_len: digest_end,
    })
}

/// Replaces the signature of a sealed bundle.
pub fn with_signature(bytes: &[u8], signed_len: usize, jws: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(signed_len + 4 + jws.len());
    out.extend_from_slice(&bytes[..signed_len]);
    out.extend_from_slice(&(jws.len() as u32).to_le_bytes());
    out.extend_from_slice(jws.as_bytes());
    out
}
