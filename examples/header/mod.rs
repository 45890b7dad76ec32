//! Builds include/at_tracker.h: cbindgen renders every item of src/ffi/, then
//! the items are laid out by object. Shared by examples/gen_header.rs (writes
//! the file) and tests/header_fresh.rs (compares it).
//!
//! The layout, from the sources:
//!  - first the handles (`typedef struct at_x at_x;`), so any later item may
//!    point to any of them;
//!  - then one section per `// header-section: <title>` line in src/ffi/*.rs,
//!    files in the order of their `mod` lines in src/ffi/mod.rs, each under a
//!    banner, its items in source order;
//!  - a C enumeration's values (`c_enum!`, which cbindgen does not expand) right
//!    after its typedef, from `attracker::ffi::c_enum::tables()`.
//!
//! It refuses (panics, naming the item) an item before any section line, an
//! item cbindgen rendered that no section holds, a `c_enum!` without a table,
//! and a type used before the item declaring it.

use std::collections::{BTreeMap, HashMap, HashSet};

use attracker::ffi::c_enum::CEnum;

const MARKER: &str = "// header-section:";

/// The header as it must be committed.
pub fn generate(dir: &str) -> String {
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).expect("cbindgen.toml");
    let mut raw = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen runs")
        .write(&mut raw);
    let raw = String::from_utf8(raw).expect("cbindgen writes UTF-8");
    layout(&raw, &sections(dir), &attracker::ffi::c_enum::tables())
}

/// A section of the header: its title and the names of its items, in order.
struct Section {
    title: String,
    items: Vec<String>,
}

/// The name declared by one line of Rust source, if it declares a C item.
fn declared_name(line: &str) -> Option<String> {
    let ident =
        |rest: &str| rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let line = line.trim_start();
    for prefix in ["pub type ", "pub const ", "pub struct "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            return Some(ident(rest));
        }
    }
    let at = line.find("extern \"C\" fn ")?;
    (line.starts_with("pub ")).then(|| ident(&line[at + "extern \"C\" fn ".len()..]))
}

/// The sections, from the `// header-section:` lines of src/ffi/*.rs. Only
/// names cbindgen renders end up in the header; the rest are skipped there.
fn sections(dir: &str) -> Vec<Section> {
    let modules = std::fs::read_to_string(format!("{dir}/src/ffi/mod.rs")).expect("src/ffi/mod.rs");
    let mut sections: Vec<Section> = Vec::new();
    for module in modules.lines().filter_map(|l| l.trim_start_matches("pub ").strip_prefix("mod ")) {
        let file = format!("{}.rs", module.trim_end_matches(';'));
        let text = std::fs::read_to_string(format!("{dir}/src/ffi/{file}")).expect("a module of src/ffi");
        let text = text.split("#[cfg(test)]").next().unwrap();
        let mut current: Option<usize> = None;
        for line in text.lines() {
            if let Some(title) = line.trim().strip_prefix(MARKER) {
                sections.push(Section { title: title.trim().to_owned(), items: Vec::new() });
                current = Some(sections.len() - 1);
            } else if let Some(name) =
                declared_name(line).filter(|n| n.starts_with("at_") || n.starts_with("AT_"))
            {
                let Some(i) = current else {
                    panic!("src/ffi/{file}: `{name}` comes before any `{MARKER} <title>` line");
                };
                sections[i].items.push(name);
            }
        }
    }
    sections
}

/// One item of cbindgen's output: its doc comment and declaration.
struct Item {
    name: String,
    text: String,
    /// `typedef struct at_x at_x;`
    handle: bool,
}

fn name_of(text: &str) -> String {
    let code = without_comments(text);
    let code = code.trim();
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    if let Some(rest) = code.strip_prefix("#define ") {
        return ident(rest);
    }
    if let Some(i) = code.rfind("} ") {
        return ident(&code[i + 2..]); // typedef struct { ... } name;
    }
    if let Some(i) = code.find("(*") {
        return ident(&code[i + 2..]); // typedef void (*name)(...);
    }
    if code.starts_with("typedef ") {
        return code.trim_end_matches(';').rsplit([' ', '*']).next().unwrap().to_owned();
    }
    let open =
        code.find('(').unwrap_or_else(|| panic!("cannot name this item of cbindgen's output:\n{text}"));
    code[..open].rsplit([' ', '*']).next().unwrap().to_owned()
}

fn without_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        rest = &rest[i + rest[i..].find("*/").expect("a closed comment") + 2..];
    }
    out.push_str(rest);
    out.lines().map(|l| l.split("//").next().unwrap()).collect::<Vec<_>>().join("\n")
}

fn banner(title: &str) -> String {
    let rule = "=".repeat(74);
    format!("/* {rule}\n * {title}\n * {rule} */")
}

/// A C enumeration's values, as cbindgen writes constants.
fn values(table: &CEnum) -> Vec<String> {
    table
        .values
        .iter()
        .map(|v| {
            let mut text = String::new();
            if !v.doc.is_empty() {
                text.push_str("/**\n");
                for line in v.doc {
                    text.push_str(&format!(" *{line}\n"));
                }
                text.push_str(" */\n");
            }
            text.push_str(&format!("#define {} {}", v.name.to_str().unwrap(), v.value));
            text
        })
        .collect()
}

fn layout(raw: &str, sections: &[Section], tables: &[&CEnum]) -> String {
    const OPEN: &str = "#ifdef __cplusplus\nextern \"C\" {\n#endif // __cplusplus\n";
    const CLOSE: &str = "#ifdef __cplusplus\n}  // extern \"C\"\n#endif  // __cplusplus\n";
    const INCLUDES_END: &str = "#include <stdint.h>\n";
    const GUARD_END: &str = "#endif  /* AT_TRACKER_H */\n";

    let body_start = raw.find(INCLUDES_END).expect("cbindgen's includes") + INCLUDES_END.len();
    let prologue = &raw[..body_start];
    let body_end = raw.rfind(GUARD_END).expect("cbindgen's include guard");
    let body = raw[body_start..body_end].replace(OPEN, "").replace(CLOSE, "");

    let items: Vec<Item> = body
        .split("\n\n")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|text| {
            let name = name_of(text);
            let handle = without_comments(text).trim() == format!("typedef struct {name} {name};");
            Item { name, text: text.to_owned(), handle }
        })
        .collect();
    let by_name: HashMap<&str, &Item> = items.iter().map(|i| (i.name.as_str(), i)).collect();
    assert_eq!(by_name.len(), items.len(), "cbindgen rendered a name twice");
    let tables: BTreeMap<&str, &CEnum> = tables.iter().map(|t| (t.c_type, *t)).collect();

    // Placed items, in order: (name, text).
    let mut out: Vec<(String, String)> = Vec::new();
    let mut placed: HashSet<&str> = HashSet::new();
    out.push((String::new(), banner("Handles: every object of the API (see each one's functions below)")));
    for item in items.iter().filter(|i| i.handle) {
        out.push((item.name.clone(), item.text.clone()));
        placed.insert(&item.name);
    }
    let mut enums_seen = HashSet::new();
    for section in sections {
        out.push((String::new(), banner(&section.title)));
        for name in &section.items {
            let Some(item) = by_name.get(name.as_str()) else { continue };
            if item.handle {
                continue;
            }
            assert!(placed.insert(&item.name), "`{name}` is in two sections");
            out.push((item.name.clone(), item.text.clone()));
            if let Some(table) = tables.get(name.as_str()) {
                enums_seen.insert(table.c_type);
                out.extend(values(table).into_iter().map(|t| (String::new(), t)));
            }
        }
    }
    for item in &items {
        assert!(placed.contains(item.name.as_str()), "`{}` is in no `{MARKER}` section", item.name);
    }
    for table in tables.values() {
        assert!(
            enums_seen.contains(table.c_type),
            "the values of `{}` have no typedef in the header",
            table.c_type
        );
    }

    // Declaration before use: a type named in an item is declared above it.
    let types: HashSet<&str> = items
        .iter()
        .filter(|i| without_comments(&i.text).trim_start().starts_with("typedef"))
        .map(|i| i.name.as_str())
        .collect();
    let mut declared: HashSet<&str> = HashSet::new();
    for (name, text) in &out {
        let code = without_comments(text);
        for word in code.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if types.contains(word) && word != name && !declared.contains(word) {
                panic!("`{name}` uses `{word}` before it is declared: move its section or item");
            }
        }
        if let Some(t) = types.get(name.as_str()) {
            declared.insert(t);
        }
    }

    let mut header = String::from(prologue);
    header.push('\n');
    header.push_str(OPEN);
    for (_, text) in &out {
        header.push('\n');
        header.push_str(text);
        header.push('\n');
    }
    header.push('\n');
    header.push_str(CLOSE);
    header.push('\n');
    header.push_str(GUARD_END);
    header
}
