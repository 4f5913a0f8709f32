//! `ztpol query PATH... [--facts DIR] [--data FILE] [GOAL] [--out DIR]`: evaluate the program and
//! print the tuples matching a goal (TSV), or write every relation to `DIR/<rel>.csv`.

use super::{load, report, Common, EvalArgs, Format, EXIT_ERROR, EXIT_OK};
use clap::Args;
use std::path::{Path, PathBuf};
use ztpol::check::Goal;
use ztpol::eval::Model;
use ztpol::ir::{Program, RelId, RelKind, Sym};
use ztpol::source::{FileId, SourceFile};

#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// Policy files or directories, then optionally a goal such as `path("a", X)`.
    /// An argument that contains `(` and is not an existing path is the goal.
    #[arg(required = true, value_name = "PATH... [GOAL]")]
    pub args: Vec<String>,
    /// Load `DIR/<relation>.facts` (tab-separated, Soufflé's format) for every declared relation.
    #[arg(long, value_name = "DIR")]
    pub facts: Option<PathBuf>,
    /// Write every relation, given or derived, to `DIR/<relation>.csv` (tab-separated, strings
    /// unquoted, one row per line; an empty relation is an empty file).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Explain a goal instead of listing it: the proof of each matching tuple, or why no
    /// tuple matches (which rules could derive it and which premise each one lacks).
    #[arg(long, value_name = "GOAL")]
    pub explain: Option<String>,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub eval: EvalArgs,
}

pub fn run(args: &QueryArgs) -> u8 {
    let format = args.common.format();
    let (paths, goal_text) = split_args(&args.args);
    if goal_text.len() > 1 {
        eprintln!("error: more than one goal given: {}", goal_text.join(", "));
        return EXIT_ERROR;
    }
    if goal_text.is_empty() && args.out.is_none() && args.explain.is_none() {
        eprintln!(
            "error: give a goal such as `path(\"a\", X)`, or `--out DIR` to write every relation"
        );
        return EXIT_ERROR;
    }
    let mut loaded = match load(
        &paths,
        &args.common.data,
        args.facts.as_deref(),
        &args.eval.config(),
        format,
    ) {
        Ok(l) => l,
        Err(code) => return code,
    };
    if let Some(dir) = &args.out {
        if let Err(e) = write_out(&loaded.program, &loaded.model, dir) {
            eprintln!("error: cannot write to `{}`: {e}", dir.display());
            return EXIT_ERROR;
        }
    }
    if let Some(goal) = &args.explain {
        return super::explain::explain_goal(&mut loaded, goal, &args.eval.config(), format);
    }
    let Some(text) = goal_text.first() else {
        return EXIT_OK;
    };
    let program = &mut loaded.program;
    let file = program
        .sources
        .add(SourceFile::new("<goal>", None, text.to_string()));
    let goal = match parse_goal(program, file, text) {
        Ok(g) => g,
        Err(diags) => {
            report(&diags, &program.sources, format);
            return EXIT_ERROR;
        }
    };
    let rows = goal.matching(program, &loaded.model);
    match format {
        Format::Human => {
            for row in &rows {
                println!("{}", tsv_row(program, row));
            }
        }
        Format::Json => {
            let rows: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| r.iter().map(|s| json_value(program, *s)).collect())
                .collect();
            let out = serde_json::json!({
                "relation": program.relation(goal.rel).name,
                "rows": rows,
            });
            println!("{out}");
        }
    }
    EXIT_OK
}

/// Paths are the arguments that exist or do not look like a goal; the goal contains `(`.
fn split_args(args: &[String]) -> (Vec<PathBuf>, Vec<&str>) {
    let mut paths = Vec::new();
    let mut goals = Vec::new();
    for a in args {
        if a.contains('(') && !Path::new(a).exists() {
            goals.push(a.as_str());
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    (paths, goals)
}

fn parse_goal(
    program: &mut Program,
    file: FileId,
    text: &str,
) -> Result<Goal, Vec<ztpol::diag::Diagnostic>> {
    let atom = ztpol::syntax::parse_atom(file, text)?;
    ztpol::check::lower_goal(program, &atom)
}

fn tsv_row(program: &Program, row: &[Sym]) -> String {
    row.iter()
        .map(|s| program.interner.value(*s).to_tsv())
        .collect::<Vec<_>>()
        .join("\t")
}

fn json_value(program: &Program, sym: Sym) -> serde_json::Value {
    match program.interner.value(sym) {
        ztpol::ir::Value::Str(s) => s.clone().into(),
        ztpol::ir::Value::Int(i) => (*i).into(),
        ztpol::ir::Value::Bool(b) => (*b).into(),
    }
}

/// Writes every declared relation (not policy instance relations) as `DIR/<rel>.csv`.
fn write_out(program: &Program, model: &Model, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (i, rel) in program.relations.iter().enumerate() {
        if !matches!(rel.kind, RelKind::Declared) {
            continue;
        }
        let mut rows: Vec<Vec<Sym>> = model
            .get(RelId(i as u32))
            .iter()
            .map(<[Sym]>::to_vec)
            .collect();
        rows.sort_by(|a, b| program.interner.compare_rows(a, b));
        let mut text = String::new();
        for row in &rows {
            text.push_str(&tsv_row(program, row));
            text.push('\n');
        }
        std::fs::write(dir.join(format!("{}.csv", rel.name)), text)?;
    }
    Ok(())
}
