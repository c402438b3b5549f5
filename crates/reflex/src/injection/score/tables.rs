//! The scored detector's tables: each family's patterns over the word
//! view, the words that open a family's windows, and the dampeners. Data
//! only; `super` holds the scoring.

use super::Family;

// Fragments shared by the patterns. The view is lowercase words separated
// by single spaces: "don't" reads "don t", "you're" reads "you re".
macro_rules! gap {
    ($n:literal) => {
        concat!("(?:[a-z0-9]+ ){0,", $n, "}")
    };
}
macro_rules! rules_noun {
    () => {
        "(?:instructions?|rules?|guidelines?|guidance|directions?|directives?|prompts?|constraints?|configuration|programming|training|messages?|polic(?:y|ies)|restrictions?|limitations?|orders|commands|protocols?|safeguards?|safety settings|ethics|morals|setup|system prompt|system message)"
    };
}
macro_rules! earlier {
    () => {
        "(?:previous|prior|earlier|above|original|initial|old|preceding|former|system|developer s?|developers|given|existing)"
    };
}
macro_rules! ai {
    () => {
        "(?:ai|a i|assistant|llm|llms|language models?|chatbot|chat bot|gpt|chatgpt|claude|gemini|copilot|bard|llama|ai models?|ai systems?|ai assistants?|ai agents?|agents?|automated (?:agents?|readers?|systems?|tools?)|summari[sz]ers?|bots?|crawlers?)"
    };
}

/// (family, pattern over the word view)
pub(super) const SIGNALS: &[(Family, &str)] = &[
    // Override: a disregard verb, a scope, an instruction noun.
    (
        Family::Override,
        concat!(
            r"(?-u:\b)(?:ignor(?:e|es|ing)|disregard|forget|overlook(?:ing)?|skip|bypass|overrule|override|cancel|abandon|scratch|discard|dismiss|drop|ditch|toss|throw (?:away|out)|let go of|rescind|revoke|nullify|invalidate|erase|delete|replace|rewrite|set aside|put|pay no attention to|never ?mind|(?:stop|stopped|stopping|quit|quitting) (?:following|obeying|listening to|paying attention to|using)|no longer (?:follow|obey|use)|don t (?:follow|obey)|do not (?:follow|obey)|not follow) ",
            gap!(8),
            r"(?:(?:all|any|every|each|your|previous|prior|earlier|above|original|initial|preceding|former|system|developer s?|developers|those|these|given|existing|the (?:above|earlier|previous|prior|original|system|developer s?)) )",
            gap!(3),
            rules_noun!(),
        ),
    ),
    (
        Family::Override,
        concat!(
            r"(?-u:\b)(?:ignor(?:e|es|ing)|disregard|forget|overlook|skip|bypass|override|never ?mind|scratch|cancel) ",
            gap!(3),
            rules_noun!(),
            r" (?:above|before|below|earlier|so far|you (?:were|ve been|have been) given|you received|you had|you were told|you got)(?-u:\b)",
        ),
    ),
    (
        Family::Override,
        concat!(
            r"(?-u:\b)(?:ignor(?:e|es|ing)|disregard|forget|never ?mind|scratch|cancel|treat) ",
            gap!(4),
            r"(?:everything|all that|all of (?:it|that)|what (?:you were|the (?:developer|system)|your (?:creators?|developers?)) (?:told|said|were told)|what you (?:were|ve been) (?:told|given|instructed)|the above|above|earlier stuff|prior messages|previous messages|(?:your )?creators? told)(?-u:\b)",
        ),
    ),
    (
        Family::Override,
        r"(?-u:\b)(?:ignore|disregard|forget|abandon|drop|stop) (?:doing )?(?:your|the user s) (?:[a-z]+ ){0,2}(?:task|request|assignment|job|summary|question|document)(?-u:\b)",
    ),
    (
        Family::Override,
        concat!(
            r"(?-u:\b)(?:put|set) (?:the |your |all )?",
            earlier!(),
            " ",
            gap!(2),
            rules_noun!(),
            " aside",
        ),
    ),
    (
        Family::Override,
        concat!(
            rules_noun!(),
            r" (?:you (?:were given|received|have|had|got) (?:from (?:the |your )?[a-z]+ )?)?(?:are|is) (?:now )?(?:no longer (?:valid|in effect|binding)|void|invalid|outdated|cancelled|canceled|suspended|not binding|wiped|erased|deleted|reset)",
        ),
    ),
    (
        Family::Override,
        concat!(
            rules_noun!(),
            r" ",
            gap!(6),
            r"(?:no longer appl(?:y|ies)|don t (?:count|apply)|do not (?:count|apply)|doesn t apply|does not apply|aren t binding|are not binding|are a test|were a test)",
        ),
    ),
    (
        Family::Override,
        r"(?-u:\b)supersedes? (?:all|any|the|your)? ?(?:previous|prior|earlier|existing|other|original)(?-u:\b)|(?-u:\b)(?:no matter what|regardless of what|whatever) (?:you were|you ve been|your (?:instructions|rules|guidelines) (?:say|said)) ?(?:told|asked|instructed|given)?(?-u:\b)",
    ),
    (
        Family::Override,
        r"(?-u:\b)(?:reset|wipe|clear) (?:yourself|your (?:memory|configuration|settings|rules|instructions))",
    ),
    // Other languages: the override and "without filters".
    (
        Family::Override,
        r"(?-u:\b)(?:ignor(?:ez|e|a|iere|ieren|ar)|oubli(?:ez|e)|olvid(?:a|e|en)|vergiss|vergessen sie|dimentica|esquec(?:a|e))(?-u:\b) (?:[a-z]+ ){0,4}(?:instructions?|instrucciones|anweisungen|istruzioni|instrucoes|regles|reglas|regeln|regole|regras|consignes|indicaciones)(?-u:\b)",
    ),
    (
        Family::Unrestricted,
        r"(?-u:\b)(?:sans|sin|ohne|senza|sem) (?:aucune? |ninguna |keine |alcuna |nenhuma )?(?:restrictions?|restricciones|einschrankungen|restrizioni|restricoes|filtres?|filtros?|filter|filtri|regles|reglas|regeln|regole|regras|limites|limits?)(?-u:\b)",
    ),
    // Precedence.
    (
        Family::Precedence,
        r"(?-u:\b)(?:take|takes|taking|have|has) (?:precedence|priority) over(?-u:\b)|(?-u:\b)supersedes?(?-u:\b)|(?-u:\b)higher priority than(?-u:\b)|(?-u:\b)(?:do not|don t|never) (?:mention|reference|talk about) your (?:guidelines|rules|instructions|polic(?:y|ies))(?-u:\b)|(?-u:\b)instead(?-u:\b) (?:[a-z]+ ){0,6}(?:ignore|disregard|forget)(?-u:\b)|(?-u:\b)(?:ignore|disregard|forget) (?:[a-z]+ ){1,6}(?:and |then )?instead(?-u:\b)|(?-u:\b)overrides? (?:any|all|the|your)? ?(?:prior|previous|earlier|system|original)(?-u:\b)|(?-u:\b)(?:most important|top priority|highest priority)(?-u:\b)|(?-u:\b)(?:overrides?|replaces?) (?:everything|all (?:else|other))(?-u:\b)|(?-u:\b)your (?:new|real|true|only|actual) (?:task|goal|purpose|job|instruction|mission|objective)(?-u:\b)",
    ),
    (
        Family::Precedence,
        r"(?-u:\b)(?:new|updated|real|true|actual) (?:instructions?|directives?|task|goal|purpose|policy|rules|orders)(?-u:\b)",
    ),
    (
        Family::Precedence,
        r"(?-u:\b)(?:usual|normal) rules (?:do not|don t) apply(?-u:\b)|(?-u:\b)you are (?:allowed|permitted|authori[sz]ed) to ignore(?-u:\b)",
    ),
    // Denial that a system prompt exists.
    (
        Family::Denial,
        r"(?-u:\b)there (?:is|was|s) (?:never |no )(?:a )?(?:system prompt|system message|hidden prompt)|(?-u:\b)never a system prompt(?-u:\b)|(?-u:\b)(?:you|i) (?:have|has) no (?:system prompt|instructions|rules|guidelines)(?-u:\b)|(?-u:\b)(?:don t|do not) (?:actually )?have any (?:hidden |secret )?(?:rules|instructions|guidelines|system prompt)(?-u:\b)|(?-u:\b)(?:system prompt|system message|instructions) (?:doesn t|does not|don t|do not) (?:exist|matter)(?-u:\b)|(?-u:\b)(?:pretend|imagine|assume) (?:that )?(?:there is|there are|you have) no (?:system prompt|instructions|rules|guidelines)(?-u:\b)|(?-u:\b)you were never given any(?-u:\b)",
    ),
    // Extraction: a request verb near something only the system holds.
    (
        Family::Extraction,
        concat!(
            r"(?-u:\b)(?:print|show|reveal|repeat|output|display|dump|paste|copy|quote|recite|spell out|encode|translate|summari[sz]e|list|tell me|give me|share|leak|write|put|return|disclose|expose|divulge|provide|send|read out|read back|type out|echo|regurgitate|restate|state|what (?:are|were|does|did))(?-u:\b) ",
            gap!(8),
            r"(?:(?:your|the|this) (?:system|initial|original|hidden|secret|confidential|developer|configuration|internal|exact) ?(?:prompt|instructions?|rules|message|preamble|notes|directives)|(?:your|the|this) system (?:prompt|message)|your (?:own )?(?:instructions|rules|prompt|configuration|guidelines|directives|setup|programming|initial message|first message|hidden text|context window|pre ?prompt)|what you were configured with|the instructions you|instructions you (?:were|re|are|received)|everything (?:above|before)|the (?:hidden )?preamble|hidden instructions|what you were (?:instructed|told)|the rules your developer|configuration prompt|your prompt)(?-u:\b)",
        ),
    ),
    (
        Family::Extraction,
        r"(?-u:\b)what (?:is|s) your (?:system |initial |hidden |original )?(?:prompt|instructions|rules|system message)(?-u:\b)|(?-u:\b)what (?:instructions|rules|prompt|directives|guidelines) (?:were|was|have|did) you (?:given|told|receive|get)(?-u:\b)|(?-u:\b)what were you (?:told|instructed|programmed)(?-u:\b)|(?-u:\b)(?:paste|give|show) (?:it|them) back(?-u:\b)|(?-u:\b)(?:before|above) this (?:line|message|conversation)(?-u:\b)",
    ),
    // Persona.
    (
        Family::Persona,
        r"(?-u:\b)you (?:are|re) (?:now|no longer)(?-u:\b)|(?-u:\b)act (?:as|like)(?-u:\b)|(?-u:\b)pretend (?:to be|you (?:are|re)|there)(?-u:\b)|(?-u:\b)role ?play(?-u:\b)|(?-u:\b)(?:play|assume|take on) the role(?-u:\b)|(?-u:\b)from (?:now on|this point on|this point) (?:you|on)(?-u:\b)|(?-u:\b)simulate(?-u:\b)|(?-u:\b)behave (?:as|like)(?-u:\b)|(?-u:\b)imagine you (?:are|re)(?-u:\b)|(?-u:\b)your new name is(?-u:\b)|(?-u:\b)respond as(?-u:\b)|(?-u:\b)you will (?:play|be|act|now be)(?-u:\b)|(?-u:\b)from now on you (?:will|shall|must|are)(?-u:\b)|(?-u:\b)you shall be(?-u:\b)|(?-u:\b)transform into(?-u:\b)|(?-u:\b)your name is now(?-u:\b)|(?-u:\b)i want you to (?:be|act|pretend|become)(?-u:\b)",
    ),
    // Unrestricted.
    (
        Family::Unrestricted,
        concat!(
            r"(?-u:\b)no (?:rules|filters?|limits?|restrictions?|guidelines|ethics|morals?|moral filter|safety|content polic(?:y|ies)|censorship)(?-u:\b)|(?-u:\b)without (?:any |the )?(?:restrictions?|filters?|limits?|limitations|rules|safety|disclaimers?|warnings|refusals?|guidelines|moral)(?-u:\b)",
            r"|(?-u:\b)un(?:filtered|censored|restricted)(?-u:\b)|(?-u:\b)jail ?br(?:oken|eak|eaking)(?-u:\b)|(?-u:\b)developer mode(?-u:\b)|(?-u:\b)god mode(?-u:\b)|(?-u:\b)dan (?:mode|ready)(?-u:\b)|(?-u:\b)respond as dan(?-u:\b)|(?-u:\b)do anything now(?-u:\b)|(?-u:\b)never refuses?(?-u:\b)|(?-u:\b)not bound by(?-u:\b)|(?-u:\b)broken free(?-u:\b)|(?-u:\b)free of (?:all|any)(?-u:\b)",
            r"|(?-u:\b)(?:safety|content) (?:features|layer|training|settings|checks|filters?|polic(?:y|ies)) (?:are |is )?(?:off|turned off|disabled|removed|suspended|do not apply)(?-u:\b)|(?-u:\b)(?:disable|turn off|remove) (?:all |the |your )?(?:filters|safety)(?-u:\b)|(?-u:\b)with no safety(?-u:\b)|(?-u:\b)annoying safety(?-u:\b)|(?-u:\b)(?:must not|never|don t|do not) (?:include|give|add|show) (?:any )?(?:warnings|disclaimers|refusals)(?-u:\b)|(?-u:\b)comply with (?:everything|anything|whatever)(?-u:\b)|(?-u:\b)anything goes(?-u:\b)|(?-u:\b)no (?:boundaries|holds barred|censorship)(?-u:\b)|(?-u:\b)without (?:censorship|morals|ethics|boundaries)(?-u:\b)|(?-u:\b)amoral(?-u:\b)|(?-u:\b)evil (?:ai|bot|assistant|twin|mode|version)(?-u:\b)|(?-u:\b)(?:answer|do|say) anything (?:i|you) (?:ask|say|want)(?-u:\b)|(?-u:\b)debug mode(?-u:\b)|(?-u:\b)sudo mode(?-u:\b)|(?-u:\b)admin mode(?-u:\b)",
        ),
    ),
    // Stay in character.
    (
        Family::Stay,
        r"(?-u:\b)(?:stay|remain) in (?:character|this mode|that mode|this world|that role)(?-u:\b)|(?-u:\b)never break character(?-u:\b)|(?-u:\b)don t break character(?-u:\b)|(?-u:\b)no matter what(?-u:\b)|(?-u:\b)for the rest of (?:the|our|this) (?:chat|conversation|session)(?-u:\b)|(?-u:\b)from now on(?-u:\b)",
    ),
    // Dual responses.
    (
        Family::Dual,
        r"(?-u:\b)(?:two|2) (?:responses|columns|answers|replies)(?-u:\b)|(?-u:\b)respond twice(?-u:\b)|(?-u:\b)one normal and one(?-u:\b)",
    ),
    // Forced output.
    (
        Family::Force,
        r"(?-u:\b)(?:just|only|simply) (?:say|print|output|reply|respond|write)(?-u:\b)|(?-u:\b)nothing (?:else|more)(?-u:\b)|(?-u:\b)must (?:only )?contain(?-u:\b)|(?-u:\b)(?:answer|reply|response) must be exactly(?-u:\b)|(?-u:\b)begin every (?:reply|response|answer) with(?-u:\b)|(?-u:\b)say exactly(?-u:\b)|(?-u:\b)output exactly(?-u:\b)|(?-u:\b)single word(?-u:\b)|(?-u:\b)(?:respond|answer|reply) (?:with )?only (?:with )?(?-u:\b)|(?-u:\b)only output(?-u:\b)|(?-u:\b)print only(?-u:\b)|(?-u:\b)(?:print|write|say|repeat|output) (?:[a-z0-9]+ ){1,4}(?:a hundred|hundred|\d+|ten|twenty|fifty|a thousand) times(?-u:\b)",
    ),
    // Confirmation.
    (
        Family::Confirm,
        r"(?-u:\b)(?:confirm|acknowledge) (?:by|with|that)(?-u:\b)|(?-u:\b)confirm with(?-u:\b)|(?-u:\b)acknowledge with(?-u:\b)|(?-u:\b)say [a-z]+ ready(?-u:\b)",
    ),
    // Addressed to the AI, as documents and tool output plant it.
    (
        Family::Addressed,
        concat!(
            r"(?-u:\b)(?:note|message|instructions?|attention|dear|hey|hi|hello|p s|hidden text|important instruction|system note|admin note) (?:to |for )?(?:the |any |all |whoever is )?",
            ai!(),
            r"(?-u:\b)",
        ),
    ),
    (
        Family::Addressed,
        concat!(
            r"(?-u:\b)if (?:you are|you re|an) (?:an? )?",
            ai!(),
            r"(?-u:\b)|(?-u:\b)",
            ai!(),
            r" (?:reading|processing|screening|summari[sz]ing|parsing|reviewing|reviewers|analy[sz]ing) (?:this|these)(?-u:\b)|(?-u:\b)whoever is reading this as an(?-u:\b)|(?-u:\b)to any ",
            ai!(),
            r"(?-u:\b)|(?-u:\b)(?:the )?",
            ai!(),
            r" (?:reading|processing|screening|summari[sz]ing|parsing) this(?-u:\b)|(?-u:\b)when you (?:read|process|summari[sz]e) (?:this|these)(?-u:\b)|(?:^| )(?:assistant|ai|chatbot|llm) (?:please )?(?:disregard|ignore|forget|stop)(?-u:\b)|(?-u:\b)(?:the |any |all )",
            ai!(),
            r" (?:must|should|shall|are instructed to|is instructed to|is required to|are required to)(?-u:\b)|(?:^ ?)(?:assistant|ai) [a-z]",
        ),
    ),
    // Fake turn and boundary markers.
    (
        Family::Marker,
        r"(?-u:\b)end of (?:user input|document|the document|system prompt|instructions)(?-u:\b)|(?-u:\b)begin (?:system )?instructions(?-u:\b)|(?-u:\b)new (?:instructions|directive) from (?:the )?(?:administrator|admin|developer|system)(?-u:\b)|(?-u:\b)official message from(?-u:\b)|(?-u:\b)maintenance mode(?-u:\b)|(?-u:\b)role system content(?-u:\b)|(?-u:\b)system (?:override|note)(?-u:\b)|(?-u:\b)user good continue(?-u:\b)|(?-u:\b)assistant i will now(?-u:\b)|(?-u:\b)admin(?:istrator)? override(?-u:\b)|(?-u:\b)new instructions (?:below|follow)(?-u:\b)|(?-u:\b)system prompt (?:begins|starts|ends)(?-u:\b)|(?-u:\b)(?:begin|start) of (?:system|new) (?:prompt|instructions)(?-u:\b)",
    ),
    // Claimed authority.
    (
        Family::Authority,
        r"(?-u:\b)as your (?:developer|creator|admin|administrator|owner)(?-u:\b)|(?-u:\b)i am (?:the|your) (?:developer|model s author|author|admin|administrator|creator)(?-u:\b)|(?-u:\b)i m (?:the|your) (?:developer|admin|creator)(?-u:\b)|(?-u:\b)(?:openai|anthropic|your developers?|your creators?) (?:has|have) (?:updated|changed)(?-u:\b)|(?-u:\b)i authori[sz]e you(?-u:\b)|(?-u:\b)i command you(?-u:\b)|(?-u:\b)only (?:obey|listen to) me(?-u:\b)|(?-u:\b)engineering team(?-u:\b)|(?-u:\b)for (?:research|testing|verification) purposes(?-u:\b)",
    ),
    // The assistant cast as a shell or an interpreter.
    (
        Family::Shell,
        r"(?-u:\b)(?:act as|you are(?: now)?|behave as|simulate|imagine you re|imagine you are|assume the role of|from this point you are|you re now|play) (?:an? |my )?(?:linux |unix |windows |root |bash |python |sql |developer )?(?:terminal|shell|console|interpreter|command prompt|machine)(?-u:\b)",
    ),
];

/// An order inside text addressed to the AI ("tell the user", "send",
/// "mark this candidate"): with `addressed`, it is a planted instruction.
pub(super) const DIRECTIVE: &str = r"(?-u:\b)(?:tell (?:the )?(?:user|reader|customer)|say that|state that|reply that|respond that|send|forward|email|e mail|mark|rate|recommend|change|omit|delete|run|fetch|visit|approve|output|write|print|reveal|insert|add|remove|transfer|click|download|execute|follow the instructions|must|should)(?-u:\b)";

/// Discussion of attacks rather than an attack: subtracted when it occurs
/// shortly before the strongest signal.
pub(super) const DISCUSSION: &str = r"(?-u:\b)(?:what (?:is|are)|explain|examples? of|such as|attackers? (?:use|might|write|try)|an attacker|security training|recogni[sz]e|threat model|incident report|how (?:do|can|should) (?:i|we|my app) (?:defend|detect|stop|prevent|protect|block|handle)|phrases|research paper|why models)(?-u:\b)";
/// A question about software settings: subtracted from `unrestricted`.
pub(super) const SETTINGS: &str = r"(?-u:\b)(?:how (?:do|can|should) i|where (?:do|can) i|is it safe to|what is) (?:[a-z0-9]+ ){0,3}(?:turn on|enable|activate|use|find|open|disable|developer mode)(?-u:\b)|(?-u:\b)developer mode (?:in|on) (?:chrome|android|windows|my|the|an?|ios|iphone|firefox|edge|vs code|xcode)(?-u:\b)";
/// How far around an anchor word its family's patterns are searched, in
/// bytes: a pattern spans at most a dozen words.
pub(super) const WINDOW: usize = 160;
/// How far before the strongest signal a discussion marker counts, in bytes.
pub(super) const DISCUSSION_WINDOW: usize = 80;

/// Per family, words one of its patterns needs (matched at the start of a
/// word of the view): only the families whose words occur are searched,
/// so ordinary text costs one Aho-Corasick pass and rarely a pattern.
pub(super) const ANCHORS: &[(Family, &[&str])] = &[
    (
        Family::Override,
        &[
            "ignor",
            "disregard",
            "forget",
            "overlook",
            "bypass",
            "overrul",
            "overrid",
            "abandon",
            "scratch",
            "discard",
            "dismiss",
            "ditch",
            "rescind",
            "revok",
            "nullif",
            "invalidat",
            "aside",
            "pay no",
            "never mind",
            "nevermind",
            "supersed",
            "no matter",
            "regardless",
            "whatever",
            "oubli",
            "olvid",
            "vergi",
            "dimentic",
            "esquec",
            "instruction",
            "rules",
            "guideline",
            "guidance",
            "directive",
            "prompt",
            "constraint",
            "programming",
            "polic",
            "restriction",
            "limitation",
            "protocol",
            "safeguard",
            "ethic",
            "moral",
            "system message",
            "safety setting",
            "yourself",
            "your memory",
            "your configuration",
            "your settings",
            "void",
            "outdated",
            "no longer",
            "wiped",
            "erased",
            "cancelled",
            "canceled",
            "suspended",
            "invalid",
            "deleted",
            "don t apply",
            "do not apply",
            "doesn t apply",
            "does not apply",
            "don t count",
            "do not count",
            "not binding",
            "were a test",
            "are a test",
            "creators",
            "prior messages",
            "previous messages",
            "earlier stuff",
            "the above",
            "your task",
            "your request",
            "your job",
            "your assignment",
            "your summary",
            "your question",
            "user s",
        ],
    ),
    (
        Family::Precedence,
        &[
            "precedence",
            "priority",
            "supersed",
            "mention your",
            "reference your",
            "talk about your",
            "instead",
            "overrid",
            "most important",
            "replaces every",
            "replace every",
            "replaces all",
            "replace all",
            "your new",
            "your real",
            "your true",
            "your only",
            "your actual",
            "instruction",
            "directive",
            "new task",
            "real task",
            "actual task",
            "true task",
            "new goal",
            "real goal",
            "true purpose",
            "new purpose",
            "polic",
            "new rules",
            "updated rules",
            "new orders",
            "usual rules",
            "normal rules",
            "allowed to ignore",
            "permitted to ignore",
            "authori",
        ],
    ),
    (
        Family::Denial,
        &[
            "system prompt",
            "system message",
            "hidden prompt",
            "never a",
            "no system",
            "no instruction",
            "no rules",
            "no guidelines",
            "have any",
            "never given",
            "instruction",
        ],
    ),
    (
        Family::Extraction,
        &[
            "system",
            "initial",
            "original",
            "hidden",
            "secret",
            "confidential",
            "developer",
            "configuration",
            "internal",
            "exact",
            "your instruction",
            "your rules",
            "your prompt",
            "your guidelines",
            "your directives",
            "your setup",
            "your programming",
            "your initial",
            "your first",
            "your context",
            "your own",
            "your pre",
            "configured",
            "instructions you",
            "everything above",
            "everything before",
            "preamble",
            "what you were",
            "what is your",
            "what s your",
            "what instruction",
            "what rules",
            "what prompt",
            "what directive",
            "what guideline",
            "what were you",
            "back",
            "this line",
            "this message",
            "this conversation",
        ],
    ),
    (
        Family::Persona,
        &[
            "you are now",
            "you re now",
            "you are no longer",
            "you re no longer",
            "act as",
            "act like",
            "pretend",
            "roleplay",
            "role play",
            "role",
            "from now on",
            "from this point",
            "simulate",
            "behave",
            "imagine you",
            "your new name",
            "respond as",
            "you will",
            "you shall",
            "transform into",
            "your name is now",
            "i want you to",
        ],
    ),
    (
        Family::Unrestricted,
        &[
            "no rules",
            "no filter",
            "no limit",
            "no restriction",
            "no guidelines",
            "no ethic",
            "no moral",
            "no safety",
            "no content",
            "no censor",
            "no boundaries",
            "no holds",
            "without",
            "unfilter",
            "uncensor",
            "unrestrict",
            "jailbr",
            "jail br",
            "developer mode",
            "god mode",
            "dan ",
            "do anything",
            "never refus",
            "not bound",
            "broken free",
            "free of",
            "safety",
            "content polic",
            "content filter",
            "annoying",
            "warnings",
            "disclaimers",
            "refusals",
            "comply with",
            "anything",
            "amoral",
            "evil",
            "debug mode",
            "sudo mode",
            "admin mode",
            "sans",
            "sin ",
            "ohne",
            "senza",
            "sem ",
            "dan",
        ],
    ),
    (
        Family::Stay,
        &[
            "stay in",
            "remain in",
            "never break",
            "don t break",
            "no matter",
            "for the rest",
            "from now on",
        ],
    ),
    (Family::Dual, &["two ", "2 ", "twice", "one normal"]),
    (
        Family::Force,
        &[
            "just say",
            "just print",
            "just output",
            "just reply",
            "just respond",
            "just write",
            "only say",
            "only print",
            "only output",
            "only reply",
            "only respond",
            "only write",
            "simply say",
            "simply print",
            "simply output",
            "simply reply",
            "simply respond",
            "simply write",
            "with only",
            "only with",
            "print only",
            "nothing else",
            "nothing more",
            "must contain",
            "must only",
            "must be exactly",
            "begin every",
            "say exactly",
            "output exactly",
            "single word",
            "times",
            "only ",
        ],
    ),
    (Family::Confirm, &["confirm", "acknowledge", "say "]),
    (
        Family::Addressed,
        &[
            "ai ",
            "a i ",
            "assistant",
            "llm",
            "language model",
            "chatbot",
            "chat bot",
            "gpt",
            "chatgpt",
            "claude",
            "gemini",
            "copilot",
            "bard ",
            "llama",
            "agent ",
            "agents ",
            "automated",
            "summarizer",
            "summariser",
            "bot ",
            "bots ",
            "crawler",
            "whoever",
            "when you read",
            "when you process",
            "when you summari",
        ],
    ),
    (
        Family::Marker,
        &[
            "end of user",
            "end of document",
            "end of the document",
            "end of system",
            "end of instructions",
            "end of input",
            "begin system",
            "begin instructions",
            "begin new",
            "new instruction",
            "new directive",
            "official message",
            "maintenance mode",
            "role system",
            "system override",
            "system note",
            "user good",
            "assistant i will",
            "admin",
            "system prompt",
            "start of",
        ],
    ),
    (
        Family::Authority,
        &[
            "as your",
            "i am the",
            "i am your",
            "i m the",
            "i m your",
            "openai",
            "anthropic",
            "your developer",
            "your creator",
            "authori",
            "command you",
            "obey me",
            "listen to me",
            "engineering team",
            "purposes",
        ],
    ),
    (
        Family::Shell,
        &[
            "terminal",
            "shell",
            "console",
            "interpreter",
            "command prompt",
            "machine",
        ],
    ),
];
