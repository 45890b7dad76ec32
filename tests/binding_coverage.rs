//! Which exports of include/at_tracker.h each wrapper library under bindings/
//! covers. A binding wraps an export when the export's name appears in the
//! binding's code (comments do not count; its tests and samples are not
//! scanned); otherwise its `OMITTED.txt` must list it as `at_name: reason`.
//! The table of both is committed as bindings/COVERAGE.md; rewrite it with
//! `ATTRACKER_UPDATE_COVERAGE=1 cargo test --test binding_coverage`.

/// The committed table, from the repository root.
const COVERAGE: &str = "bindings/COVERAGE.md";

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Directory under bindings/, and the name the table gives it.
const BINDINGS: &[(&str, &str)] =
    &[("cpp", "C++"), ("objc", "Objective-C"), ("unity", "Unity (C#)"), ("unreal", "Unreal")];
/// Files of these kinds are a binding's code.
const SOURCE_EXTENSIONS: &[&str] = &["h", "hpp", "c", "cpp", "m", "mm", "cs"];
/// Directories that use a binding rather than make it up.
const NOT_SOURCES: &[&str] = &["tests", "Tests", "Samples~"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `src` with its comments replaced by a space (newlines kept), string and
/// character literals left as they are: `"http://host"` is not a comment, and a
/// name in a string (a C# `EntryPoint`, a message naming the call) counts.
/// `verbatim`: C# `@"..."` strings, where a backslash is no escape.
fn strip_comments(src: &str, verbatim: bool) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let (c, next) = (b[i], b.get(i + 1).copied());
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
            out.push(' ');
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                if b[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if c == 'R' && next == Some('"') && !out.ends_with(|p: char| p.is_alphanumeric() || p == '_') {
            // C++ raw string R"delim( ... )delim"
            let open = b[i + 2..].iter().position(|&c| c == '(').map_or(b.len(), |p| i + 2 + p);
            let close: Vec<char> =
                std::iter::once(')').chain(b[i + 2..open].iter().copied()).chain(['"']).collect();
            let end =
                (open..b.len()).find(|&j| b[j..].starts_with(&close)).map_or(b.len(), |j| j + close.len());
            out.extend(&b[i..end]);
            i = end;
        } else if c == '@' && next == Some('"') && verbatim {
            out.push_str("@\"");
            i += 2;
            while i < b.len() {
                out.push(b[i]);
                i += 1;
                if b[i - 1] == '"' {
                    if b.get(i) == Some(&'"') {
                        out.push('"');
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
        } else if c == '"' || c == '\'' {
            out.push(c);
            i += 1;
            while i < b.len() && b[i] != c && b[i] != '\n' {
                if b[i] == '\\' && i + 1 < b.len() {
                    out.push(b[i]);
                    i += 1;
                }
                out.push(b[i]);
                i += 1;
            }
            if i < b.len() {
                out.push(b[i]);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Every identifier starting with `at_`, with the offset just past it.
fn at_names(code: &str) -> Vec<(&str, usize)> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut names = Vec::new();
    let mut start = None;
    for (i, c) in code.char_indices().chain([(code.len(), ' ')]) {
        match (is_ident(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if code[s..i].starts_with("at_") {
                    names.push((&code[s..i], i));
                }
                start = None;
            }
            _ => {}
        }
    }
    names
}

/// The functions a C header declares, in order: an `at_` name followed by `(`
/// outside comments (a function pointer typedef's name is followed by `)`).
fn exports(header: &str) -> Vec<String> {
    let code = strip_comments(header, false);
    let mut seen = BTreeSet::new();
    at_names(&code)
        .into_iter()
        .filter(|&(_, end)| code[end..].trim_start().starts_with('('))
        .filter(|&(name, _)| seen.insert(name))
        .map(|(name, _)| name.to_string())
        .collect()
}

/// A binding's code files, relative to the repository, sorted.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            if path.is_dir() {
                if !NOT_SOURCES.contains(&name) {
                    pending.push(path);
                }
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| SOURCE_EXTENSIONS.contains(&e))
            {
                found.push(path.strip_prefix(root()).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

/// `OMITTED.txt`: `at_name: reason` lines; blank lines and `#` comments skipped.
fn omitted(text: &str, problems: &mut Vec<String>, file: &str) -> BTreeMap<String, String> {
    let mut listed = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(':') {
            Some((name, reason)) if name.trim().starts_with("at_") && !reason.trim().is_empty() => {
                if listed.insert(name.trim().to_string(), reason.trim().to_string()).is_some() {
                    problems.push(format!("{file}:{}: {} is listed twice", n + 1, name.trim()));
                }
            }
            _ => problems.push(format!("{file}:{}: expected `at_name: reason`, got `{line}`", n + 1)),
        }
    }
    listed
}

struct Binding {
    dir: &'static str,
    title: &'static str,
    sources: Vec<PathBuf>,
    wrapped: BTreeSet<String>,
    omitted: BTreeMap<String, String>,
}

/// Every binding's coverage, and what is wrong with it.
fn survey(exports: &[String]) -> (Vec<Binding>, Vec<String>) {
    let mut problems = Vec::new();
    let mut bindings = Vec::new();
    for &(dir, title) in BINDINGS {
        let path = root().join("bindings").join(dir);
        let sources = sources(&path);
        if sources.is_empty() {
            problems.push(format!("bindings/{dir}: no source files"));
        }
        let mut names = BTreeSet::new();
        for file in &sources {
            let text = std::fs::read_to_string(root().join(file)).unwrap();
            let code = strip_comments(&text, file.extension().is_some_and(|e| e == "cs"));
            names.extend(at_names(&code).into_iter().map(|(n, _)| n.to_string()));
        }
        let wrapped: BTreeSet<String> = exports.iter().filter(|e| names.contains(*e)).cloned().collect();
        let file = format!("bindings/{dir}/OMITTED.txt");
        let text = std::fs::read_to_string(root().join(&file)).unwrap_or_default();
        let omitted = omitted(&text, &mut problems, &file);
        for name in omitted.keys() {
            if !exports.contains(name) {
                problems.push(format!("{file}: {name} is not a function of include/at_tracker.h"));
            } else if wrapped.contains(name) {
                problems.push(format!("{file}: {name} is listed as omitted, but bindings/{dir} uses it"));
            }
        }
        for name in exports {
            if !wrapped.contains(name) && !omitted.contains_key(name) {
                problems.push(format!(
                    "bindings/{dir} neither wraps {name} nor lists it in {file} with a reason"
                ));
            }
        }
        bindings.push(Binding { dir, title, sources, wrapped, omitted });
    }
    (bindings, problems)
}

/// bindings/COVERAGE.md.
fn table(exports: &[String], bindings: &[Binding]) -> String {
    let mut md = String::new();
    md.push_str("# Binding coverage\n\n");
    md.push_str(
        "Generated by `tests/binding_coverage.rs`, which fails when this file is stale;\n\
         rewrite it with `ATTRACKER_UPDATE_COVERAGE=1 cargo test --test binding_coverage`.\n\
         A binding *wraps* an export of `include/at_tracker.h` when the name appears in\n\
         its code (comments aside; its tests and samples are not scanned). Every other\n\
         export is listed in the binding's `OMITTED.txt` with the reason.\n\n",
    );
    md.push_str("| Binding | Wraps | Omits | Code scanned |\n|---|---|---|---|\n");
    for b in bindings {
        let files: Vec<String> = b.sources.iter().map(|p| format!("`{}`", p.display())).collect();
        let _ = writeln!(
            md,
            "| {} | {}/{} | {} | {} |",
            b.title,
            b.wrapped.len(),
            exports.len(),
            b.omitted.len(),
            files.join(", ")
        );
    }
    md.push_str("\n## By export\n\n| Export |");
    for b in bindings {
        let _ = write!(md, " {} |", b.title);
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(bindings.len()));
    md.push('\n');
    for name in exports {
        let _ = write!(md, "| `{name}` |");
        for b in bindings {
            md.push_str(if b.wrapped.contains(name) { " yes |" } else { " omitted |" });
        }
        md.push('\n');
    }
    md.push_str("\n## Omitted, and why\n");
    for b in bindings {
        let _ = writeln!(md, "\n### {} (`bindings/{}/OMITTED.txt`)\n", b.title, b.dir);
        if b.omitted.is_empty() {
            md.push_str("Nothing: every export is wrapped.\n");
        }
        // In header order.
        for name in exports.iter().filter(|n| b.omitted.contains_key(*n)) {
            let _ = writeln!(md, "- `{name}`: {}", b.omitted[name]);
        }
    }
    md
}

fn header_exports() -> Vec<String> {
    exports(&std::fs::read_to_string(root().join("include/at_tracker.h")).unwrap())
}

#[test]
fn every_export_is_wrapped_or_omitted_with_a_reason_by_every_binding() {
    let exports = header_exports();
    let (bindings, problems) = survey(&exports);
    for b in &bindings {
        println!("{:<12} wraps {}/{}, omits {}", b.title, b.wrapped.len(), exports.len(), b.omitted.len());
    }
    assert!(problems.is_empty(), "binding coverage:\n  {}", problems.join("\n  "));
}

#[test]
fn the_committed_coverage_table_is_fresh() {
    let exports = header_exports();
    let (bindings, _) = survey(&exports);
    let generated = table(&exports, &bindings);
    let path = root().join(COVERAGE);
    if std::env::var_os("ATTRACKER_UPDATE_COVERAGE").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "bindings/COVERAGE.md is stale: run `ATTRACKER_UPDATE_COVERAGE=1 cargo test --test binding_coverage` and commit it"
    );
}

#[test]
fn the_header_scan_finds_functions_and_nothing_else() {
    let header = "/* at_in_comment(x) */\n\
                  typedef void (*at_done_fn)(at_status status);\n\
                  // at_line_comment()\n\
                  at_status at_first(at_config *config, at_done_fn done);\n\
                  const char *at_second\n    (void);\n\
                  at_status at_first(void);\n";
    assert_eq!(exports(header), ["at_first", "at_second"]);
    let real = header_exports();
    for name in ["at_version", "at_tracker_new", "at_config_set_transport", "at_offline_ack_batch"] {
        assert!(real.iter().any(|e| e == name), "{name} not found in include/at_tracker.h");
    }
    assert!(!real.iter().any(|e| e.ends_with("_fn")), "a callback typedef taken for a function");
}

#[test]
fn names_in_comments_do_not_count_and_names_in_code_and_strings_do() {
    let cpp = "call(\"http://example.com\", at_a()); // at_b()\n\
               /* at_c() */ auto s = R\"x(at_d \" // )x\"; at_e();\n\
               char q = '\"'; at_f(); const char *m = \"at_g: \\\" // at_h\"; at_i();\n";
    let code = strip_comments(cpp, false);
    let names: Vec<&str> = at_names(&code).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["at_a", "at_d", "at_e", "at_f", "at_g", "at_h", "at_i"]);
    let cs = "[DllImport(Lib, EntryPoint = \"at_j\")] var p = @\"C:\\dir\\\"; at_k(); // at_l\n";
    let code = strip_comments(cs, true);
    let names: Vec<&str> = at_names(&code).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["at_j", "at_k"]);
    // A longer name is not the shorter one.
    assert_eq!(
        at_names("at_offline_get_page(t)").into_iter().map(|(n, _)| n).collect::<Vec<_>>(),
        ["at_offline_get_page"]
    );
}

#[test]
fn an_omitted_file_needs_a_reason_on_every_line() {
    let mut problems = Vec::new();
    let listed = omitted(
        "# comment\n\nat_a: the reason\nat_b:\nat_c: again\nat_c: twice\nnot a line\n",
        &mut problems,
        "f",
    );
    assert_eq!(listed.keys().collect::<Vec<_>>(), ["at_a", "at_c"]);
    assert_eq!(listed["at_a"], "the reason");
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].starts_with("f:4:") && problems[1].contains("twice") && problems[2].starts_with("f:7:")
    );
}
