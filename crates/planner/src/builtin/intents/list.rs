//! Directory listings: "list files in /tmp", "show the contents of the
//! current directory", "list hidden files sorted by size".
//!
//! These become `ls` with flags for detail, hidden files, recursion and order;
//! counting reuses the same steps for "how many files are in /etc".

use crate::builtin::clause::Clause;

use super::head_tail::{head_tail_request, limit};
use super::{bare_dir, current_dir, dir_like, file_like, shell, Ctx, Outcome, Spec};

/// The `ls` steps of a listing clause (no verb check).
pub(super) fn list_specs(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Result<Vec<Spec>, String> {
    if !c.urls().is_empty() {
        return Err("a URL cannot be listed like a directory".into());
    }
    // "The size of the largest file" asks about one file: a listing sorted
    // by size is not that answer.
    if c.has(&["file"])
        && !c.has(&["files"])
        && c.has(&[
            "largest", "biggest", "smallest", "newest", "oldest", "latest",
        ])
    {
        return Ok(Vec::new());
    }
    let paths = c.paths();
    if paths.iter().any(|&i| file_like(c.text(i))) && c.has(&["contents", "content"]) {
        return Ok(Vec::new());
    }
    let mut bare = None;
    if paths.is_empty() && !current_dir(c) {
        bare = bare_dir(c);
    }
    for &i in &paths {
        c.mark(i);
    }
    let dirs: Vec<String> = if let Some(b) = bare {
        vec![b]
    } else if paths.is_empty() {
        vec![".".to_string()]
    } else {
        paths.iter().map(|&i| c.text(i).to_string()).collect()
    };
    let _ = ctx;
    let mut flags = String::from("-");
    let long = c.has(&[
        "long",
        "detail",
        "details",
        "detailed",
        "permissions",
        "sizes",
        "owners",
        "owner",
    ]) || c.has_phrase(&["with", "size"])
        // "The size of the files" asks to see sizes; "by size" only orders.
        || (c.has(&["size"]) && !c.has_phrase(&["by", "size"]));
    flags.push(if long { 'l' } else { '1' });
    if c.has(&["hidden", "dotfiles"]) || c.has_phrase(&["dot", "files"]) {
        flags.push('A');
    }
    if long && c.has(&["human", "readable", "human-readable"]) {
        flags.push('h');
    }
    if c.has(&[
        "recursive",
        "recursively",
        "subdirectories",
        "subfolders",
        "tree",
    ]) {
        flags.push('R');
    }
    if c.has(&["largest", "biggest"]) || c.has_phrase(&["by", "size"]) {
        flags.push('S');
    } else if c.has(&[
        "newest",
        "recent",
        "latest",
        "modification",
        "modified",
        "oldest",
    ]) || c.has_phrase(&["by", "time"])
        || c.has_phrase(&["by", "date"])
    {
        flags.push('t');
    }
    if c.has(&["reverse", "oldest", "smallest"]) {
        flags.push('r');
    }
    let mut args = vec![flags];
    args.extend(dirs.iter().cloned());
    Ok(vec![shell(
        "ls",
        args,
        format!("List files in {}", dirs.join(", ")),
        &["Output shows the file list"],
    )])
}

/// "List files in /tmp", "show the contents of the current directory".
pub(super) fn list(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let verb = c.verb_word();
    let strong = matches!(verb, "list" | "ls" | "enumerate");
    let weak = matches!(
        verb,
        "show"
            | "display"
            | "print"
            | "get"
            | "give"
            | "what"
            | "what's"
            | "whats"
            | "view"
            | "see"
    );
    if !strong && !weak {
        return Ok(None);
    }
    let nouns = c.has(&[
        "files",
        "file",
        "contents",
        "content",
        "entries",
        "items",
        "everything",
        "directory",
        "folder",
        "directories",
        "folders",
        "dir",
    ]) || c.has_phrase(&["what's", "in"]);
    let dir_path = c.paths().iter().any(|&i| dir_like(c.text(i)));
    if !(nouns || dir_path || (strong && !c.paths().is_empty())) {
        return Ok(None);
    }
    if c.paths().iter().any(|&i| file_like(c.text(i)))
        && !c.has(&["files", "entries", "directory", "folder"])
    {
        return Ok(None);
    }
    if !c.quoted().is_empty() {
        return Ok(None);
    }
    let mut specs = list_specs(c, ctx)?;
    if specs.is_empty() {
        return Ok(None);
    }
    if let Some((head, n)) = head_tail_request(c) {
        specs.push(limit(head, n));
    }
    Ok(Some(specs))
}
