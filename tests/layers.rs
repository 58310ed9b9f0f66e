//! The layering ARCHITECTURE.md draws, checked: a crate depends only on crates of lower
//! layers, and inside every crate the modules import one another without a circle.
//!
//! A new crate must be placed in [`LAYERS`]; a new `use crate::…` line that closes a circle
//! fails `modules_import_without_circles` with the circle it closed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's crates, bottom layer first; a crate may use (also in its tests) only
/// crates of the layers before its own.
const LAYERS: &[&[&str]] = &[
    &["clickrec-core"],
    &["clickrec-recommend"],
    &[
        "clickrec-io",
        "clickrec-prep",
        "clickrec-synth",
        "clickrec-session",
    ],
    &[
        "clickrec-ingest",
        "clickrec-models",
        "clickrec-segment",
        "clickrec-rerank",
        "clickrec-eval",
    ],
    &["clickrec-report", "clickrec-tune", "clickrec-spark"],
    &["clickrec-spark-engine"],
    &["clickrec-pipeline"],
    &["clickrec-serve"],
    &["clickrec-cli"],
    &["clickrec-tests"],
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

fn layer_of(name: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&name))
}

#[test]
fn crates_use_only_lower_layers() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let packages = metadata["packages"].as_array().expect("a package list");
    let mut wrong = Vec::new();
    for package in packages {
        let name = package["name"].as_str().expect("a package name");
        let Some(layer) = layer_of(name) else {
            wrong.push(format!("{name} is in no layer of tests/layers.rs"));
            continue;
        };
        let deps = package["dependencies"]
            .as_array()
            .expect("a dependency list");
        for dep in deps {
            let dep = dep["name"].as_str().expect("a dependency name");
            if !dep.starts_with("clickrec-") {
                continue;
            }
            match layer_of(dep) {
                Some(below) if below < layer => {}
                _ => wrong.push(format!(
                    "{name} (layer {layer}) uses {dep} (layer {:?}), not a lower layer",
                    layer_of(dep)
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A module's path inside its crate: `["stages", "train"]` for `src/stages/train.rs`.
type ModPath = Vec<String>;

fn module_path(src: &Path, file: &Path) -> ModPath {
    let relative = file.strip_prefix(src).expect("a file under src/");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "lib" | "main" | "mod") {
        parts.push(stem.to_owned());
    }
    parts
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("a readable source folder")
        .map(|entry| entry.expect("a folder entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "tests") {
                rust_files(&path, files);
            }
        } else if path.extension().is_some_and(|ext| ext == "rs")
            && path.file_name().is_some_and(|name| name != "tests.rs")
        {
            files.push(path);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)]` modules (tests may
/// reach anywhere in their crate).
fn library_code(text: &str) -> String {
    let mut code = String::new();
    let mut skip_depth: Option<usize> = None;
    let mut depth = 0usize;
    let mut test_next = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if skip_depth.is_none() {
            if trimmed.starts_with("#[cfg(test)]") {
                test_next = true;
                continue;
            }
            if test_next && trimmed.starts_with("mod ") && trimmed.ends_with('{') {
                skip_depth = Some(depth);
            }
            test_next = false;
        }
        let opens = line.matches('{').count();
        let closes = line.matches('}').count();
        if skip_depth.is_none() {
            code.push_str(line);
            code.push('\n');
        }
        depth = (depth + opens).saturating_sub(closes);
        if skip_depth.is_some_and(|start| depth <= start && closes > 0) {
            skip_depth = None;
        }
    }
    code
}

/// Every path the code names from `crate::` or `super::`, resolved to a module path (as
/// deep as the names are lower-case), `use` groups expanded.
fn referenced_modules(code: &str, here: &ModPath, is_dir_module: bool) -> Vec<ModPath> {
    let mut found = Vec::new();
    for (start, prefix) in [("crate::", 0usize), ("super::", 1)] {
        let mut rest = code;
        while let Some(at) = rest.find(start) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + start.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut base: ModPath = if prefix == 0 {
                Vec::new()
            } else {
                // `super` of `a/b.rs` is `a`; of `a/mod.rs` (module `a`) it is the root.
                let mut parent = here.clone();
                let up = if is_dir_module { 2 } else { 1 };
                for _ in 0..up.min(parent.len()) {
                    parent.pop();
                }
                if is_dir_module && here.len() < 2 {
                    parent.clear();
                }
                parent
            };
            expand(rest, &mut base, &mut found);
        }
    }
    found
}

/// Reads `a::b::{c, d::e}` (the text after `crate::`) into module paths.
fn expand(text: &str, base: &mut ModPath, found: &mut Vec<ModPath>) {
    let ident: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() {
        if let Some(group) = text.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = 0usize;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        let mut sub = base.clone();
                        expand(group[item_start..i].trim_start(), &mut sub, found);
                        return;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        let mut sub = base.clone();
                        expand(group[item_start..i].trim_start(), &mut sub, found);
                        item_start = i + 1;
                    }
                    _ => {}
                }
            }
        }
        found.push(base.clone());
        return;
    }
    let is_module = ident.chars().next().is_some_and(|c| c.is_lowercase())
        && text[ident.len()..].starts_with("::");
    if !is_module {
        if base.is_empty() {
            // A name at the crate root: resolved through lib.rs's re-exports later.
            found.push(vec![format!("#{ident}")]);
        } else {
            found.push(base.clone());
        }
        return;
    }
    base.push(ident.clone());
    expand(&text[ident.len() + 2..], base, found);
}

/// The module each name re-exported at the crate root comes from (`pub use a::{X, Y}`).
fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let mut exports = BTreeMap::new();
    for statement in lib.split(';') {
        let statement = statement.trim();
        let Some(rest) = ["pub use ", "pub(crate) use "]
            .iter()
            .find_map(|lead| statement.split_once(lead).map(|(_, rest)| rest))
        else {
            continue;
        };
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        for item in names.split(['{', '}', ',']) {
            let item = item.trim();
            let name = item.rsplit(" as ").next().unwrap_or(item);
            let name = name.rsplit("::").next().unwrap_or(name).trim();
            if !name.is_empty() {
                exports.insert(name.to_owned(), module.trim().to_owned());
            }
        }
    }
    exports
}

/// The circles among sibling modules: an edge `a → b` between the children of the
/// deepest module that holds both ends.
fn circles(edges: &BTreeSet<(ModPath, ModPath)>) -> Vec<String> {
    let mut graph: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (from, to) in edges {
        graph.entry(from.clone()).or_default().insert(to.clone());
    }
    let mut found = Vec::new();
    let mut done: BTreeSet<ModPath> = BTreeSet::new();
    for start in graph.keys() {
        let mut stack = vec![start.clone()];
        visit(start, &graph, &mut stack, &mut done, &mut found);
    }
    found
}

fn visit(
    node: &ModPath,
    graph: &BTreeMap<ModPath, BTreeSet<ModPath>>,
    stack: &mut Vec<ModPath>,
    done: &mut BTreeSet<ModPath>,
    found: &mut Vec<String>,
) {
    if done.contains(node) {
        return;
    }
    for next in graph.get(node).into_iter().flatten() {
        if let Some(at) = stack.iter().position(|m| m == next) {
            let names: Vec<String> = stack[at..]
                .iter()
                .chain([next])
                .map(|m| m.join("::"))
                .collect();
            found.push(names.join(" → "));
            continue;
        }
        stack.push(next.clone());
        visit(next, graph, stack, done, found);
        stack.pop();
    }
    done.insert(node.clone());
}

#[test]
fn modules_import_without_circles() {
    let mut all = Vec::new();
    let crates = root().join("crates");
    let mut dirs: Vec<_> = std::fs::read_dir(&crates)
        .expect("crates/")
        .map(|entry| entry.expect("an entry").path().join("src"))
        .filter(|src| src.is_dir())
        .collect();
    dirs.sort();
    for src in dirs {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap_or_default();
        let exports = root_exports(&library_code(&lib));
        let mut edges = BTreeSet::new();
        for file in &files {
            let here = module_path(&src, file);
            let is_dir_module = file.file_name().is_some_and(|name| name == "mod.rs");
            let text = std::fs::read_to_string(file).expect("a readable source file");
            for mut target in referenced_modules(&library_code(&text), &here, is_dir_module) {
                if let Some(name) = target.first().and_then(|first| first.strip_prefix('#')) {
                    target = exports
                        .get(name)
                        .map(|module| vec![module.clone()])
                        .unwrap_or_default();
                }
                let common = here.iter().zip(&target).take_while(|(a, b)| a == b).count();
                // A module's use of its own ancestors or descendants is no circle.
                if common == here.len() || common == target.len() {
                    continue;
                }
                edges.insert((here[..=common].to_vec(), target[..=common].to_vec()));
            }
        }
        let crate_name = src
            .parent()
            .and_then(|dir| dir.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        for circle in circles(&edges) {
            all.push(format!("crates/{crate_name}: {circle}"));
        }
    }
    assert!(all.is_empty(), "module import circles:\n{}", all.join("\n"));
}

#[test]
fn the_circle_check_sees_a_circle() {
    let here: ModPath = vec!["stages".into(), "train".into()];
    let code = "use crate::{tune::{Scorer, space::with_iterations}, config::Plan};\nfn f() { super::ingest::run(); }";
    let found = referenced_modules(code, &here, false);
    assert!(found.contains(&vec!["tune".to_owned()]));
    assert!(found.contains(&vec!["tune".to_owned(), "space".to_owned()]));
    assert!(found.contains(&vec!["config".to_owned()]));
    assert!(found.contains(&vec!["stages".to_owned(), "ingest".to_owned()]));
    let edges: BTreeSet<(ModPath, ModPath)> = [
        (vec!["a".to_owned()], vec!["b".to_owned()]),
        (vec!["b".to_owned()], vec!["a".to_owned()]),
    ]
    .into_iter()
    .collect();
    assert_eq!(circles(&edges).len(), 1);
    let test_only = "fn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::b::X;\n}\n";
    assert!(!library_code(test_only).contains("crate::b"));
}
