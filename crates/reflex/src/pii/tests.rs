use super::*;

fn found(text: &str) -> Vec<(PiiType, String)> {
    let d = PiiDetector::new().unwrap();
    d.detect(text)
        .into_iter()
        .map(|f| (f.kind, text[f.start..f.end].to_string()))
        .collect()
}

fn assert_finds(text: &str, kind: PiiType, value: &str) {
    let f = found(text);
    assert!(
        f.iter().any(|(k, v)| *k == kind && v == value),
        "expected {kind:?} {value:?} in {text:?}, got {f:?}"
    );
}

/// Each case is a text and the value of `kind` it must be found as.
fn finds_all(kind: PiiType, cases: &[(&str, &str)]) {
    for (text, value) in cases {
        assert_finds(text, kind, value);
    }
}

fn finds_none(kind: PiiType, texts: &[&str]) {
    for text in texts {
        let f = found(text);
        assert!(
            f.iter().all(|(k, _)| *k != kind),
            "expected no {kind:?} in {text:?}, got {f:?}"
        );
    }
}

fn assert_clean(text: &str) {
    let f = found(text);
    assert!(f.is_empty(), "expected nothing in {text:?}, got {f:?}");
}

#[test]
fn email_true_and_near_misses() {
    finds_all(
        PiiType::Email,
        &[
            ("mail test@example.com now", "test@example.com"),
            (
                "<first.last+tag@sub.example.co.uk>",
                "first.last+tag@sub.example.co.uk",
            ),
            ("End with a dot: a_b@x-y.org.", "a_b@x-y.org"),
        ],
    );
    assert_clean("@mention in a tweet");
    assert_clean("user@localhost is not routable");
    assert_clean("price: 5 @ 3.50 each");
    assert_clean("foo@bar.c0m");
}

#[test]
fn ssn_true_and_near_misses() {
    finds_all(
        PiiType::Ssn,
        &[
            ("My SSN is 123-45-6789.", "123-45-6789"),
            ("ssn: 123 45 6789", "123 45 6789"),
            ("SSN 078051120 on file", "078051120"),
            ("SSN 123-45-6789 5 times", "123-45-6789"),
        ],
    );
    for bad in [
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "987-65-4321",
        "123-00-4567",
        "123-45-0000",
    ] {
        finds_none(PiiType::Ssn, &[&format!("SSN {bad}")]);
    }
    finds_none(
        PiiType::Ssn,
        &["order 123456789 shipped", "ref 1123-45-67890"],
    );
}

#[test]
fn credit_card_true_and_near_misses() {
    finds_all(
        PiiType::CreditCard,
        &[
            ("card 4111 1111 1111 1111 exp", "4111 1111 1111 1111"),
            ("card 4111-1111-1111-1111", "4111-1111-1111-1111"),
            ("amex 3782 822463 10005", "3782 822463 10005"),
            ("mc:5500005555555559", "5500005555555559"),
        ],
    );
    finds_none(
        PiiType::CreditCard,
        &[
            "card 4111 1111 1111 1112",
            "id 1234567812345670",
            "zeros 0000 0000 0000 0000",
            "Order #4111111111111112",
        ],
    );
}

#[test]
fn phone_true_and_near_misses() {
    finds_all(
        PiiType::Phone,
        &[
            ("call (555) 234-5678 today", "(555) 234-5678"),
            ("call 555-123-4567", "555-123-4567"),
            ("call 415.555.0199", "415.555.0199"),
            ("intl +44 20 7946 0958", "+44 20 7946 0958"),
            ("us +1 (415) 555-0199", "+1 (415) 555-0199"),
            ("us 1-800-555-0199", "1-800-555-0199"),
            ("e164 +14155550199", "+14155550199"),
        ],
    );
    assert_clean("date 2024-01-15 and 01/15/2024 and 15.01.2024");
    finds_none(
        PiiType::Phone,
        &["version 123-456-7890", "order 5552345678 shipped"],
    );
    assert_clean("at 12:30:45 today");
}

#[test]
fn ip_true_and_near_misses() {
    finds_all(
        PiiType::IpAddress,
        &[
            ("host 192.168.1.10 up", "192.168.1.10"),
            ("net 10.0.0.0/8", "10.0.0.0"),
            ("v6 2001:db8::8a2e:370:7334 ok", "2001:db8::8a2e:370:7334"),
            ("loopback ::1.", "::1"),
        ],
    );
    finds_none(
        PiiType::IpAddress,
        &[
            "bad 999.1.1.1",
            "bad 256.1.1.1",
            "Upgrade to version 1.2.3.4 now",
            "release v1.2.3.4",
            "octal 01.02.03.04",
            "five 1.2.3.4.5",
            "use std::io::Result",
            "mac 00:1A:2B:3C:4D:5E",
        ],
    );
}

#[test]
fn iban_true_and_near_misses() {
    finds_all(
        PiiType::Iban,
        &[
            ("pay DE89370400440532013000 now", "DE89370400440532013000"),
            (
                "IBAN: GB82 WEST 1234 5698 7654 32.",
                "GB82 WEST 1234 5698 7654 32",
            ),
        ],
    );
    finds_none(
        PiiType::Iban,
        &[
            "pay DE89370400440532013001 now",
            "code XX89370400440532013000",
        ],
    );
}

#[test]
fn secrets_true_and_near_misses() {
    assert_finds(
        "key AKIAIOSFODNN7EXAMPLE used",
        PiiType::AwsAccessKey,
        "AKIAIOSFODNN7EXAMPLE",
    );
    finds_none(
        PiiType::AwsAccessKey,
        &["AKIAIOSFODNN7EXAMPLEX", "akiaiosfodnn7example"],
    );
    let gh = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
    let sk = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1w";
    finds_all(
        PiiType::ApiToken,
        &[
            (&format!("token {gh}"), gh),
            (&format!("OPENAI_KEY={sk}"), sk),
            (
                "slack xoxb-123456789012-abcdefABCDEF12",
                "xoxb-123456789012-abcdefABCDEF12",
            ),
        ],
    );
    finds_none(
        PiiType::ApiToken,
        &["use sk-learn-and-pandas-together-nicely", "a task-force"],
    );
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    assert_finds(&format!("Bearer {jwt}"), PiiType::Jwt, jwt);
    finds_none(PiiType::Jwt, &["eyJunk.notajwt.atall"]);
    // A header written with spaces after the colons, after a keyword that
    // would otherwise claim the value as a password.
    let spaced = "eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiMTIzNDU2Nzg5MCJ9.Y1pPCrVriOfVJ9o1P3O1pfecQgls42XgmKr5-tMSwYE";
    for ctx in [
        "token={}",
        "token: {}",
        "{\"id_token\": \"{}\"}",
        "api_key={}",
        "the session token is {} ok",
    ] {
        assert_finds(&ctx.replace("{}", spaced), PiiType::Jwt, spaced);
    }
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
    assert_finds(&format!("key:\n{pem}\nend"), PiiType::PrivateKey, pem);
    finds_none(
        PiiType::PrivateKey,
        &["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"],
    );
}

#[test]
fn passwords_and_url_credentials() {
    finds_all(
        PiiType::Password,
        &[
            ("password=hunter2!", "hunter2!"),
            ("DB_PASSWORD: \"s3cr3t pass\"", "s3cr3t pass"),
            ("{\"api_key\": \"abcd1234efgh\"}", "abcd1234efgh"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG",
                "wJalrXUtnFEMI/K7MDENG",
            ),
            ("my password is Tr0ub4dor&3", "Tr0ub4dor&3"),
        ],
    );
    finds_none(
        PiiType::Password,
        &[
            "the password is required",
            "password: ********",
            "password=${DB_PASSWORD}",
            "max_tokens: 512",
            "passwordless: true",
            "if token == other",
        ],
    );
    assert_finds(
        "db postgres://admin:s3cret@db.example.com:5432/app",
        PiiType::UrlCredentials,
        "postgres://admin:s3cret@db.example.com:5432",
    );
    finds_none(
        PiiType::UrlCredentials,
        &[
            "see https://example.com/path?a=b",
            "git@github.com:org/repo",
            // Already masked: what a redacted log line shows.
            "db postgres://admin:****@db.example.com:5432/app",
        ],
    );
}

#[test]
fn overlaps_keep_the_most_specific() {
    // The email inside URL credentials is reported once, as the credentials.
    let f = found("https://bob:pw12@mail.example.com/x");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, PiiType::UrlCredentials);
}

#[test]
fn masks_hide_the_value() {
    assert_eq!(mask(PiiType::Ssn, "123-45-6789"), "***-**-6789");
    assert_eq!(
        mask(PiiType::CreditCard, "4111 1111 1111 1111"),
        "**** **** **** 1111"
    );
    assert_eq!(mask(PiiType::Email, "test@example.com"), "t***@example.com");
    assert_eq!(
        mask(PiiType::Iban, "DE89370400440532013000"),
        "DE****************3000"
    );
    assert_eq!(
        mask(PiiType::UrlCredentials, "postgres://admin:s3cret@db:5432"),
        "postgres://admin:****@db:5432"
    );
    assert_eq!(
        mask(PiiType::AwsAccessKey, "AKIAIOSFODNN7EXAMPLE"),
        "AKIA****************"
    );
    assert!(!mask(PiiType::ApiToken, "ghp_abcdefgh").contains("abcdefgh"));
    assert_eq!(mask(PiiType::ApiToken, "ghp_abcdefgh"), "ghp_****");
    assert_eq!(mask(PiiType::IpAddress, "10.20.30.40"), "10.***.***.***");
    assert_eq!(mask(PiiType::IpAddress, "2001:db8::1"), "2001:****");
    assert_eq!(mask(PiiType::Email, "élan@example.com"), "é***@example.com");
    assert_eq!(mask(PiiType::Email, "@example.com"), "****@example.com");
    assert_eq!(mask(PiiType::Password, "hunter2"), "********");
}

#[test]
fn unicode_text_does_not_confuse_spans() {
    let text = "Ünïcödé 🎉 mail: test@example.com, SSN 123-45-6789";
    assert_finds(text, PiiType::Email, "test@example.com");
    assert_finds(text, PiiType::Ssn, "123-45-6789");
}

#[test]
fn a_long_password_ends_on_a_character_boundary() {
    // Found by the reflex_detect fuzz target: the 256-byte cap on an
    // unquoted value cut a character in two, and redacting the finding
    // panicked on slicing there.
    let d = PiiDetector::new().unwrap();
    for pad in 0..4 {
        let text = format!("password: {}{}", "x".repeat(pad), "\u{FFFD}".repeat(100));
        let f = d.detect(&text);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(text.is_char_boundary(f[0].start) && text.is_char_boundary(f[0].end));
        assert!(f[0].end - f[0].start <= 256);
    }
}
