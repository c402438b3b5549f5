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

fn assert_none_of(text: &str, kind: PiiType) {
    let f = found(text);
    assert!(
        f.iter().all(|(k, _)| *k != kind),
        "expected no {kind:?} in {text:?}, got {f:?}"
    );
}

fn assert_clean(text: &str) {
    let f = found(text);
    assert!(f.is_empty(), "expected nothing in {text:?}, got {f:?}");
}

#[test]
fn email_true_and_near_misses() {
    assert_finds(
        "mail test@example.com now",
        PiiType::Email,
        "test@example.com",
    );
    assert_finds(
        "<first.last+tag@sub.example.co.uk>",
        PiiType::Email,
        "first.last+tag@sub.example.co.uk",
    );
    assert_finds(
        "End with a dot: a_b@x-y.org.",
        PiiType::Email,
        "a_b@x-y.org",
    );
    assert_clean("@mention in a tweet");
    assert_clean("user@localhost is not routable");
    assert_clean("price: 5 @ 3.50 each");
    assert_clean("foo@bar.c0m");
}

#[test]
fn ssn_true_and_near_misses() {
    assert_finds("My SSN is 123-45-6789.", PiiType::Ssn, "123-45-6789");
    assert_finds("ssn: 123 45 6789", PiiType::Ssn, "123 45 6789");
    assert_finds("SSN 078051120 on file", PiiType::Ssn, "078051120");
    assert_finds("SSN 123-45-6789 5 times", PiiType::Ssn, "123-45-6789");
    for bad in [
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "987-65-4321",
        "123-00-4567",
        "123-45-0000",
    ] {
        assert_none_of(&format!("SSN {bad}"), PiiType::Ssn);
    }
    assert_none_of("order 123456789 shipped", PiiType::Ssn);
    assert_none_of("ref 1123-45-67890", PiiType::Ssn);
}

#[test]
fn credit_card_true_and_near_misses() {
    assert_finds(
        "card 4111 1111 1111 1111 exp",
        PiiType::CreditCard,
        "4111 1111 1111 1111",
    );
    assert_finds(
        "card 4111-1111-1111-1111",
        PiiType::CreditCard,
        "4111-1111-1111-1111",
    );
    assert_finds(
        "amex 3782 822463 10005",
        PiiType::CreditCard,
        "3782 822463 10005",
    );
    assert_finds(
        "mc:5500005555555559",
        PiiType::CreditCard,
        "5500005555555559",
    );
    assert_none_of("card 4111 1111 1111 1112", PiiType::CreditCard);
    assert_none_of("id 1234567812345670", PiiType::CreditCard);
    assert_none_of("zeros 0000 0000 0000 0000", PiiType::CreditCard);
    assert_none_of("Order #4111111111111112", PiiType::CreditCard);
}

#[test]
fn phone_true_and_near_misses() {
    assert_finds(
        "call (555) 234-5678 today",
        PiiType::Phone,
        "(555) 234-5678",
    );
    assert_finds("call 555-123-4567", PiiType::Phone, "555-123-4567");
    assert_finds("call 415.555.0199", PiiType::Phone, "415.555.0199");
    assert_finds("intl +44 20 7946 0958", PiiType::Phone, "+44 20 7946 0958");
    assert_finds("us +1 (415) 555-0199", PiiType::Phone, "+1 (415) 555-0199");
    assert_finds("us 1-800-555-0199", PiiType::Phone, "1-800-555-0199");
    assert_finds("e164 +14155550199", PiiType::Phone, "+14155550199");
    assert_clean("date 2024-01-15 and 01/15/2024 and 15.01.2024");
    assert_none_of("version 123-456-7890", PiiType::Phone);
    assert_none_of("order 5552345678 shipped", PiiType::Phone);
    assert_clean("at 12:30:45 today");
}

#[test]
fn ip_true_and_near_misses() {
    assert_finds("host 192.168.1.10 up", PiiType::IpAddress, "192.168.1.10");
    assert_finds("net 10.0.0.0/8", PiiType::IpAddress, "10.0.0.0");
    assert_finds(
        "v6 2001:db8::8a2e:370:7334 ok",
        PiiType::IpAddress,
        "2001:db8::8a2e:370:7334",
    );
    assert_finds("loopback ::1.", PiiType::IpAddress, "::1");
    assert_none_of("bad 999.1.1.1", PiiType::IpAddress);
    assert_none_of("bad 256.1.1.1", PiiType::IpAddress);
    assert_none_of("Upgrade to version 1.2.3.4 now", PiiType::IpAddress);
    assert_none_of("release v1.2.3.4", PiiType::IpAddress);
    assert_none_of("octal 01.02.03.04", PiiType::IpAddress);
    assert_none_of("five 1.2.3.4.5", PiiType::IpAddress);
    assert_none_of("use std::io::Result", PiiType::IpAddress);
    assert_none_of("mac 00:1A:2B:3C:4D:5E", PiiType::IpAddress);
}

#[test]
fn iban_true_and_near_misses() {
    assert_finds(
        "pay DE89370400440532013000 now",
        PiiType::Iban,
        "DE89370400440532013000",
    );
    assert_finds(
        "IBAN: GB82 WEST 1234 5698 7654 32.",
        PiiType::Iban,
        "GB82 WEST 1234 5698 7654 32",
    );
    assert_none_of("pay DE89370400440532013001 now", PiiType::Iban);
    assert_none_of("code XX89370400440532013000", PiiType::Iban);
}

#[test]
fn secrets_true_and_near_misses() {
    assert_finds(
        "key AKIAIOSFODNN7EXAMPLE used",
        PiiType::AwsAccessKey,
        "AKIAIOSFODNN7EXAMPLE",
    );
    assert_none_of("AKIAIOSFODNN7EXAMPLEX", PiiType::AwsAccessKey);
    assert_none_of("akiaiosfodnn7example", PiiType::AwsAccessKey);
    let gh = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
    assert_finds(&format!("token {gh}"), PiiType::ApiToken, gh);
    let sk = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1w";
    assert_finds(&format!("OPENAI_KEY={sk}"), PiiType::ApiToken, sk);
    assert_finds(
        "slack xoxb-123456789012-abcdefABCDEF12",
        PiiType::ApiToken,
        "xoxb-123456789012-abcdefABCDEF12",
    );
    assert_none_of("use sk-learn-and-pandas-together-nicely", PiiType::ApiToken);
    assert_none_of("a task-force", PiiType::ApiToken);
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    assert_finds(&format!("Bearer {jwt}"), PiiType::Jwt, jwt);
    assert_none_of("eyJunk.notajwt.atall", PiiType::Jwt);
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
    assert_finds(&format!("key:\n{pem}\nend"), PiiType::PrivateKey, pem);
    assert_none_of(
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        PiiType::PrivateKey,
    );
}

#[test]
fn passwords_and_url_credentials() {
    assert_finds("password=hunter2!", PiiType::Password, "hunter2!");
    assert_finds(
        "DB_PASSWORD: \"s3cr3t pass\"",
        PiiType::Password,
        "s3cr3t pass",
    );
    assert_finds(
        "{\"api_key\": \"abcd1234efgh\"}",
        PiiType::Password,
        "abcd1234efgh",
    );
    assert_finds(
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG",
        PiiType::Password,
        "wJalrXUtnFEMI/K7MDENG",
    );
    assert_finds(
        "my password is Tr0ub4dor&3",
        PiiType::Password,
        "Tr0ub4dor&3",
    );
    assert_none_of("the password is required", PiiType::Password);
    assert_none_of("password: ********", PiiType::Password);
    assert_none_of("password=${DB_PASSWORD}", PiiType::Password);
    assert_none_of("max_tokens: 512", PiiType::Password);
    assert_none_of("passwordless: true", PiiType::Password);
    assert_none_of("if token == other", PiiType::Password);
    assert_finds(
        "db postgres://admin:s3cret@db.example.com:5432/app",
        PiiType::UrlCredentials,
        "postgres://admin:s3cret@db.example.com:5432",
    );
    assert_none_of("see https://example.com/path?a=b", PiiType::UrlCredentials);
    assert_none_of("git@github.com:org/repo", PiiType::UrlCredentials);
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
    assert_eq!(mask(PiiType::Password, "hunter2"), "********");
}

#[test]
fn unicode_text_does_not_confuse_spans() {
    let text = "Ünïcödé 🎉 mail: test@example.com, SSN 123-45-6789";
    assert_finds(text, PiiType::Email, "test@example.com");
    assert_finds(text, PiiType::Ssn, "123-45-6789");
}
