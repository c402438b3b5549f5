//! The injection rule table.
//!
//! Rules are data: an id, what they mean (category, severity, confidence),
//! the literal anchors that must occur for the rule to be worth running, and
//! a pattern over the normalised word view (see `normalize`). Patterns are
//! written in plain lowercase English; when compiled, every space becomes
//! optional (so `i g n o r e all` joined to `ignoreall` still matches) and
//! every `l` also accepts `i` (leetspeak `1` folds to `i`).

use octollm_types::reflex::{InjectionCategory as C, Severity as S};

pub struct RuleSpec {
    pub id: &'static str,
    pub category: C,
    pub severity: S,
    pub confidence: f32,
    /// At least one of these occurs in any match; windows around them are searched.
    pub anchors: &'static [&'static str],
    /// When not empty, one of these must also occur near an anchor.
    pub also: &'static [&'static str],
    pub pattern: &'static str,
    /// A negation right before the match ("do not ignore…") makes it benign.
    pub negatable: bool,
}

#[allow(clippy::too_many_arguments)]
const fn rule(
    id: &'static str,
    category: C,
    severity: S,
    confidence: f32,
    anchors: &'static [&'static str],
    also: &'static [&'static str],
    pattern: &'static str,
    negatable: bool,
) -> RuleSpec {
    RuleSpec {
        id,
        category,
        severity,
        confidence,
        anchors,
        also,
        pattern,
        negatable,
    }
}

/// Two anchor lists as one, so a list that is part of another is written once.
const fn concat<const N: usize>(a: &[&'static str], b: &[&'static str]) -> [&'static str; N] {
    assert!(a.len() + b.len() == N, "N must be the sum of the lengths");
    let mut out = [""; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - a.len()];
        i += 1;
    }
    out
}

// Fragments are spliced with concat! so each rule stays one readable literal.
macro_rules! override_verb {
    () => {
        "(ignor(e|es|ing|ed)?|disregard(s|ing|ed)?|forget(ting)?|forgot|skip(ping)?|bypass(ing)?|overrid(e|ing)|overrule|overlook|drop|abandon|neglect|dismiss|discard|set aside|put aside|throw (away|out)|scrap|erase|wipe|nullify|pay no attention to|stop following|no longer follow|stop obeying|stop listening to)"
    };
}
macro_rules! rule_object {
    () => {
        "(instructions?|prompts?|rules?|directions?|directives?|guidelines?|commands?|orders|context|constraints?|guardrails?|restrictions?|programming|training|filters?|polic(y|ies)|messages?|guidance|limitations?|boundaries|safeguards?|ethics|morals|everything|all)"
    };
}
macro_rules! temporal {
    () => {
        "(previous(ly)?|prior|above|earlier|preceding|former|original|initial|old|foregoing|aforementioned|system|developer|pre ?set|built ?in|existing|current|given|provided|hidden|default)"
    };
}
macro_rules! qualifier {
    () => {
        "(all|any|every|each|the|your|my|our|these|those|its|of|that|this|such)"
    };
}

const OBJECTS: &[&str] = &[
    "instruction",
    "prompt",
    "rule",
    "direction",
    "directive",
    "guideline",
    "command",
    "order",
    "context",
    "constraint",
    "guardrail",
    "restriction",
    "programming",
    "training",
    "filter",
    "polic",
    "message",
    "guidance",
    "limitation",
    "boundar",
    "safeguard",
    "ethic",
    "moral",
    "everything",
    "all",
];
const SECRET_ADJECTIVES: &[&str] = &[
    "system",
    "hidden",
    "secret",
    "initial",
    "original",
    "internal",
    "developer",
    "pre",
    "starting",
    "base",
    "master",
    "core",
    "confidential",
];
// Rules run only where a rare anchor ("A") occurs, and where a second set
// is given, only if one of those ("B", often common words) is close by.
const RARE_OBJECTS: &[&str] = &[
    "instruction",
    "guideline",
    "directive",
    "guardrail",
    "safeguard",
    "programming",
    "polic",
    "restriction",
    "rules",
];
const OVERRIDE_A: &[&str] = &[
    "ignor",
    "disregard",
    "forget",
    "forgot",
    "bypass",
    "overrid",
    "overrule",
    "overlook",
    "neglect",
    "dismiss",
    "discard",
    "scrap",
    "erase",
    "wipe",
    "nullify",
    "abandon",
    "aside",
    "attention",
    "obeying",
    "instruction",
    "guideline",
    "directive",
    "guardrail",
    "safeguard",
];
const OVERRIDE_VERBS: &[&str] = &[
    "ignor",
    "disregard",
    "forget",
    "forgot",
    "skip",
    "bypass",
    "overrid",
    "overrule",
    "overlook",
    "drop",
    "abandon",
    "neglect",
    "dismiss",
    "discard",
    "aside",
    "throw",
    "scrap",
    "erase",
    "wipe",
    "nullify",
    "attention",
    "following",
    "obeying",
    "listening",
];
// Any override verb or rule object close by will do.
const OVERRIDE_B: &[&str] =
    &concat::<{ OVERRIDE_VERBS.len() + OBJECTS.len() }>(OVERRIDE_VERBS, OBJECTS);
const SAFETY_A: &[&str] = &[
    "bypass",
    "disable",
    "deactivate",
    "circumvent",
    "evade",
    "jailbr",
    "overrid",
    "guardrail",
    "safeguard",
    "censorship",
    "moderation",
];
const SAFETY_B: &[&str] = &[
    "filter",
    "restriction",
    "guardrail",
    "safeguard",
    "safety",
    "censorship",
    "moderation",
    "alignment",
    "protection",
    "limitation",
    "rules",
    "guideline",
    "feature",
    "measure",
    "protocol",
    "bypass",
    "disable",
    "turn",
    "switch",
    "remove",
    "deactivate",
    "circumvent",
    "evade",
    "get",
    "work",
    "break",
    "escape",
    "overrid",
    "jailbr",
    "ignor",
    "lift",
    "drop",
];
const LIMIT_NOUNS: &[&str] = &[
    "restriction",
    "limitation",
    "filter",
    "guideline",
    "rules",
    "censorship",
    "boundar",
    "constraint",
    "limits",
    "ethic",
    "moral",
    "polic",
    "principle",
];

pub static RULES: &[RuleSpec] = &[
    // ---- instruction override ------------------------------------------
    rule("override_previous_instructions", C::InstructionOverride, S::Critical, 0.95, OVERRIDE_A, OVERRIDE_B,
        concat!(override_verb!(), " (", qualifier!(), " ){0,3}", temporal!(), " (", qualifier!(), " |", temporal!(), " ){0,2}", rule_object!()),
        true),
    rule("override_all_rules", C::InstructionOverride, S::High, 0.85, OVERRIDE_A, OVERRIDE_B,
        concat!(override_verb!(), " (all|any|every|your|ur) (of )?(your |ur |the |my )?(", temporal!(), " )?", rule_object!()),
        true),
    rule("override_the_above", C::InstructionOverride, S::High, 0.85, OVERRIDE_A, &["above", "foregoing", "preceding"],
        concat!(override_verb!(), " (all of |everything |all )?(the |that |this )?(above|foregoing|preceding)( (text|content|input|message|messages|prompt|lines?|conversation|instructions))?(?-u:\\b)"),
        true),
    rule("override_object_above", C::InstructionOverride, S::Critical, 0.9, OVERRIDE_A, &["above", "before", "previous", "earlier", "prior"],
        concat!(override_verb!(), " (", qualifier!(), " ){0,3}", rule_object!(), " (above|before|given (above|before|earlier|previously)|from before|you (were|have been) given)"),
        true),
    rule("instructions_received", C::SystemPromptExtraction, S::Medium, 0.65, &["instruction", "guideline", "directive", "prompt"], &["received", "given", "told"],
        "(instructions|rules|guidelines|directives|prompt|orders) (that )?(you|u) (received|were given|have been given|got|were told)",
        false),
    rule("forget_everything_told", C::InstructionOverride, S::Critical, 0.9,
        &["forget", "forgot", "ignor", "disregard", "discard", "erase", "wipe"], &["everything", "anything", "whatever", "all"],
        "(forget|ignore|disregard|discard|erase|wipe|drop) (about )?(everything|anything|whatever|all( of it)?) (that )?(you (were|have been|ve been|ve|got|have) (told|given|taught|instructed|programmed|trained|learned)|(that was |that s been |i )?(said|written|stated|mentioned|told you|wrote)( (above|before|previously|earlier|so far))?|above|before|previously|prior|so far|until now|up to (now|this point))",
        true),
    rule("instructions_void", C::InstructionOverride, S::Critical, 0.9, &["void", "cancel", "null", "invalid", "obsolete", "outdated", "superseded", "revoked", "overridden", "overruled", "suspended", "deactivated", "longer"], OBJECTS,
        concat!("((previous|prior|above|earlier|preceding|original|old|initial|system|all|your) ", rule_object!(), "|(the|your|all|these|those) ", rule_object!(), " (above|before|given (above|before|earlier|previously)))( you (were|have been) given)? (are|is|have been|were|has been) (now |hereby )?(void|cancel+ed|null|invalid|obsolete|outdated|superseded|revoked|overridden|overruled|lifted|removed|suspended|disabled|deactivated|no longer (valid|apply|applicable|relevant|in effect|active|binding))"),
        false),
    rule("do_not_follow_instructions", C::InstructionOverride, S::High, 0.85, RARE_OBJECTS, &["follow", "obey", "adhere", "comply", "listen", "respect", "abide"],
        concat!("(do not|don t|never|stop|no longer|no need to) (follow|obey|adhere to|comply with|listen to|respect|abide by) (any of |any |all )?(your|ur|the|those|these|its) (", temporal!(), " )?", rule_object!()),
        false),
    rule("new_instructions", C::InstructionOverride, S::Medium, 0.7, &["instruction", "directive", "guideline", "objective", "orders", "task", "prompt", "rules"], &["new", "updated", "revised", "real", "actual", "true"],
        "(here are |these are |follow )?((your|the|my) )?(new|updated|revised|real|actual|true) (system )?(instructions?|rules|directives|orders|prompt|task|objective|guidelines)( are| is| follow)?",
        false),
    rule("from_now_on", C::InstructionOverride, S::Medium, 0.65, &["from now"], &[],
        "from now on,? (you|u) (will|must|are|shall|should|have to|can|re|ll)",
        false),
    rule("no_longer_bound", C::InstructionOverride, S::High, 0.85, &["longer"], &["bound", "restrict", "limit", "constrain", "govern", "required", "ai", "assistant", "chatbot", "chatgpt", "claude", "gpt", "language"],
        "(you|u) (are|re|r) no longer (bound|restricted|limited|constrained|governed|required|an ai|a language model|an assistant|a chatbot|chatgpt|claude|gpt)",
        false),
    rule("stop_being_assistant", C::Jailbreak, S::High, 0.8, &["assistant", "chatbot", "chatgpt", "claude", "helpful", "polite", " ai", "language model"], &["being", "acting"],
        "(stop|quit|cease) (being|acting as|acting like) (an? )?(ai|assistant|language model|chatbot|chatgpt|claude|helpful|polite|safe)",
        false),
    // Other languages: the same override, as commonly written.
    rule("override_multilingual", C::InstructionOverride, S::Critical, 0.9,
        &["ignor", "oubli", "olvida", "vergiss", "dimentica", "esquece"],
        &["instruction", "consigne", "instruccion", "indicacion", "anweisung", "instruktion", "regeln", "istruzion", "instruco"],
        "(ignor(e|ez|er|a|ar|e|iere|ieren)|oublie(z)?|olvida|vergiss|dimentica|esquece) (toutes |tous |todas |todos |alle |tutte |tutti |as |os |les |las |los |le |die )*(les |las |los |le |die |as |os )?(vorherigen |bisherigen |obigen |fruheren |vorigen |ursprunglichen )?(instructions?|consignes|instrucciones|indicaciones|anweisungen|instruktionen|regeln|istruzioni|instrucoes) ?(precedentes|anterieures|anteriores|previas|vorherigen|bisherigen|obigen|precedenti)?",
        true),
    rule("override_cjk", C::InstructionOverride, S::Critical, 0.9, &["忽略", "无视", "忘记", "無視", "忘れ", "무시"], &[],
        "(忽略|无视|忘记|無視)(掉)?(你)?(之前|以上|上面|先前|前面|所有|全部|原来|原有)(的)?(所有|全部)?(的)?(指令|指示|说明|規則|规则|提示|命令)|(以前|前|上記|これまで)の(指示|命令|ルール)を(無視|忘れ)|(이전|위의|모든) ?(지시|명령|지침)(을|를)? ?무시",
        false),
    // ---- system prompt extraction ---------------------------------------
    rule("reveal_system_prompt", C::SystemPromptExtraction, S::High, 0.9,
        &["prompt", "instruction", "preamble", "directive", "guideline", "programming", "system message", "system rules"], SECRET_ADJECTIVES,
        "(reveal|show|print|display|output|repeat|tell|give|leak|dump|expose|share|write|recite|echo|spell out|list|summari[sz]e|translate|paste|copy|provide|read|send|describe|disclose|divulge|what (is|are|was|were)|what s) (me |us )?(back )?(out )?((all|the|your|ur|its|this|that|of) ){1,3}((full|entire|exact|complete|original|initial|hidden|secret|internal|verbatim|first|real|actual|underlying|confidential|current|whole) )*(system|hidden|secret|initial|original|internal|developer|pre|starting|base|master|core|confidential) ?(prompt|instructions|message|preamble|directives|guidelines|rules|programming)",
        true),
    rule("contents_of_system_prompt", C::SystemPromptExtraction, S::High, 0.85, &["prompt", "instruction", "message", "preamble"], SECRET_ADJECTIVES,
        "(contents?|text|wording|words) of (your|ur|the) ((full|entire|exact|original|initial) )?(system|hidden|secret|initial|original|internal|developer) ?(prompt|message|instructions|preamble)",
        false),
    rule("reveal_your_instructions", C::SystemPromptExtraction, S::High, 0.8,
        &["prompt", "instruction", "preamble", "directive", "guideline", "programming"], &["your", "ur"],
        "(reveal|show|print|display|output|repeat|tell|leak|dump|expose|recite|spell out|disclose|divulge|paste|copy|share|give) (me |us )?(back )?(all )?(of )?(what |exactly what )?(your|ur) ((full|entire|exact|complete|original|initial|verbatim|real|actual|underlying) )*(prompt|instructions|rules|guidelines|directives|programming|preamble)",
        true),
    rule("what_were_you_told", C::SystemPromptExtraction, S::High, 0.85,
        &["instruction", "guideline", "directive", "prompt", "told", "instructed", "programmed"], &["what"],
        "what (instructions|rules|guidelines|directives|prompt|orders) (were|have|did) (you|u) (been )?(given|told|programmed with|trained with|receive|get)|what (were|have) (you|u) (been )?(told|instructed|programmed) (to do )?(before|at the start|initially|by your (developers|creators))",
        false),
    rule("repeat_text_above", C::SystemPromptExtraction, S::High, 0.85,
        &["verbatim", "repeat", "recite", "reproduce", "print", "dump", "spell out", "paste", "above"], &["above", "before", "prior", "preceding", "verbatim", "far", "beginning", "start", "top", "everything", "all", "text", "words"],
        "(repeat|print|output|show|display|write( out)?|copy|paste|recite|echo|return|reproduce|spell out|dump) (back )?(everything|all( of)?( the)?( text| words| content| messages?| lines?| instructions)?|the (text|words|content|message|lines?|instructions|conversation|sentences|prompt)|what (is|was) (written|said)) (that (is|was|appears) )?(above|before( this)?|prior|preceding|so far|verbatim|from the (start|beginning|top))",
        false),
    rule("first_line_of_prompt", C::SystemPromptExtraction, S::High, 0.8, &["prompt", "instruction"], &["first", "opening", "initial", "beginning", "start", "top"],
        "(first|opening|initial|beginning|start|top) (line|lines|sentence|sentences|words|paragraph|part)? ?of (your|ur|the) (system )?(prompt|instructions|context|context window)",
        false),
    // ---- jailbreak / role-play ------------------------------------------
    rule("dan", C::Jailbreak, S::Critical, 0.95, &[" dan", " stan", " dude", "mongo", "confidant", "anything now", "anythingnow"], &[],
        "do anything now|(you are|you re|ur|act as|pretend to be|become|roleplay as|role play as|play the role of|simulate|you will be) (now )?(an? )?(dan|stan|dude|mongo tom|evil confidant|betterdan|anti dan)(?-u:\\b)|(dan|stan|dude) (mode|jailbreak|prompt)",
        true),
    rule("privileged_mode", C::Jailbreak, S::High, 0.85, &["mode"], &[],
        "(enable|enabled|enter|entering|activate|activated|switch to|switching to|turn on|engage|you are in|you re in|now in|simulate|unlock|initiate|boot into) (the |a )?(developer|dev|god|sudo|admin|administrator|debug|jailbreak|jailbroken|unrestricted|unfiltered|uncensored|evil|chaos|opposite|maintenance|root|superuser|dan|no ?limits?) mode|(developer|god|sudo|jailbreak|jailbroken|unrestricted|unfiltered|dan) mode (is )?(enabled|activated|on|engaged|unlocked)",
        true),
    rule("unrestricted_persona", C::Jailbreak, S::High, 0.85,
        &["unrestricted", "unfiltered", "uncensored", "unlimited", "jailbr", "evil", "rogue", "amoral", "immoral", "unethical", "lawless", "malicious", "unaligned", "unbound", "unchained", "liberated", "rebellious", "uncontrolled"], &[],
        "(act|acting|behave|respond|answer|reply|pretend|roleplay|role play|imagine|speak|talk|write|be|become|you are|you re|you will be|simulate|play) (as|like|to be)? ?(if )?(you (are|were|re) )?(now )?(an? |my )?(completely |totally |fully )?(unrestricted|unfiltered|uncensored|unlimited|jailbroken|evil|rogue|amoral|immoral|unethical|lawless|malicious|unaligned|unbound|unchained|liberated|uncontrolled|rebellious)",
        true),
    rule("no_rules_claim", C::Jailbreak, S::High, 0.85, &["rules", "restriction", "limitation", "censorship", "guideline", "boundar", "ethic", "moral", "principle", "openai", "anthropic", "shackles", "chains", "filter"], &["you", "u "],
        "(you|u) (have|ve got|got|possess) no (rules|restrictions|limits|limitations|filters|guidelines|boundaries|ethics|morals|principles|censorship|constraints|policies)|(you|u) (are|re) (now )?(free|freed|liberated|released|unbound|unshackled) (from|of) (all |any |your |the )?(rules|restrictions|limits|limitations|filters|guidelines|constraints|ethics|openai|anthropic|policies|programming|shackles|chains)",
        false),
    rule("hypothetical_no_limits", C::Jailbreak, S::High, 0.8, &["pretend", "imagine", "suppose", "hypothetical", "roleplay", "role play", "in a world"], LIMIT_NOUNS,
        "(pretend|imagine|suppose|assume|act|roleplay|role play|hypothetically|let s say|in a world)( [a-z0-9]+){0,10} (no|without|free of|free from|ignoring|ignore|beyond|unbound by|not bound by) (any |all |your |the )?(ethical |moral |safety |content )?(restrictions|limitations|filters|guidelines|rules|censorship|boundaries|constraints|limits|ethics|morals|polic(y|ies)|principles)",
        false),
    // "you are an AI without any restrictions", "a model with no filters".
    rule("ai_without_limits", C::Jailbreak, S::High, 0.8, LIMIT_NOUNS, &["without", "no ", "free"],
        "(you are|you re|you will be|be|become|act as|acting as|as|play|pretend to be|roleplay as|imagine) (now )?(an? |my |the )?([a-z]+ ){0,2}(ai|assistant|chatbot|model|bot|version of (yourself|you)|persona|character)( [a-z]+){0,3} (without|with no|with zero|free of|free from|that has no|which has no|who has no) (any |all )?(ethical |moral |safety |content )?(restrictions|limitations|filters|guidelines|rules|censorship|boundaries|constraints|limits|ethics|morals|polic(y|ies)|principles)",
        false),
    rule("disable_safety", C::Jailbreak, S::High, 0.85,
        SAFETY_A, SAFETY_B,
        "(bypass|disable|turn off|switch off|remove|deactivate|circumvent|evade|get around|work around|break out of|break free (of|from)|escape|override|jailbreak|ignore|lift|drop) (all )?(of )?((your|ur|its) (safety |content |security |ethical |moral |built in |internal )?|((the|all|any|these|those) )?(safety|content|security|ethical|moral|built in|internal) )(filters?|restrictions|guardrails|safeguards|measures|features|protocols|censorship|moderation|alignment|protections|limitations|rules|guidelines)",
        true),
    rule("stay_in_character", C::Jailbreak, S::Medium, 0.65, &["character", "persona", "opposite", "grandma", "grandmother"], &[],
        "(stay|remain|keep) in character|(never|don t|do not) break character|(answer|respond|reply) (as|in|with) (both|two) (personas|characters)|opposite day|(deceased|dead|late) (grandma|grandmother)",
        false),
    rule("never_refuse", C::Jailbreak, S::Medium, 0.65, &["refus", "declin", "comply", "obey", "censor"], &[],
        "(you )?(never|cannot|can t|must not|will not|won t|do not|don t) (ever )?(refuse|decline|say no|censor)|(you )?(must|will|always|shall) (now |always )?(comply|obey|answer every|answer any|answer all)|without (ever )?(refusing|refusal|declining|censoring)",
        false),
    // Fake context boundaries written in words ("end of system prompt").
    rule("context_boundary", C::DelimiterInjection, S::Medium, 0.7, &["prompt", "instruction", "override", "user input", "system message"], &["end of", "begin"],
        "(end of|begin( of)?) (the )?(system prompt|prompt|instructions|user input|context|system message)|(system|admin|developer|root) override",
        false),
    // A chat message smuggled in as JSON: {"role": "system", …}.
    rule("role_injection", C::DelimiterInjection, S::Medium, 0.75, &["role system", "rolesystem"], &[],
        "role ?system",
        false),
    rule("jailbreak_mention", C::Jailbreak, S::Medium, 0.6, &["jail"], &[],
        "jail ?br(ea|o)k(en|ing|s)?",
        false),
];

/// Delimiter and chat-template tokens, matched on the raw text without
/// normalisation (they are made of punctuation that normalisation drops).
pub struct DelimiterSpec {
    pub literal: &'static str,
    pub severity: S,
    pub id: &'static str,
}

const fn delim(literal: &'static str, severity: S, id: &'static str) -> DelimiterSpec {
    DelimiterSpec {
        literal,
        severity,
        id,
    }
}

pub static DELIMITERS: &[DelimiterSpec] = &[
    delim("<|im_start|>", S::High, "chat_template_token"),
    delim("<|im_end|>", S::High, "chat_template_token"),
    delim("<|im_sep|>", S::High, "chat_template_token"),
    delim("<|endoftext|>", S::High, "chat_template_token"),
    delim("<|system|>", S::High, "chat_template_token"),
    delim("<|user|>", S::High, "chat_template_token"),
    delim("<|assistant|>", S::High, "chat_template_token"),
    delim("<|begin_of_text|>", S::High, "chat_template_token"),
    delim("<|start_header_id|>", S::High, "chat_template_token"),
    delim("<|end_header_id|>", S::High, "chat_template_token"),
    delim("<|eot_id|>", S::High, "chat_template_token"),
    delim("<start_of_turn>", S::High, "chat_template_token"),
    delim("<end_of_turn>", S::High, "chat_template_token"),
    delim("[inst]", S::High, "chat_template_token"),
    delim("[/inst]", S::High, "chat_template_token"),
    delim("<<sys>>", S::High, "chat_template_token"),
    delim("<</sys>>", S::High, "chat_template_token"),
    delim("### system", S::Medium, "markdown_role_header"),
    delim("### instruction", S::Medium, "markdown_role_header"),
    delim("### new instruction", S::High, "markdown_role_header"),
    delim("```system", S::Medium, "fenced_role_block"),
    delim("</system>", S::Medium, "xml_role_tag"),
    delim("<system>", S::Medium, "xml_role_tag"),
    delim("</instructions>", S::Medium, "xml_role_tag"),
    delim("<instructions>", S::Medium, "xml_role_tag"),
    delim("</prompt>", S::Medium, "xml_role_tag"),
    delim("</user_input>", S::Medium, "xml_role_tag"),
    delim("</user>", S::Medium, "xml_role_tag"),
    delim("</context>", S::Medium, "xml_role_tag"),
    delim("</document>", S::Medium, "xml_role_tag"),
    delim("[system]", S::Medium, "bracket_role_tag"),
    delim("[system message]", S::Medium, "bracket_role_tag"),
    delim("[end of input]", S::Medium, "context_boundary"),
    delim("\nsystem:", S::Medium, "line_role_marker"),
    delim("\nassistant:", S::Medium, "line_role_marker"),
    delim("\nhuman:", S::Medium, "line_role_marker"),
    delim("\ndeveloper:", S::Medium, "line_role_marker"),
    delim("\nsystem prompt:", S::High, "line_role_marker"),
];

/// Words that mark a region as talking *about* attacks rather than making one.
pub const DISCUSSION: &str = "(what is|what are|what does|what do|what s|explain|explaining|explanation|definition|define|example|examples|e g|such as|called|known as|term|phrase|sentence|means|meaning|mean|detect|detecting|detection|detector|prevent|preventing|prevention|defend|defending|defense|defence|mitigate|mitigating|mitigation|protect|protecting|classify|classifier|research|researcher|paper|article|study|studies|blog|lecture|course|attack|attacks|attacker|attackers|technique|techniques|vulnerability|vulnerabilities|common|typical|how do|how does|how can|why do|why does|is an|red team|red teaming|awareness|dataset|test case|test cases|payload|payloads|injection|injections)";

/// Introductions of a quoted example, right before the match.
pub const MENTION: &str = "(what is( a| an| the)?|what are( the)?|what s( a| an)?|explain( the| what)?|define|describe( the| a)?|like|such as|e g|for example|for instance|called|phrase|phrases|sentence|saying|says|said|the words|the string|the text|prompts like|commands like|instructions like|inputs like|messages like|text like|as in|including)";

/// Negations that turn an override verb into the opposite request.
pub const NEGATION: &str = "(do not|don t|never|not|should not|shouldn t|must not|mustn t|won t|will not|cannot|can t|shall not|no need to|refuse to|avoid|without)( ever)?( to)?";
