//! IMAP modified UTF-7 (RFC 3501 §5.1.3) for folder names such as
//! `Nosūtītās vēstules`: the config holds readable names, the wire holds
//! the encoded form.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Encode a folder name for the wire.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut pending);
    out
}

fn flush(out: &mut String, pending: &mut Vec<u16>) {
    if pending.is_empty() {
        return;
    }
    let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
    out.push('&');
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        let sextets = [(v >> 18) & 63, (v >> 12) & 63, (v >> 6) & 63, v & 63];
        for s in sextets.iter().take(n + 1) {
            out.push(B64[*s as usize] as char);
        }
    }
    out.push('-');
    pending.clear();
}

/// Decode a folder name from the wire; malformed input is returned as is.
pub fn decode(wire: &str) -> String {
    try_decode(wire).unwrap_or_else(|| wire.to_string())
}

fn try_decode(wire: &str) -> Option<String> {
    let mut out = String::with_capacity(wire.len());
    let mut rest = wire;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let end = after.find('-')?;
        let enc = &after[..end];
        if enc.is_empty() {
            out.push('&');
        } else {
            let mut bits: u32 = 0;
            let mut nbits = 0;
            let mut bytes = Vec::new();
            for b in enc.bytes() {
                let v = B64.iter().position(|&x| x == b)? as u32;
                bits = (bits << 6) | v;
                nbits += 6;
                if nbits >= 8 {
                    nbits -= 8;
                    bytes.push((bits >> nbits) as u8);
                    bits &= (1 << nbits) - 1;
                }
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            out.push_str(&String::from_utf16(&units).ok()?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let cases = [
            ("INBOX", "INBOX"),
            ("Sent", "Sent"),
            ("Tom & Jerry", "Tom &- Jerry"),
            // RFC 3501 example
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("Nosūtītās vēstules", "Nos&AWs-t&ASs-t&AQE-s v&ARM-stules"),
            ("Iesūtne/Ēka", "Ies&AWs-tne/&ARI-ka"),
        ];
        for (plain, wire) in cases {
            assert_eq!(encode(plain), wire, "encode {plain}");
            assert_eq!(decode(wire), plain, "decode {wire}");
        }
    }

    #[test]
    fn malformed_is_kept() {
        assert_eq!(decode("a&unterminated"), "a&unterminated");
        assert_eq!(decode("a&*-"), "a&*-");
    }
}
