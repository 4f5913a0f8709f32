//! Loading facts from data files.
//!
//! Two formats:
//! - JSON (`--data FILE`, `data "file.json";`): `{"relation": [[v1, v2, ...], ...], ...}`, one
//!   array per row, typed by the relation's declaration (strings, integers, booleans). A second,
//!   entity-style form is described in [`load_json`].
//! - TSV (`--facts DIR`): `DIR/<relation>.facts`, one row per line, columns separated by tabs,
//!   strings unquoted, as Soufflé writes them. In an int column `049` reads as 49.
//!
//! Every problem names the file, the relation and the row; loading reports all of them.

use crate::diag::{did_you_mean, Diagnostic};
use crate::ir::{Fact, Origin, Program, RelId, RelKind, Sym, Type, Value};
use serde_json::Value as Json;
use std::path::Path;

/// A problem in a data file. Data files have no spans; the message names file, relation and row.
fn data_error(code: &'static str, message: String) -> Diagnostic {
    Diagnostic::error(code, message)
}

/// Relations that data may fill: declared ones (not policy instance relations).
fn data_relation(program: &Program, name: &str) -> Option<RelId> {
    program
        .relation_by_name(name)
        .filter(|r| matches!(program.relation(*r).kind, RelKind::Declared))
}

fn unknown_relation(program: &Program, file: &str, name: &str) -> Diagnostic {
    let names = program
        .relations
        .iter()
        .filter(|r| matches!(r.kind, RelKind::Declared))
        .map(|r| r.name.as_str());
    let d = data_error(
        "ztpol::data::unknown-relation",
        format!("{file}: unknown relation `{name}`"),
    );
    match did_you_mean(name, names) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None => d.with_help("every relation must be declared with `rel` in the policy"),
    }
}

/// Loads a JSON data file.
///
/// The main form maps relation names to rows: `{"member": [["user:alice", "tier1"]]}`.
///
/// The entity form is an object with an `"entities"` array, each entity
/// `{"type": "user", "id": "alice", "relations": {"member": [["tier1"]]}}`: every row of every
/// listed relation gets the entity's reference `"user:alice"` prepended as its first column.
/// Both forms may appear in one file (relations beside `"entities"`).
pub fn load_json(program: &mut Program, path: &Path) -> Result<Vec<Fact>, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![data_error(
            "ztpol::data::io",
            format!("cannot read data file `{file}`: {e}"),
        )]
    })?;
    load_json_str(program, &file, &text)
}

/// Loads JSON data from text; `file` names it in messages and origins.
pub fn load_json_str(
    program: &mut Program,
    file: &str,
    text: &str,
) -> Result<Vec<Fact>, Vec<Diagnostic>> {
    let json: Json = serde_json::from_str(text).map_err(|e| {
        vec![data_error(
            "ztpol::data::json",
            format!("{file}:{}:{}: invalid JSON: {e}", e.line(), e.column()),
        )]
    })?;
    let Json::Object(map) = json else {
        return Err(vec![data_error(
            "ztpol::data::shape",
            format!("{file}: expected a JSON object mapping relation names to arrays of rows"),
        )]);
    };
    let mut facts = Vec::new();
    let mut errors = Vec::new();
    for (name, rows) in &map {
        if name == "entities" {
            load_entities(program, file, rows, &mut facts, &mut errors);
            continue;
        }
        load_rows(program, file, name, rows, None, &mut facts, &mut errors);
    }
    if errors.is_empty() {
        Ok(facts)
    } else {
        Err(errors)
    }
}

fn load_entities(
    program: &mut Program,
    file: &str,
    entities: &Json,
    facts: &mut Vec<Fact>,
    errors: &mut Vec<Diagnostic>,
) {
    let Json::Array(list) = entities else {
        errors.push(data_error(
            "ztpol::data::shape",
            format!("{file}: `entities` must be an array of entities"),
        ));
        return;
    };
    for (i, entity) in list.iter().enumerate() {
        let (Some(ty), Some(id)) = (
            entity.get("type").and_then(Json::as_str),
            entity.get("id").and_then(Json::as_str),
        ) else {
            errors.push(data_error(
                "ztpol::data::shape",
                format!("{file}: entity {i}: expected string fields `type` and `id`"),
            ));
            continue;
        };
        let reference = format!("{ty}:{id}");
        match entity.get("relations") {
            None => {}
            Some(Json::Object(rels)) => {
                for (name, rows) in rels {
                    load_rows(program, file, name, rows, Some(&reference), facts, errors);
                }
            }
            Some(_) => errors.push(data_error(
                "ztpol::data::shape",
                format!("{file}: entity `{reference}`: `relations` must be an object"),
            )),
        }
    }
}

fn load_rows(
    program: &mut Program,
    file: &str,
    name: &str,
    rows: &Json,
    prefix: Option<&str>,
    facts: &mut Vec<Fact>,
    errors: &mut Vec<Diagnostic>,
) {
    let Some(rel) = data_relation(program, name) else {
        errors.push(unknown_relation(program, file, name));
        return;
    };
    let types: Vec<Type> = program.relation(rel).columns.iter().map(|c| c.ty).collect();
    let Json::Array(rows) = rows else {
        errors.push(data_error(
            "ztpol::data::shape",
            format!("{file}: relation `{name}`: expected an array of rows"),
        ));
        return;
    };
    for (r, row) in rows.iter().enumerate() {
        let Json::Array(cells) = row else {
            errors.push(data_error(
                "ztpol::data::shape",
                format!("{file}: relation `{name}`, row {r}: expected an array of values"),
            ));
            continue;
        };
        let given = cells.len() + usize::from(prefix.is_some());
        if given != types.len() {
            errors.push(
                data_error(
                    "ztpol::data::arity",
                    format!(
                        "{file}: relation `{name}`, row {r}: expected {} values, found {given}",
                        types.len()
                    ),
                )
                .with_help(format!("`{name}` is declared with {} columns", types.len())),
            );
            continue;
        }
        let mut values: Vec<Sym> = Vec::with_capacity(types.len());
        if let Some(p) = prefix {
            if types[0] != Type::String {
                errors.push(data_error(
                    "ztpol::data::type",
                    format!("{file}: relation `{name}`: the first column must be a string to hold the entity `{p}`"),
                ));
                continue;
            }
            values.push(program.interner.intern_str(p));
        }
        let offset = values.len();
        let mut ok = true;
        for (c, cell) in cells.iter().enumerate() {
            let ty = types[c + offset];
            let value = match (ty, cell) {
                (Type::String, Json::String(s)) => Some(Value::Str(s.clone())),
                (Type::Int, Json::Number(n)) => n.as_i64().map(Value::Int),
                (Type::Bool, Json::Bool(b)) => Some(Value::Bool(*b)),
                _ => None,
            };
            match value {
                Some(v) => values.push(program.interner.intern(v)),
                None => {
                    ok = false;
                    errors.push(data_error(
                        "ztpol::data::type",
                        format!(
                            "{file}: relation `{name}`, row {r}, column {}: expected {}, found `{cell}`",
                            c + offset + 1,
                            type_phrase(ty)
                        ),
                    ));
                }
            }
        }
        if ok {
            facts.push(Fact {
                rel,
                values,
                origin: Origin::DataFile {
                    file: file.to_string(),
                    row: r,
                },
            });
        }
    }
}

fn type_phrase(ty: Type) -> &'static str {
    match ty {
        Type::String => "a string",
        Type::Int => "an integer",
        Type::Bool => "a boolean",
    }
}

/// Loads `DIR/<relation>.facts` for every declared relation that has such a file.
pub fn load_facts_dir(program: &mut Program, dir: &Path) -> Result<Vec<Fact>, Vec<Diagnostic>> {
    if !dir.is_dir() {
        return Err(vec![data_error(
            "ztpol::data::io",
            format!("facts directory `{}` does not exist", dir.display()),
        )]);
    }
    let mut facts = Vec::new();
    let mut errors = Vec::new();
    let rels: Vec<RelId> = (0..program.relations.len() as u32)
        .map(RelId)
        .filter(|r| matches!(program.relation(*r).kind, RelKind::Declared))
        .collect();
    for rel in rels {
        let name = program.relation(rel).name.clone();
        let path = dir.join(format!("{name}.facts"));
        if !path.is_file() {
            continue;
        }
        let file = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => load_tsv(program, rel, &file, &text, &mut facts, &mut errors),
            Err(e) => errors.push(data_error(
                "ztpol::data::io",
                format!("cannot read facts file `{file}`: {e}"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(facts)
    } else {
        Err(errors)
    }
}

/// Parses TSV rows of `rel` from `text`.
pub fn load_tsv(
    program: &mut Program,
    rel: RelId,
    file: &str,
    text: &str,
    facts: &mut Vec<Fact>,
    errors: &mut Vec<Diagnostic>,
) {
    let name = program.relation(rel).name.clone();
    let types: Vec<Type> = program.relation(rel).columns.iter().map(|c| c.ty).collect();
    for (i, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() && types.len() != 1 {
            continue;
        }
        let cells: Vec<&str> = if types.is_empty() {
            Vec::new()
        } else {
            line.split('\t').collect()
        };
        if cells.len() != types.len() {
            errors.push(data_error(
                "ztpol::data::arity",
                format!(
                    "{file}:{}: relation `{name}`: expected {} tab-separated values, found {}",
                    i + 1,
                    types.len(),
                    cells.len()
                ),
            ));
            continue;
        }
        let mut values = Vec::with_capacity(types.len());
        let mut ok = true;
        for (c, (cell, ty)) in cells.iter().zip(&types).enumerate() {
            let value = match ty {
                Type::String => Some(Value::Str((*cell).to_string())),
                Type::Int => cell.trim().parse::<i64>().ok().map(Value::Int),
                Type::Bool => match cell.trim() {
                    "true" => Some(Value::Bool(true)),
                    "false" => Some(Value::Bool(false)),
                    _ => None,
                },
            };
            match value {
                Some(v) => values.push(program.interner.intern(v)),
                None => {
                    ok = false;
                    errors.push(data_error(
                        "ztpol::data::type",
                        format!(
                            "{file}:{}: relation `{name}`, column {}: expected {}, found `{cell}`",
                            i + 1,
                            c + 1,
                            type_phrase(*ty)
                        ),
                    ));
                }
            }
        }
        if ok {
            facts.push(Fact {
                rel,
                values,
                origin: Origin::FactsFile {
                    file: file.to_string(),
                    line: i + 1,
                },
            });
        }
    }
}
