//! Words each goal shape understands beyond the common ones. A clause
//! with a word outside its shape's vocabulary is refused, not guessed at.

#[rustfmt::skip]
pub const COUNT_VOCAB: &[&str] = &[
    "count", "tally", "many", "number", "total", "lines", "line", "words", "word", "characters",
    "character", "chars", "bytes", "files", "entries", "items", "directories",
    "folders", "subdirectories", "contain", "contains", "containing", "occurrences", "occurrence",
    "times", "instances", "appears", "appear", "occurs", "occur", "mentions", "matching", "match", "unique",
    "distinct", "have", "has", "there", "rows", "matches", "hidden", "recursively", "including",
    "mention", "mentioning", "case-insensitive", "case-insensitively", "case", "insensitive",
    "insensitively", "ignoring", "ignore", "regardless", "size", "find", "get", "tell",
];

#[rustfmt::skip]
pub const HEAD_TAIL_VOCAB: &[&str] = &[
    "head", "tail", "top", "bottom", "first", "last", "lines", "line", "entries", "items", "rows",
    "beginning", "end", "start", "few", "read", "cat", "show", "view", "display", "print",
    "output", "return", "files", "names", "contents", "content", "only",
];

#[rustfmt::skip]
pub const EXTRACT_VOCAB: &[&str] = &[
    "extract", "pull", "parse", "out", "uuid", "uuids", "guid", "guids", "email", "emails", "e-mail",
    "e-mails", "addresses", "address", "url", "urls", "link", "links", "ip", "ips", "ipv4", "numbers",
    "integers", "digits", "every", "any",
];

#[rustfmt::skip]
pub const GREP_VOCAB: &[&str] = &[
    "grep", "search", "find", "look", "filter", "locate", "extract", "select", "keep", "lines",
    "line", "containing", "contain", "contains", "matching", "match", "matches", "mentioning",
    "mention", "mentions", "including", "include", "includes", "word", "string", "text", "pattern",
    "term", "phrase", "keyword", "case-insensitive", "case-insensitively", "case", "insensitive", "ignoring", "ignore",
    "regardless", "insensitively", "numbers", "number", "not", "don't", "do", "without",
    "excluding", "exclude", "whole", "regex", "regular", "expression", "starting", "start",
    "starts", "beginning", "begin", "begins", "ending", "end", "ends", "occurrences", "files",
    "entries", "through", "recursively", "where", "which", "appears", "have", "has", "that",
    "lack", "numbered", "any", "doesn't",
];

#[rustfmt::skip]
pub const FIND_VOCAB: &[&str] = &[
    "find", "locate", "search", "look", "files", "file", "directories", "folders",
    "subdirectories", "named", "called", "name", "names", "extension", "extensions", "suffix",
    "ending", "ends", "end", "type", "larger", "bigger", "greater", "over", "above", "more",
    "smaller", "less", "below", "than", "modified", "changed", "updated", "edited", "created",
    "last", "past", "days", "day", "hours", "hour", "minutes", "minute", "weeks", "week", "older",
    "newer", "ago", "recently", "empty", "recursively", "recursive", "anywhere", "tree", "nested",
    "beneath", "whose", "containing", "contains", "contain", "have", "has", "matching", "match",
    "pattern", "case-insensitive", "case-insensitively", "case", "insensitive", "ignoring", "count", "many", "number",
    "total", "hidden", "kb", "mb", "gb", "k", "m", "g", "bytes", "size", "sized", "documents",
    "scripts", "sources", "source", "code", "images", "logs", "log", "config", "configuration",
    "everything", "entries", "items", "all",
];

#[rustfmt::skip]
pub const LIST_VOCAB: &[&str] = &[
    "list", "ls", "enumerate", "files", "file", "contents", "content", "entries", "items",
    "everything", "directories", "folders", "subdirectories", "hidden", "dotfiles", "dot",
    "including", "include", "long", "format", "detail", "details", "detailed", "permissions",
    "sizes", "size", "owners", "owner", "human", "readable", "human-readable", "recursive",
    "recursively", "sorted", "sort", "largest", "biggest", "newest", "recent", "most",
    "modification", "modified", "latest", "reverse", "order", "oldest", "smallest", "time", "date",
    "what's", "current", "working", "folder", "directory", "stored", "inside", "names", "name",
    "tree", "subfolders", "first", "last", "top",
];

#[rustfmt::skip]
pub const SORT_VOCAB: &[&str] = &[
    "sort", "order", "alphabetize", "alphabetically", "arrange", "rank", "sorted", "reverse",
    "descending", "ascending", "numerically", "numeric", "numerical", "numbers", "unique",
    "duplicates", "duplicate", "deduplicate", "dedupe", "remove", "without", "distinct", "lines",
    "alphabetical", "z", "lines", "uniq", "delete", "drop",
];

#[rustfmt::skip]
pub const DATE_VOCAB: &[&str] = &[
    "date", "time", "day", "today", "today's", "todays", "current", "now", "year", "month", "week",
    "weekday", "utc", "gmt", "iso", "iso-8601", "iso8601", "format", "unix", "epoch", "timestamp",
    "seconds", "since", "clock", "local", "system", "right", "exact", "echo", "say", "it", "check",
    "is", "name", "o'clock", "and", "what", "the",
];

#[rustfmt::skip]
pub const FETCH_VOCAB: &[&str] = &[
    "fetch", "download", "retrieve", "request", "curl", "wget", "open", "read", "grab", "load",
    "call", "visit", "query", "access", "pull", "hit", "url", "page", "web", "webpage", "website",
    "endpoint", "api", "content", "contents", "body", "response", "http", "https", "get",
];

#[rustfmt::skip]
pub const READ_VOCAB: &[&str] = &[
    "read", "cat", "open", "view", "output", "dump", "type", "contents", "content", "text",
    "whole", "entire", "full", "concatenate", "both", "files",
];
