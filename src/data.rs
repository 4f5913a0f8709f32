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
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

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
///
/// The text is read in one pass, without building a JSON tree: rows go straight from the
/// parser to facts, strings are interned as they are read. Problems are collected as the
/// reading goes (a syntax error anywhere replaces them all, as it makes the file unreadable).
/// A relation named twice at the top level keeps its last rows, in the place of its first
/// mention, as a JSON object would.
pub fn load_json_str(
    program: &mut Program,
    file: &str,
    text: &str,
) -> Result<Vec<Fact>, Vec<Diagnostic>> {
    // Every row opens with `[`, and a row of data usually brings about one new string (a
    // principal, a resource): so the count of `[` bounds the facts and guesses the new
    // symbols. A quick pass that spares the vectors and the interner's table their regrowth
    // (and its copies) on large files; wrong guesses only cost that regrowth. The guess is
    // capped at one row per 16 bytes, so that odd files (`[[[[`) reserve no more than a few
    // times their size.
    let brackets = text.bytes().filter(|&b| b == b'[').count();
    let rows_guess = brackets.min(text.len() / 16);
    program.interner.reserve(rows_guess);
    let mut loader = Loader {
        program,
        file,
        file_name: Arc::from(file),
        facts: Vec::with_capacity(rows_guess),
        errors: Vec::new(),
        sections: Vec::new(),
        section_of: HashMap::new(),
        duplicates: false,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let read = TopSeed(&mut loader)
        .deserialize(&mut de)
        .and_then(|object| de.end().map(|()| object));
    let object = read.map_err(|e| {
        vec![data_error(
            "ztpol::data::json",
            format!("{file}:{}:{}: invalid JSON: {e}", e.line(), e.column()),
        )]
    })?;
    if !object {
        return Err(vec![data_error(
            "ztpol::data::shape",
            format!("{file}: expected a JSON object mapping relation names to arrays of rows"),
        )]);
    }
    let (facts, errors) = loader.finish();
    if errors.is_empty() {
        Ok(facts)
    } else {
        Err(errors)
    }
}

/// One cell of a row, as read from the JSON text.
#[derive(Debug)]
enum Cell<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Bool(bool),
    /// Anything else (a float, a big number, null, an array, an object): never a valid value.
    Other(Json),
}

impl Cell<'_> {
    fn of_json(v: &Json) -> Cell<'_> {
        match v {
            Json::String(s) => Cell::Str(Cow::Borrowed(s)),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Cell::Int(i),
                None => Cell::Other(v.clone()),
            },
            Json::Bool(b) => Cell::Bool(*b),
            Json::Null | Json::Array(_) | Json::Object(_) => Cell::Other(v.clone()),
        }
    }

    /// The cell as JSON text, for messages.
    fn text(&self) -> String {
        match self {
            Cell::Str(s) => Json::String(s.to_string()).to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::Other(v) => v.to_string(),
        }
    }
}

/// The facts and errors of one top-level key, by position in the loader's vectors.
struct Section {
    facts: Range<usize>,
    errors: Range<usize>,
}

/// The state of one JSON load: the program (its interner), and what was found so far.
struct Loader<'p> {
    program: &'p mut Program,
    file: &'p str,
    /// `file`, shared by the origins of its facts.
    file_name: Arc<str>,
    facts: Vec<Fact>,
    errors: Vec<Diagnostic>,
    /// Per distinct top-level key, in order of first mention: its last mention's results.
    sections: Vec<Section>,
    section_of: HashMap<String, usize>,
    duplicates: bool,
}

impl Loader<'_> {
    /// Records that the results of the next top-level key start here.
    fn open(&self) -> Section {
        Section {
            facts: self.facts.len()..self.facts.len(),
            errors: self.errors.len()..self.errors.len(),
        }
    }

    /// Records where the results of top-level key `key` (opened as `section`) end.
    fn close(&mut self, key: String, mut section: Section) {
        section.facts.end = self.facts.len();
        section.errors.end = self.errors.len();
        match self.section_of.get(&key) {
            Some(&i) => {
                self.duplicates = true;
                self.sections[i] = section;
            }
            None => {
                self.section_of.insert(key, self.sections.len());
                self.sections.push(section);
            }
        }
    }

    /// The facts and errors, each key's last mention in the place of its first.
    fn finish(self) -> (Vec<Fact>, Vec<Diagnostic>) {
        if !self.duplicates {
            return (self.facts, self.errors);
        }
        let mut facts: Vec<Option<Fact>> = self.facts.into_iter().map(Some).collect();
        let mut errors: Vec<Option<Diagnostic>> = self.errors.into_iter().map(Some).collect();
        let mut kept_facts = Vec::new();
        let mut kept_errors = Vec::new();
        for s in &self.sections {
            kept_facts.extend(facts[s.facts.clone()].iter_mut().filter_map(Option::take));
            kept_errors.extend(errors[s.errors.clone()].iter_mut().filter_map(Option::take));
        }
        (kept_facts, kept_errors)
    }

    /// Checks one row of relation `rel` and adds it as a fact (or its problems as errors).
    fn row(
        &mut self,
        rel: RelId,
        name: &str,
        types: &[Type],
        prefix: Option<&str>,
        r: usize,
        cells: &[Cell<'_>],
    ) {
        let file = self.file;
        let given = cells.len() + usize::from(prefix.is_some());
        if given != types.len() {
            self.errors.push(
                data_error(
                    "ztpol::data::arity",
                    format!(
                        "{file}: relation `{name}`, row {r}: expected {} values, found {given}",
                        types.len()
                    ),
                )
                .with_help(format!("`{name}` is declared with {} columns", types.len())),
            );
            return;
        }
        let mut values: Vec<Sym> = Vec::with_capacity(types.len());
        if let Some(p) = prefix {
            if types[0] != Type::String {
                self.errors.push(data_error(
                    "ztpol::data::type",
                    format!("{file}: relation `{name}`: the first column must be a string to hold the entity `{p}`"),
                ));
                return;
            }
            values.push(self.program.interner.intern_str(p));
        }
        let offset = values.len();
        let mut ok = true;
        for (c, cell) in cells.iter().enumerate() {
            let ty = types[c + offset];
            let interner = &mut self.program.interner;
            let value = match (ty, cell) {
                (Type::String, Cell::Str(s)) => Ok(interner.intern_str(s)),
                (Type::Int, &Cell::Int(i)) => Ok(interner.intern(Value::Int(i))),
                (Type::Bool, &Cell::Bool(b)) => Ok(interner.intern(Value::Bool(b))),
                (_, cell) => Err(cell),
            };
            match value {
                Ok(v) => values.push(v),
                Err(cell) => {
                    ok = false;
                    self.errors.push(data_error(
                        "ztpol::data::type",
                        format!(
                            "{file}: relation `{name}`, row {r}, column {}: expected {}, found `{}`",
                            c + offset + 1,
                            type_phrase(ty),
                            cell.text()
                        ),
                    ));
                }
            }
        }
        if ok {
            self.facts.push(Fact {
                rel,
                values,
                origin: Origin::DataFile {
                    file: self.file_name.clone(),
                    row: r,
                },
            });
        }
    }

    /// The relation data may fill under `name`, with its column types; an error if none.
    fn relation(&mut self, name: &str) -> Option<(RelId, Vec<Type>)> {
        match data_relation(self.program, name) {
            Some(rel) => {
                let types = self
                    .program
                    .relation(rel)
                    .columns
                    .iter()
                    .map(|c| c.ty)
                    .collect();
                Some((rel, types))
            }
            None => {
                self.errors
                    .push(unknown_relation(self.program, self.file, name));
                None
            }
        }
    }

    /// Loads the rows of a relation given as a JSON value (the entity form).
    fn json_rows(&mut self, name: &str, rows: &Json, prefix: Option<&str>) {
        let Some((rel, types)) = self.relation(name) else {
            return;
        };
        let file = self.file;
        let Json::Array(rows) = rows else {
            self.errors.push(data_error(
                "ztpol::data::shape",
                format!("{file}: relation `{name}`: expected an array of rows"),
            ));
            return;
        };
        let mut cells = Vec::new();
        for (r, row) in rows.iter().enumerate() {
            let Json::Array(values) = row else {
                self.errors.push(not_a_row(file, name, r));
                continue;
            };
            cells.extend(values.iter().map(Cell::of_json));
            self.row(rel, name, &types, prefix, r, &cells);
            cells.clear();
        }
    }

    fn entities(&mut self, entities: &Json) {
        let file = self.file;
        let Json::Array(list) = entities else {
            self.errors.push(data_error(
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
                self.errors.push(data_error(
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
                        self.json_rows(name, rows, Some(&reference));
                    }
                }
                Some(_) => self.errors.push(data_error(
                    "ztpol::data::shape",
                    format!("{file}: entity `{reference}`: `relations` must be an object"),
                )),
            }
        }
    }
}

fn not_a_row(file: &str, name: &str, r: usize) -> Diagnostic {
    data_error(
        "ztpol::data::shape",
        format!("{file}: relation `{name}`, row {r}: expected an array of values"),
    )
}

/// Reads the top level: an object of relations (true), or anything else (false).
struct TopSeed<'l, 'p>(&'l mut Loader<'p>);

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_any(self)
    }
}

/// Implements the visitor methods of every JSON shape but arrays and objects as "not the
/// expected shape" (`false`).
macro_rules! other_shapes_are_false {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
    };
}

/// Skips every element of an array.
fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Skips every entry of an object.
fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object mapping relation names to arrays of rows")
    }

    other_shapes_are_false!();

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        skip_seq(seq)?;
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let loader = self.0;
        while let Some(key) = map.next_key::<String>()? {
            let section = loader.open();
            if key == "entities" {
                let entities: Json = map.next_value()?;
                loader.entities(&entities);
            } else {
                match loader.relation(&key) {
                    Some((rel, types)) => map.next_value_seed(RowsSeed {
                        loader: &mut *loader,
                        rel,
                        name: &key,
                        types: &types,
                    })?,
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            loader.close(key, section);
        }
        Ok(true)
    }
}

/// Reads the rows of one relation straight into facts.
struct RowsSeed<'l, 'p, 'n> {
    loader: &'l mut Loader<'p>,
    rel: RelId,
    name: &'n str,
    types: &'n [Type],
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        let RowsSeed {
            loader,
            rel,
            name,
            types,
        } = self;
        let array = de.deserialize_any(RowsSeed {
            loader: &mut *loader,
            rel,
            name,
            types,
        })?;
        if !array {
            loader.errors.push(data_error(
                "ztpol::data::shape",
                format!(
                    "{}: relation `{name}`: expected an array of rows",
                    loader.file
                ),
            ));
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_, '_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of rows")
    }

    other_shapes_are_false!();

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        skip_map(map)?;
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<bool, A::Error> {
        // Rows are read in batches: the strings of a whole batch are looked up in the
        // interner's table at once (see `Interner::prefetch_strs`), then interned row by row.
        let mut cells: Vec<Cell<'de>> = Vec::with_capacity(ROW_BATCH * self.types.len());
        // Per row of the batch: where its cells end, or `None` if it was not an array.
        let mut ends: Vec<Option<usize>> = Vec::with_capacity(ROW_BATCH);
        let mut r = 0;
        loop {
            let row = RowSeed { cells: &mut cells };
            let Some(array) = seq.next_element_seed(row)? else {
                break;
            };
            ends.push(array.then_some(cells.len()));
            if ends.len() == ROW_BATCH {
                r = self.rows(r, &cells, &ends);
                cells.clear();
                ends.clear();
            }
        }
        self.rows(r, &cells, &ends);
        Ok(true)
    }
}

/// Rows read from the JSON text before their strings are interned.
const ROW_BATCH: usize = 32;

impl RowsSeed<'_, '_, '_> {
    /// Adds a batch of rows, the first numbered `r`, as facts (or errors); the next row's
    /// number.
    fn rows(&mut self, mut r: usize, cells: &[Cell<'_>], ends: &[Option<usize>]) -> usize {
        self.loader
            .program
            .interner
            .prefetch_strs(cells.iter().filter_map(|c| match c {
                Cell::Str(s) => Some(&**s),
                Cell::Int(_) | Cell::Bool(_) | Cell::Other(_) => None,
            }));
        let mut start = 0;
        for end in ends {
            match *end {
                Some(end) => {
                    let row = &cells[start..end];
                    self.loader
                        .row(self.rel, self.name, self.types, None, r, row);
                    start = end;
                }
                None => {
                    let e = not_a_row(self.loader.file, self.name, r);
                    self.loader.errors.push(e);
                }
            }
            r += 1;
        }
        r
    }
}

/// Reads one row into `cells`: whether it was an array.
struct RowSeed<'c, 'de> {
    cells: &'c mut Vec<Cell<'de>>,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, 'de> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, 'de> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of values")
    }

    other_shapes_are_false!();

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        skip_map(map)?;
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while let Some(cell) = seq.next_element_seed(CellSeed)? {
            self.cells.push(cell);
        }
        Ok(true)
    }
}

/// Reads one cell, borrowing strings from the text when they have no escapes.
struct CellSeed;

impl<'de> DeserializeSeed<'de> for CellSeed {
    type Value = Cell<'de>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Cell<'de>, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CellSeed {
    type Value = Cell<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Cell<'de>, E> {
        Ok(Cell::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Cell<'de>, E> {
        Ok(Cell::Int(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Cell<'de>, E> {
        Ok(match i64::try_from(u) {
            Ok(i) => Cell::Int(i),
            Err(_) => Cell::Other(Json::from(u)),
        })
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Cell<'de>, E> {
        Ok(Cell::Other(
            serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        ))
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Cell<'de>, E> {
        Ok(Cell::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Cell<'de>, E> {
        Ok(Cell::Str(Cow::Owned(s.to_string())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Cell<'de>, E> {
        Ok(Cell::Str(Cow::Owned(s)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Cell<'de>, E> {
        Ok(Cell::Other(Json::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Cell<'de>, A::Error> {
        Json::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Cell::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Cell<'de>, A::Error> {
        Json::deserialize(de::value::MapAccessDeserializer::new(map)).map(Cell::Other)
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
    let file_name: Arc<str> = Arc::from(file);
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
            let interner = &mut program.interner;
            let value = match ty {
                Type::String => Some(interner.intern_str(cell)),
                Type::Int => cell
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .map(|i| interner.intern(Value::Int(i))),
                Type::Bool => match cell.trim() {
                    "true" => Some(interner.intern(Value::Bool(true))),
                    "false" => Some(interner.intern(Value::Bool(false))),
                    _ => None,
                },
            };
            match value {
                Some(v) => values.push(v),
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
                    file: file_name.clone(),
                    line: i + 1,
                },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    //! The one-pass JSON loader against a reference that builds the JSON tree first and walks
    //! it: same facts, same symbols in the same order, same problems.
    use super::*;

    mod reference {
        use super::super::{data_error, data_relation, type_phrase, unknown_relation};
        use crate::diag::Diagnostic;
        use crate::ir::{Fact, Origin, Program, Sym, Type, Value};
        use serde_json::Value as Json;

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
                    format!(
                        "{file}: expected a JSON object mapping relation names to arrays of rows"
                    ),
                )]);
            };
            let mut facts = Vec::new();
            let mut errors = Vec::new();
            for (name, rows) in &map {
                if name == "entities" {
                    entities(program, file, rows, &mut facts, &mut errors);
                } else {
                    rows_of(program, file, name, rows, None, &mut facts, &mut errors);
                }
            }
            if errors.is_empty() {
                Ok(facts)
            } else {
                Err(errors)
            }
        }

        fn entities(
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
                            rows_of(program, file, name, rows, Some(&reference), facts, errors);
                        }
                    }
                    Some(_) => errors.push(data_error(
                        "ztpol::data::shape",
                        format!("{file}: entity `{reference}`: `relations` must be an object"),
                    )),
                }
            }
        }

        fn rows_of(
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
                let mut values: Vec<Sym> = Vec::new();
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
                            file: file.into(),
                            row: r,
                        },
                    });
                }
            }
        }
    }

    const POLICY: &str = r#"
rel member(principal: string, role: string)
rel suspended(principal: string)
rel quota(principal: string, amount: int, active: bool)
rel level(amount: int, name: string)
rel used(principal: string)
used(P) :- member(P, _), quota(P, _, true), level(_, _), not suspended(P).
"#;

    fn program() -> Program {
        let compiled = crate::load::compile_str("policy.ztp", POLICY);
        match compiled.program {
            Some(p) => p,
            None => panic!("the test policy compiles: {:?}", compiled.diagnostics),
        }
    }

    fn symbols(p: &Program) -> Vec<Value> {
        (0..p.interner.len() as u32)
            .map(|i| p.interner.value(Sym(i)).clone())
            .collect()
    }

    /// The facts with their values decoded.
    fn decoded(p: &Program, facts: &[Fact]) -> Vec<(RelId, Vec<Value>, Origin)> {
        facts
            .iter()
            .map(|f| {
                let values = f
                    .values
                    .iter()
                    .map(|&s| p.interner.value(s).clone())
                    .collect();
                (f.rel, values, f.origin.clone())
            })
            .collect()
    }

    /// Loads `text` with both loaders and asserts the same outcome; the same symbols too,
    /// numbered alike, unless a relation is named twice (whose first rows only the one-pass
    /// loader interns).
    fn same(text: &str) -> Result<Vec<Fact>, Vec<Diagnostic>> {
        let mut fast = program();
        let mut slow = program();
        let got = load_json_str(&mut fast, "data.json", text);
        let want = reference::load_json_str(&mut slow, "data.json", text);
        match (&got, &want) {
            (Ok(g), Ok(w)) => {
                assert_eq!(decoded(&fast, g), decoded(&slow, w), "facts of {text}");
                if !text.contains("\"member\": [[\"b\"") {
                    assert_eq!(g, w, "symbols of {text}");
                    assert_eq!(symbols(&fast), symbols(&slow), "interner after {text}");
                }
            }
            (g, w) => assert_eq!(g, w, "outcome of {text}"),
        }
        got
    }

    fn messages(r: Result<Vec<Fact>, Vec<Diagnostic>>) -> Vec<String> {
        match r {
            Ok(facts) => panic!("expected problems, loaded {} facts", facts.len()),
            Err(e) => e.into_iter().map(|d| d.message).collect(),
        }
    }

    #[test]
    fn valid_rows_become_facts_in_order() {
        let facts = match same(
            r#"{"member": [["user:alice", "tier1"], ["user:b\"ob", "tier2"], ["user:\u00e9", "tier1"]],
                "quota": [["user:alice", 500, true], ["user:bob", -3, false]],
                "level": [[9223372036854775807, "max"]], "suspended": []}"#,
        ) {
            Ok(f) => f,
            Err(e) => panic!("valid data: {e:?}"),
        };
        assert_eq!(facts.len(), 6);
        assert_eq!(
            facts[1].origin,
            Origin::DataFile {
                file: "data.json".into(),
                row: 1
            }
        );
    }

    #[test]
    fn entity_form_prefixes_the_reference() {
        let facts = match same(
            r#"{"entities": [{"type": "user", "id": "alice", "relations": {"member": [["tier1"]], "suspended": [[]]}}],
                "member": [["user:bob", "tier2"]]}"#,
        ) {
            Ok(f) => f,
            Err(e) => panic!("valid data: {e:?}"),
        };
        assert_eq!(facts.len(), 3);
    }

    #[test]
    fn every_problem_is_reported_as_before() {
        let found = messages(same(
            r#"{"membr": [["a", "b"]],
                "member": [["a"], "row", {"x": 1}, ["a", 1], ["a", 1.5], ["a", null], ["a", [1, {"k": [2]}]],
                           ["a", {"k": "v"}], [true, "b"]],
                "quota": [["a", "5", 1], ["a", 18446744073709551615, false], ["a", -1e3, true]],
                "suspended": {"a": 1},
                "level": 7,
                "entities": [{"type": "user"}, {"type": "user", "id": "x", "relations": 3},
                             {"type": "user", "id": "y", "relations": {"quota": [[1, true]], "level": [[2]], "nope": []}}]}"#,
        ));
        assert!(found.len() >= 18, "{found:#?}");
        assert!(found.iter().any(|m| m.contains("unknown relation `membr`")));
        assert!(found
            .iter()
            .any(|m| m.contains("row 6, column 2: expected a string, found `[1,{\"k\":[2]}]`")));
        assert!(found
            .iter()
            .any(|m| m.contains("column 2: expected an integer, found `18446744073709551615`")));
    }

    #[test]
    fn duplicate_keys_keep_the_last_rows_in_the_first_place() {
        let facts = match same(
            r#"{"member": [["a", "r1"]], "suspended": [["s"]], "member": [["b", "r2"], ["c", "r3"]]}"#,
        ) {
            Ok(f) => f,
            Err(e) => panic!("valid data: {e:?}"),
        };
        assert_eq!(facts.len(), 3);
        let found = messages(same(
            r#"{"member": [["a"]], "level": [[1, 2]], "member": [["b", 3]], "level": [["x", "y"]]}"#,
        ));
        assert_eq!(found.len(), 2, "{found:#?}");
    }

    #[test]
    fn syntax_and_shape_errors_replace_the_rest() {
        for text in [
            "",
            "[1, 2",
            "[1, 2]",
            "\"member\"",
            "42",
            "null",
            "{\"member\": [[\"a\", 1]], ",
            "{\"member\": [[\"a\", \"b\"]]} trailing",
            "{\"member\": [[\"a\", \"b\"]],}",
            "{\"member\": [[\"a\", \"\\q\"]]}",
            "{\"member\" [[\"a\", \"b\"]]}",
            "{\"member\": [[\"a\", 01]]}",
            &format!(
                "{{\"member\": [[\"a\", {}1{}]]}}",
                "[".repeat(200),
                "]".repeat(200)
            ),
        ] {
            let found = messages(same(text));
            assert_eq!(found.len(), 1, "{text}: {found:#?}");
        }
    }
}
