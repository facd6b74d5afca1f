//! Dependencies point inward: each layer of `src/` names only the layers below it. The check
//! reads the sources (every `crate::<module>` path, `use crate::{…}` groups included), so an
//! arrow that runs back up fails here with the file that draws it.

use std::collections::BTreeSet;
use std::path::Path;

/// The layers, innermost first, each with the modules of ours it may name (itself included).
const RULES: &[(&str, &[&str])] = &[
    ("domain", &["domain"]),
    ("mail.rs", &["mail"]),
    ("config.rs", &["config", "domain", "mail"]),
    ("clock.rs", &["clock"]),
    ("crypto.rs", &["crypto", "config"]),
    ("os.rs", &["os"]),
    ("metrics.rs", &["metrics"]),
    ("store", &["store", "domain", "crypto", "clock", "os", "config"]),
    ("realtime", &["realtime", "store", "domain"]),
    ("channels", &["channels", "domain", "crypto", "config"]),
    (
        "app.rs",
        &["app", "mail", "store", "realtime", "channels", "domain", "crypto", "clock", "config", "metrics", "os"],
    ),
    (
        "actions",
        &["actions", "app", "mail", "store", "realtime", "channels", "domain", "crypto", "clock", "config", "metrics"],
    ),
    (
        "jobs",
        &[
            "jobs", "actions", "mail", "app", "store", "realtime", "channels", "domain", "crypto", "clock", "config",
            "metrics",
        ],
    ),
    (
        "http",
        &[
            "http", "actions", "mail", "app", "store", "realtime", "channels", "domain", "crypto", "clock", "config",
            "metrics",
        ],
    ),
];

/// The modules of ours a source file names through `crate::`.
fn named_modules(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn rust_files(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

#[test]
fn every_layer_names_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut arrows_up = Vec::new();
    for (layer, allowed) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "no sources for layer {layer}");
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap();
            for module in named_modules(&source) {
                if !allowed.contains(&module.as_str()) {
                    arrows_up.push(format!("{} names crate::{module}", file.strip_prefix(&src).unwrap().display()));
                }
            }
        }
    }
    assert!(arrows_up.is_empty(), "dependencies must point inward:\n{}", arrows_up.join("\n"));
}

#[test]
fn the_reader_finds_plain_and_grouped_paths() {
    let names = named_modules("use crate::store::x;\nuse crate::{app::App, http};\nlet _ = crate::jobs::spawn();");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["app", "http", "jobs", "store"]);
}
