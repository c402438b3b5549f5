//! Checksums and numbering rules that separate real identifiers from
//! look-alike digit strings.

/// Luhn mod-10 over ASCII digits.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn prefix_num(digits: &[u8], n: usize) -> u32 {
    digits
        .iter()
        .take(n)
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
}

/// Whether `digits` starts with a known issuer prefix and has a length that
/// issuer uses.
pub fn card_issuer_ok(digits: &[u8]) -> bool {
    let len = digits.len();
    let p1 = prefix_num(digits, 1);
    let p2 = prefix_num(digits, 2);
    let p3 = prefix_num(digits, 3);
    let p4 = prefix_num(digits, 4);
    let p6 = prefix_num(digits, 6);
    // Visa
    (p1 == 4 && matches!(len, 13 | 16 | 19))
        // Mastercard, including the 2-series
        || ((51..=55).contains(&p2) && len == 16)
        || ((2221..=2720).contains(&p4) && len == 16)
        // American Express
        || ((p2 == 34 || p2 == 37) && len == 15)
        // Discover
        || ((p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) || (622_126..=622_925).contains(&p6))
            && (16..=19).contains(&len))
        // JCB
        || ((3528..=3589).contains(&p4) && (16..=19).contains(&len))
        // Diners Club
        || (((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39) && (14..=19).contains(&len))
        // UnionPay
        || (p2 == 62 && (16..=19).contains(&len))
        // Maestro
        || ((p2 == 50 || (56..=58).contains(&p2) || p2 == 63 || p2 == 67) && (12..=19).contains(&len))
}

/// A plausible payment card number: issuer, length, Luhn, and not a
/// repeated filler digit.
pub fn credit_card(digits: &[u8]) -> bool {
    (12..=19).contains(&digits.len())
        && !digits.iter().all(|d| *d == digits[0])
        && card_issuer_ok(digits)
        && luhn(digits)
}

/// SSA rules: area 000, 666 and 900–999 were never issued, nor group 00 or
/// serial 0000.
pub fn ssn_parts(area: &[u8], group: &[u8], serial: &[u8]) -> bool {
    let a = prefix_num(area, 3);
    let g = prefix_num(group, 2);
    let s = prefix_num(serial, 4);
    area.len() == 3
        && group.len() == 2
        && serial.len() == 4
        && a != 0
        && a != 666
        && a < 900
        && g != 0
        && s != 0
}

/// IBAN lengths by country (ISO 13616 registry).
fn iban_length(country: &[u8]) -> Option<usize> {
    const TABLE: &[(&[u8; 2], usize)] = &[
        (b"AD", 24),
        (b"AE", 23),
        (b"AL", 28),
        (b"AT", 20),
        (b"AZ", 28),
        (b"BA", 20),
        (b"BE", 16),
        (b"BG", 22),
        (b"BH", 22),
        (b"BR", 29),
        (b"BY", 28),
        (b"CH", 21),
        (b"CR", 22),
        (b"CY", 28),
        (b"CZ", 24),
        (b"DE", 22),
        (b"DK", 18),
        (b"DO", 28),
        (b"EE", 20),
        (b"EG", 29),
        (b"ES", 24),
        (b"FI", 18),
        (b"FO", 18),
        (b"FR", 27),
        (b"GB", 22),
        (b"GE", 22),
        (b"GI", 23),
        (b"GL", 18),
        (b"GR", 27),
        (b"GT", 28),
        (b"HR", 21),
        (b"HU", 28),
        (b"IE", 22),
        (b"IL", 23),
        (b"IQ", 23),
        (b"IS", 26),
        (b"IT", 27),
        (b"JO", 30),
        (b"KW", 30),
        (b"KZ", 20),
        (b"LB", 28),
        (b"LC", 32),
        (b"LI", 21),
        (b"LT", 20),
        (b"LU", 20),
        (b"LV", 21),
        (b"MC", 27),
        (b"MD", 24),
        (b"ME", 22),
        (b"MK", 19),
        (b"MR", 27),
        (b"MT", 31),
        (b"MU", 30),
        (b"NL", 18),
        (b"NO", 15),
        (b"PK", 24),
        (b"PL", 28),
        (b"PS", 29),
        (b"PT", 25),
        (b"QA", 29),
        (b"RO", 24),
        (b"RS", 22),
        (b"SA", 24),
        (b"SC", 31),
        (b"SE", 24),
        (b"SI", 19),
        (b"SK", 24),
        (b"SM", 27),
        (b"ST", 25),
        (b"SV", 28),
        (b"TL", 23),
        (b"TN", 24),
        (b"TR", 26),
        (b"UA", 29),
        (b"VA", 22),
        (b"VG", 24),
        (b"XK", 20),
    ];
    TABLE
        .iter()
        .find(|(c, _)| c.as_slice() == country)
        .map(|(_, n)| *n)
}

/// Expected length of an IBAN starting with `country`, if the country uses IBANs.
pub fn iban_expected_len(country: &[u8]) -> Option<usize> {
    iban_length(country)
}

/// ISO 7064 mod-97-10 over a compact (no spaces) uppercase IBAN.
pub fn iban_mod97(compact: &[u8]) -> bool {
    if compact.len() < 15 {
        return false;
    }
    let rearranged = compact[4..].iter().chain(&compact[..4]);
    let mut rem: u32 = 0;
    for &c in rearranged {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_values() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"79927398713"));
        assert!(!luhn(b"4111111111111112"));
    }

    #[test]
    fn cards() {
        for ok in [
            &b"4111111111111111"[..],
            b"5500005555555559",
            b"378282246310005",
            b"6011111111111117",
            b"3530111333300000",
            b"30569309025904",
            b"2223003122003222",
        ] {
            assert!(credit_card(ok), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"4111111111111112"[..],
            b"0000000000000000",
            b"1234567812345670",
            b"9111111111111111",
        ] {
            assert!(!credit_card(bad), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn ssn_rules() {
        assert!(ssn_parts(b"123", b"45", b"6789"));
        assert!(!ssn_parts(b"000", b"45", b"6789"));
        assert!(!ssn_parts(b"666", b"45", b"6789"));
        assert!(!ssn_parts(b"912", b"45", b"6789"));
        assert!(!ssn_parts(b"123", b"00", b"6789"));
        assert!(!ssn_parts(b"123", b"45", b"0000"));
    }

    #[test]
    fn iban_checksum() {
        assert!(iban_mod97(b"DE89370400440532013000"));
        assert!(iban_mod97(b"GB82WEST12345698765432"));
        assert!(!iban_mod97(b"DE89370400440532013001"));
        assert_eq!(iban_expected_len(b"DE"), Some(22));
        assert_eq!(iban_expected_len(b"US"), None);
    }
}
