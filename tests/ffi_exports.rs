//! Every export is written one way (src/ffi/export.rs): `#[no_mangle] pub
//! (unsafe) extern "C" fn`, its whole body one `export!` (returning
//! `at_status`) or `export_value!` (returning anything else), so none escapes the
//! panic guard or names itself wrongly in `at_last_error()`. cbindgen does not
//! expand macros, so the signatures stay written out and this test reads them.

use std::collections::BTreeSet;

struct Export {
    file: String,
    name: String,
    attribute: String,
    qualifiers: String,
    params: String,
    ret: String,
    body: String,
}

/// Skips a string or char literal starting at `i`; returns the index after it.
fn skip_literal(b: &[u8], i: usize) -> usize {
    match b[i] {
        b'"' => {
            let mut j = i + 1;
            while b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            j + 1
        }
        // A char literal ('x', '\n'); a lifetime ('a) is left alone.
        b'\'' if b[i + 1] == b'\\' => i + b[i..].iter().skip(2).position(|&c| c == b'\'').unwrap() + 3,
        b'\'' if b.get(i + 2) == Some(&b'\'') => i + 3,
        _ => i + 1,
    }
}

/// Index of the bracket closing the one opened at `open`.
fn closing(b: &[u8], open: usize) -> usize {
    let (o, c) = (b[open], if b[open] == b'(' { b')' } else { b'}' });
    let mut depth = 0;
    let mut i = open;
    loop {
        match b[i] {
            x if x == o => depth += 1,
            x if x == c => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            b'"' | b'\'' => {
                i = skip_literal(b, i);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

fn exports() -> Vec<Export> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/ffi");
    let mut found = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        // Unit tests may define throwaway `extern "C"` functions.
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        let b = text.as_bytes();
        let mut from = 0;
        while let Some(at) = text[from..].find("extern \"C\" fn ").map(|i| i + from) {
            from = at + 1;
            let rest = &text[at + "extern \"C\" fn ".len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if name.is_empty() {
                continue; // a function pointer type, `extern "C" fn(`
            }
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            if text[line_start..].trim_start().starts_with("//") {
                continue; // an example in a doc comment
            }
            let attribute =
                text[..line_start.saturating_sub(1)].lines().last().unwrap_or("").trim().to_owned();
            let open_paren = at + text[at..].find('(').unwrap();
            let close_paren = closing(b, open_paren);
            let open_brace = close_paren + text[close_paren..].find('{').unwrap();
            let close_brace = closing(b, open_brace);
            let ret = text[close_paren + 1..open_brace].trim().trim_start_matches("->").trim().to_owned();
            found.push(Export {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                name,
                attribute,
                qualifiers: text[line_start..at].trim().to_owned(),
                params: text[open_paren + 1..close_paren].to_owned(),
                ret,
                body: text[open_brace + 1..close_brace].trim().to_owned(),
            });
        }
    }
    found
}

#[test]
fn every_export_is_written_through_the_export_macros() {
    let exports = exports();
    assert!(exports.len() > 90, "found only {} exports: is the scan broken?", exports.len());
    let mut problems = Vec::new();
    for e in &exports {
        let at = format!("{} ({})", e.name, e.file);
        if e.attribute != "#[no_mangle]" {
            problems.push(format!("{at}: not directly preceded by #[no_mangle]"));
        }
        let takes_pointers = e.params.contains('*');
        match e.qualifiers.as_str() {
            "pub unsafe" => {}
            "pub" if !takes_pointers => {}
            q => problems.push(format!("{at}: `{q} extern \"C\"`, want `pub unsafe extern \"C\"`")),
        }
        let want = if e.ret == "at_status" { "export!(" } else { "export_value!(" };
        let b = e.body.as_bytes();
        let whole = e.body.starts_with(want) && closing(b, want.len() - 1) == b.len() - 1;
        if !whole {
            problems.push(format!("{at}: the body is not one `{want}...)` (returns `{}`)", e.ret));
        }
    }
    assert!(problems.is_empty(), "exports not written the one way:\n{}", problems.join("\n"));
}

#[test]
fn the_header_declares_exactly_the_scanned_exports() {
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/at_tracker.h")).unwrap();
    let code: String = {
        // Comments out, so names in doc text do not count.
        let mut out = String::new();
        let mut rest = header.as_str();
        while let Some(i) = rest.find("/*") {
            out.push_str(&rest[..i]);
            rest = &rest[i + rest[i..].find("*/").unwrap() + 2..];
        }
        out.push_str(rest);
        out.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n")
    };
    let declared: BTreeSet<String> = code
        .split(';')
        .filter(|decl| !decl.contains("typedef"))
        .filter_map(|decl| {
            let before_paren = &decl[..decl.find('(')?];
            let name = before_paren.rsplit(|c: char| !(c.is_alphanumeric() || c == '_')).next()?;
            name.starts_with("at_").then(|| name.to_owned())
        })
        .collect();
    let scanned: BTreeSet<String> = exports().into_iter().map(|e| e.name).collect();
    assert_eq!(declared, scanned, "the header's functions and src/ffi's exports differ");
}
