//! Every reference from the repository's documents and source files to a file
//! of the repository names one that exists, so a reader is never sent to a
//! page that is not there:
//!
//!  - a Markdown link `[text](path#section)` (relative to the Markdown file),
//!    and its section, when it points into a Markdown file;
//!  - a Markdown file's name (a word ending in `.md`) anywhere in a text file,
//!    relative to the file's directory or to the repository root, and the
//!    section after it when written as the name, a comma and the heading in
//!    double quotes (README.md, "Wire format");
//!  - in Markdown, an inline code span that is a path under one of the
//!    repository's top-level directories (`src/store/writer.rs`).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// Files scanned for references to Markdown files.
const TEXT_EXTENSIONS: &[&str] =
    &["md", "rs", "h", "hpp", "c", "cpp", "m", "cs", "txt", "cmake", "sh", "toml", "in", "py", "json"];

/// Directories never scanned: build output and tool state.
fn skipped_dir(name: &str) -> bool {
    name.starts_with('.') || name == "target" || name == "build"
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !skipped_dir(&name) {
                files(&path, out);
            }
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| TEXT_EXTENSIONS.contains(&e)) {
            out.push(path);
        }
    }
}

/// `path` with `.` and `..` resolved lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Heading texts of a Markdown document, outside fenced code.
fn headings(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.push(line.trim_start_matches('#').trim().to_owned());
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to
/// hyphens; repeated headings get `-1`, `-2`, ...
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for h in headings(text) {
        let slug: String = h
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut unique = slug.clone();
        let mut n = 0;
        while seen.contains(&unique) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
        seen.insert(unique);
    }
    seen
}

struct Checker {
    root: PathBuf,
    /// Names of the repository's top-level directories.
    top: BTreeSet<String>,
    problems: Vec<String>,
}

impl Checker {
    fn new(root: &Path) -> Checker {
        let top = fs::read_dir(root)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !skipped_dir(n))
                    .collect()
            })
            .unwrap_or_default();
        Checker { root: root.to_owned(), top, problems: Vec::new() }
    }

    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(&self.root).unwrap_or(p).display().to_string()
    }

    fn fail(&mut self, file: &Path, line: usize, what: String) {
        self.problems.push(format!("{}:{}: {what}", self.rel(file), line + 1));
    }

    /// A path named in `file`: relative to its directory, else to the root.
    fn resolve(&self, file: &Path, name: &str) -> Option<PathBuf> {
        let dir = file.parent().unwrap_or(&self.root);
        [dir.join(name), self.root.join(name)].into_iter().map(|p| normalize(&p)).find(|p| p.exists())
    }

    fn check_file(&mut self, file: &Path) {
        let Ok(text) = fs::read_to_string(file) else { return };
        let markdown = file.extension().is_some_and(|e| e == "md");
        let mut fenced = false;
        for (n, line) in text.lines().enumerate() {
            self.md_names(file, n, line);
            if markdown {
                if line.trim_start().starts_with("```") {
                    fenced = !fenced;
                } else if !fenced {
                    self.links(file, n, line, &text);
                    self.code_paths(file, n, line);
                }
            }
        }
    }

    /// A Markdown file's name anywhere, and the heading quoted after it.
    fn md_names(&mut self, file: &Path, n: usize, line: &str) {
        let is_name = |c: char| c.is_ascii_alphanumeric() || "_./-".contains(c);
        let mut from = 0;
        while let Some(at) = line[from..].find(".md").map(|i| from + i) {
            from = at + 3;
            if line[from..].chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue; // `.mdx`, `.md5`, `self.md_names`, ...
            }
            let start = line[..at].rfind(|c: char| !is_name(c)).map_or(0, |i| i + 1);
            let name = &line[start..from];
            if name == ".md" || name.starts_with("//") || line[..start].ends_with('*') {
                continue; // a pattern or a URL, not a file
            }
            if name.starts_with('/') {
                self.fail(file, n, format!("{name} is outside the repository"));
                continue;
            }
            let Some(target) = self.resolve(file, name) else {
                self.fail(file, n, format!("{name} does not exist"));
                continue;
            };
            // The heading follows a comma (the name, a comma, "Heading"); a quote
            // right after the name closes a string literal instead.
            let Some(rest) = line[from..].strip_prefix(',') else { continue };
            if let Some(heading) = rest.trim_start().strip_prefix('"').and_then(|r| r.split('"').next()) {
                let text = fs::read_to_string(&target).unwrap_or_default();
                if !headings(&text).iter().any(|h| h.eq_ignore_ascii_case(heading)) {
                    self.fail(file, n, format!("{name} has no section \"{heading}\""));
                }
            }
        }
    }

    /// `[text](target)`: the target relative to the Markdown file, and its
    /// `#section` when it points into a Markdown file.
    fn links(&mut self, file: &Path, n: usize, line: &str, own: &str) {
        for (i, _) in line.match_indices("](") {
            let rest = &line[i + 2..];
            let target = &rest[..rest.find([')', ' ']).unwrap_or(rest.len())];
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, section) = target.split_once('#').unwrap_or((target, ""));
            let doc = if path.is_empty() {
                own.to_owned()
            } else {
                let full = normalize(&file.parent().unwrap_or(&self.root).join(path));
                if !full.exists() {
                    self.fail(file, n, format!("link to {path}, which does not exist"));
                    continue;
                }
                if !path.ends_with(".md") || section.is_empty() {
                    continue;
                }
                fs::read_to_string(full).unwrap_or_default()
            };
            if !section.is_empty() && !anchors(&doc).contains(section) {
                self.fail(file, n, format!("link to {target}: no such section"));
            }
        }
    }

    /// `` `dir/…/file` `` where `dir` is a top-level directory of the repository.
    fn code_paths(&mut self, file: &Path, n: usize, line: &str) {
        let spans: Vec<&str> = line.split('`').collect();
        for span in spans.iter().skip(1).step_by(2) {
            let Some((first, _)) = span.split_once('/') else { continue };
            let plain = !span.contains(|c: char| c.is_whitespace() || "<>*{}$|…".contains(c));
            if !plain || span.contains("...") || !self.top.contains(first) {
                continue;
            }
            if !self.root.join(span).exists() {
                self.fail(file, n, format!("`{span}` does not exist"));
            }
        }
    }
}

fn check(root: &Path) -> Vec<String> {
    let mut all = Vec::new();
    files(root, &mut all);
    all.sort();
    let mut c = Checker::new(root);
    for f in &all {
        c.check_file(f);
    }
    c.problems
}

#[test]
fn every_reference_to_a_repository_file_names_one_that_exists() {
    let problems = check(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(
        problems.is_empty(),
        "references to files or sections that do not exist:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_finds_what_is_missing_and_accepts_what_is_there() {
    let root = std::env::temp_dir().join(format!("attracker-doc-links-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(root.join("src/store")).unwrap();
    fs::create_dir_all(root.join("docs")).unwrap();
    // Every Markdown name is built here, so this file holds no reference for
    // the repository check to find.
    let md = |stem: &str| format!("{stem}.{}", "md");
    let (guide, gone, page) = (md("GUIDE"), md("GONE"), md("docs/page"));
    fs::write(root.join(&guide), "# Guide\n\n## The writer\n\n## Wire format\n").unwrap();
    fs::write(root.join("src/store/writer.rs"), format!("//! See {guide}, \"The writer\".\n")).unwrap();
    let doc = [
        format!(
            "[ok](../{guide}#wire-format) [ok](../src/store/writer.rs) [web](https://example.com/{gone})"
        ),
        format!("`src/store/writer.rs` `src/store/` `target/x` `a *.{} name` `src/<name>.rs`", "md"),
        format!("[bad](../{guide}#no-such-section)"),
        format!("[bad]({gone}) and ../{gone}"),
        "`src/store/gone.rs`".to_owned(),
        format!("{guide}, \"Nowhere\""),
        format!("/elsewhere/{gone}"),
        "```".to_owned(),
        "[fenced](not-checked-in-code.txt)".to_owned(),
        "```".to_owned(),
    ]
    .join("\n");
    fs::write(root.join(&page), doc).unwrap();
    let mut got = check(&root);
    got.sort();
    let mut want = vec![
        format!("{page}:3: link to ../{guide}#no-such-section: no such section"),
        format!("{page}:4: {gone} does not exist"),
        format!("{page}:4: ../{gone} does not exist"),
        format!("{page}:4: link to {gone}, which does not exist"),
        format!("{page}:5: `src/store/gone.rs` does not exist"),
        format!("{page}:6: {guide} has no section \"Nowhere\""),
        format!("{page}:7: /elsewhere/{gone} is outside the repository"),
    ];
    want.sort();
    let _ = fs::remove_dir_all(&root);
    assert_eq!(got, want);
}
