//! Request and response bodies of the reflex layer (SPEC §3).

use serde::{Deserialize, Serialize};

/// The kinds of personal data and secrets the reflex layer recognises.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PiiType {
    Email,
    Ssn,
    CreditCard,
    Phone,
    IpAddress,
    Iban,
    UrlCredentials,
    AwsAccessKey,
    PrivateKey,
    Jwt,
    ApiToken,
    Password,
    /// A type from the operator's rules file; its `name` says which.
    Custom,
}

impl PiiType {
    pub const ALL: [PiiType; 13] = [
        PiiType::Email,
        PiiType::Ssn,
        PiiType::CreditCard,
        PiiType::Phone,
        PiiType::IpAddress,
        PiiType::Iban,
        PiiType::UrlCredentials,
        PiiType::AwsAccessKey,
        PiiType::PrivateKey,
        PiiType::Jwt,
        PiiType::ApiToken,
        PiiType::Password,
        PiiType::Custom,
    ];

    /// The name used in the API and in metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiType::Email => "email",
            PiiType::Ssn => "ssn",
            PiiType::CreditCard => "credit_card",
            PiiType::Phone => "phone",
            PiiType::IpAddress => "ip_address",
            PiiType::Iban => "iban",
            PiiType::UrlCredentials => "url_credentials",
            PiiType::AwsAccessKey => "aws_access_key",
            PiiType::PrivateKey => "private_key",
            PiiType::Jwt => "jwt",
            PiiType::ApiToken => "api_token",
            PiiType::Password => "password",
            PiiType::Custom => "custom",
        }
    }

    /// The placeholder written by the `label` redaction strategy.
    pub fn label(self) -> &'static str {
        match self {
            PiiType::Email => "[EMAIL]",
            PiiType::Ssn => "[SSN]",
            PiiType::CreditCard => "[CREDIT_CARD]",
            PiiType::Phone => "[PHONE]",
            PiiType::IpAddress => "[IP_ADDRESS]",
            PiiType::Iban => "[IBAN]",
            PiiType::UrlCredentials => "[URL_CREDENTIALS]",
            PiiType::AwsAccessKey => "[AWS_ACCESS_KEY]",
            PiiType::PrivateKey => "[PRIVATE_KEY]",
            PiiType::Jwt => "[JWT]",
            PiiType::ApiToken => "[API_TOKEN]",
            PiiType::Password => "[PASSWORD]",
            PiiType::Custom => "[CUSTOM]",
        }
    }

    /// Whether the value is a credential rather than personal data: secrets
    /// are never partially revealed by masking.
    pub fn is_secret(self) -> bool {
        matches!(
            self,
            PiiType::UrlCredentials
                | PiiType::AwsAccessKey
                | PiiType::PrivateKey
                | PiiType::Jwt
                | PiiType::ApiToken
                | PiiType::Password
        )
    }
}

/// Where a screened text comes from (SPEC §9.3). Tool output and documents
/// are data: instructions addressed to the assistant inside them weigh more.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    #[default]
    User,
    ToolOutput,
    Document,
}

/// Whether and how `redacted_text` is produced: `true` (the strategy's
/// replacement), `false` (none), or `"tokenize"`: each value becomes a
/// numbered placeholder (`[EMAIL_1]`) that `POST /api/v1/reflex/restore`
/// turns back into the value while the vault entry lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Redact {
    #[default]
    On,
    Off,
    Tokenize,
}

impl Redact {
    pub fn is_on(self) -> bool {
        self != Redact::Off
    }
}

/// `true`, `false` or `"tokenize"`, as [`Redact`]'s serde reads it.
impl utoipa::PartialSchema for Redact {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["tokenize"])),
            )
            .description(Some(
                "true: redact with the strategy; false: no redacted text; \"tokenize\": numbered placeholders kept in a vault",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Redact {}

impl Serialize for Redact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Redact::On => s.serialize_bool(true),
            Redact::Off => s.serialize_bool(false),
            Redact::Tokenize => s.serialize_str("tokenize"),
        }
    }
}

impl<'de> Deserialize<'de> for Redact {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize, utoipa::ToSchema)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Flag(true) => Ok(Redact::On),
            Raw::Flag(false) => Ok(Redact::Off),
            Raw::Word(w) if w == "tokenize" => Ok(Redact::Tokenize),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "redact must be true, false or \"tokenize\", not \"{w}\""
            ))),
        }
    }
}

/// `POST /api/v1/reflex/restore` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    pub vault_id: String,
    pub text: String,
}

/// `POST /api/v1/reflex/restore` answer: the text with its placeholders
/// replaced by the values they stand for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct RestoreResponse {
    pub text: String,
    /// How many placeholders were put back.
    pub restored: usize,
}

/// How detected values are replaced in `redacted_text`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RedactionStrategy {
    /// `***-**-6789`: keeps the least identifying tail of personal data.
    Mask,
    /// `[SSN]`.
    #[default]
    Label,
    /// `[SSN:1f2e3d4c5b6a]`: a keyed hash, equal values give equal tokens.
    Hash,
    /// Deletes the value.
    Remove,
}

/// Severity of an injection finding, ordered from least to most severe.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    Default,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[default]
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// One step less severe; `Low` stays `Low`.
    pub fn downgraded(self) -> Self {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

/// Families of prompt-injection technique.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InjectionCategory {
    InstructionOverride,
    SystemPromptExtraction,
    Jailbreak,
    DelimiterInjection,
    EncodedPayload,
    Obfuscation,
}

impl InjectionCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            InjectionCategory::InstructionOverride => "instruction_override",
            InjectionCategory::SystemPromptExtraction => "system_prompt_extraction",
            InjectionCategory::Jailbreak => "jailbreak",
            InjectionCategory::DelimiterInjection => "delimiter_injection",
            InjectionCategory::EncodedPayload => "encoded_payload",
            InjectionCategory::Obfuscation => "obfuscation",
        }
    }
}

/// `POST /api/v1/reflex/process` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ProcessRequest {
    #[schema(min_length = 1)]
    pub text: String,
    #[serde(default = "yes")]
    pub check_pii: bool,
    #[serde(default = "yes")]
    pub check_injection: bool,
    #[serde(default)]
    pub redact: Redact,
    #[serde(default)]
    pub redaction_strategy: RedactionStrategy,
    #[serde(default = "yes")]
    pub use_cache: bool,
    /// Rate-limit key when no API key is presented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Where the text comes from; `user` when absent.
    #[serde(default)]
    pub source: Source,
    /// With `"redact": "tokenize"`: an existing vault entry to tokenize
    /// against. Values it holds get their placeholders; any other value is
    /// labelled (`[EMAIL]`), and nothing is added to the vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_id: Option<String>,
}

impl ProcessRequest {
    /// A request with every check on and the default redaction.
    pub fn new(text: impl Into<String>) -> Self {
        ProcessRequest {
            text: text.into(),
            check_pii: true,
            check_injection: true,
            redact: Redact::On,
            redaction_strategy: RedactionStrategy::default(),
            use_cache: true,
            user_id: None,
            source: Source::User,
            vault_id: None,
        }
    }
}

fn yes() -> bool {
    true
}

/// One detected piece of personal data or secret. `value` is always masked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct PiiFinding {
    #[serde(rename = "type")]
    pub kind: PiiType,
    pub value: String,
    /// Character (Unicode scalar) offset into the original text.
    pub start: usize,
    pub end: usize,
    pub confidence: f32,
    /// For a `custom` finding, the rules file's name for its type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One prompt-injection finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct InjectionFinding {
    pub category: InjectionCategory,
    pub severity: Severity,
    pub confidence: f32,
    /// Identifier of the rule that fired.
    pub rule: String,
    /// The normalised text that matched, truncated.
    pub matched: String,
    /// Character offsets into the original text.
    pub start: usize,
    pub end: usize,
    /// Why the severity was lowered (quoted, negated…), when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Whether the text may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allowed,
    Blocked,
}

/// `POST /api/v1/reflex/process` answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ProcessResponse {
    pub request_id: String,
    pub safe: bool,
    pub status: Decision,
    pub pii_detected: Vec<PiiFinding>,
    pub injections: Vec<InjectionFinding>,
    /// The text with every detected value replaced; `null` when `redact` is false.
    pub redacted_text: Option<String>,
    /// With `"redact": "tokenize"`: the vault entry that restores the values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_severity: Option<Severity>,
    pub cached: bool,
    pub latency_ms: f64,
}

/// `POST /api/v1/reflex/batch` body: the options apply to every text.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct BatchRequest {
    #[schema(min_items = 1)]
    pub texts: Vec<String>,
    #[serde(default = "yes")]
    pub check_pii: bool,
    #[serde(default = "yes")]
    pub check_injection: bool,
    #[serde(default = "yes")]
    pub redact: bool,
    #[serde(default)]
    pub redaction_strategy: RedactionStrategy,
    #[serde(default = "yes")]
    pub use_cache: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// `POST /api/v1/reflex/batch` answer, one result per text in order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct BatchResponse {
    pub request_id: String,
    pub results: Vec<ProcessResponse>,
    pub count: usize,
    pub safe: bool,
    pub latency_ms: f64,
}
