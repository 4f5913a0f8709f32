//! Stratification: the dependency graph over relations, its strongly connected components
//! (Tarjan's algorithm, iterative so that deep rule chains cannot overflow the stack), negation
//! cycles, and the evaluation order.
//!
//! An edge goes from a rule's head relation to each relation its body reads, marked when the
//! body atom is negated. Condition lookups are evaluated at request time and add no edge.

use super::Checker;
use crate::diag::Diagnostic;
use crate::ir::{BodyLit, RelId, RuleId, Stratum};
use crate::source::Span;
use std::collections::{HashMap, VecDeque};

#[derive(Debug, Clone, Copy)]
struct Edge {
    to: u32,
    negative: bool,
    /// The body atom that creates the edge.
    span: Span,
}

const UNVISITED: u32 = u32::MAX;

/// Strongly connected components of a graph given as adjacency lists, in an order where every
/// component comes after the components it has edges to. Returns the component of each node
/// and the components' members.
fn tarjan(edges: &[Vec<Edge>]) -> (Vec<u32>, Vec<Vec<u32>>) {
    let n = edges.len();
    let mut index = vec![UNVISITED; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut comp = vec![UNVISITED; n];
    let mut comps: Vec<Vec<u32>> = Vec::new();
    let mut counter = 0u32;
    // The explicit call stack: (node, next edge to look at).
    let mut calls: Vec<(u32, usize)> = Vec::new();
    for start in 0..n as u32 {
        if index[start as usize] != UNVISITED {
            continue;
        }
        index[start as usize] = counter;
        low[start as usize] = counter;
        counter += 1;
        stack.push(start);
        on_stack[start as usize] = true;
        calls.push((start, 0));
        while let Some(&mut (v, ref mut next)) = calls.last_mut() {
            let vu = v as usize;
            if let Some(edge) = edges[vu].get(*next) {
                *next += 1;
                let w = edge.to as usize;
                if index[w] == UNVISITED {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(edge.to);
                    on_stack[w] = true;
                    calls.push((edge.to, 0));
                } else if on_stack[w] {
                    low[vu] = low[vu].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                let p = parent as usize;
                low[p] = low[p].min(low[vu]);
            }
            if low[vu] == index[vu] {
                let id = comps.len() as u32;
                let mut members = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    comp[w as usize] = id;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                members.sort_unstable();
                comps.push(members);
            }
        }
    }
    (comp, comps)
}

/// Builds the strata in evaluation order and reports every negation cycle (one per component).
/// Relations without rules belong to no stratum.
pub(crate) fn stratify(ck: &mut Checker<'_>) -> Vec<Stratum> {
    let n = ck.relations.len();
    let mut edges: Vec<Vec<Edge>> = vec![Vec::new(); n];
    let mut rules_of: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (r, rule) in ck.rules.iter().enumerate() {
        let head = rule.head.rel.index();
        rules_of[head].push(r as u32);
        for lit in &rule.body {
            let (atom, negative) = match lit {
                BodyLit::Pos(a) => (a, false),
                BodyLit::Neg(a) => (a, true),
                BodyLit::Cmp { .. } => continue,
            };
            edges[head].push(Edge {
                to: atom.rel.0,
                negative,
                span: atom.span,
            });
        }
    }
    let (comp, comps) = tarjan(&edges);

    let mut strata = Vec::new();
    for (c, members) in comps.iter().enumerate() {
        let c = c as u32;
        let negative = members.iter().find_map(|&m| {
            edges[m as usize]
                .iter()
                .find(|e| e.negative && comp[e.to as usize] == c)
                .map(|e| (m, *e))
        });
        if let Some((head, edge)) = negative {
            let d = cycle_error(ck, &edges, &comp, head, edge);
            ck.diags.push(d);
        }
        let mut rules: Vec<RuleId> = members
            .iter()
            .flat_map(|&m| rules_of[m as usize].iter().map(|&r| RuleId(r)))
            .collect();
        if rules.is_empty() {
            continue;
        }
        rules.sort_unstable();
        let recursive = members
            .iter()
            .any(|&m| edges[m as usize].iter().any(|e| comp[e.to as usize] == c));
        strata.push(Stratum {
            relations: members.iter().map(|&m| RelId(m)).collect(),
            rules,
            recursive,
        });
    }
    strata
}

/// The error for a negative edge `head -> not edge.to` inside one component: finds the way back
/// from `edge.to` to `head` and names every relation on the cycle.
fn cycle_error(
    ck: &Checker<'_>,
    edges: &[Vec<Edge>],
    comp: &[u32],
    head: u32,
    negative: Edge,
) -> Diagnostic {
    // Breadth-first search from the negated relation back to the head, inside the component.
    let c = comp[head as usize];
    let mut prev: HashMap<u32, (u32, Edge)> = HashMap::new();
    let mut queue = VecDeque::from([negative.to]);
    let mut found = negative.to == head;
    while let Some(v) = queue.pop_front() {
        if found {
            break;
        }
        for e in &edges[v as usize] {
            if comp[e.to as usize] != c || e.to == negative.to || prev.contains_key(&e.to) {
                continue;
            }
            prev.insert(e.to, (v, *e));
            if e.to == head {
                found = true;
                break;
            }
            queue.push_back(e.to);
        }
    }
    // The path negative.to -> ... -> head, as edges.
    let mut path = Vec::new();
    let mut at = head;
    while at != negative.to {
        let Some(&(from, e)) = prev.get(&at) else {
            break;
        };
        path.push((from, e));
        at = from;
    }
    path.reverse();

    let name = |r: u32| ck.relations[r as usize].name.as_str();
    let mut cycle = format!("`{}` -> `{}`", name(head), name(negative.to));
    for (_, e) in &path {
        cycle.push_str(&format!(" -> `{}`", name(e.to)));
    }
    let mut d = Diagnostic::error(
        "ztpol::check::negation-cycle",
        format!("negation through recursion: {cycle}"),
    )
    .at(
        negative.span,
        format!(
            "`{}` depends on `not {}` here",
            name(head),
            name(negative.to)
        ),
    );
    for (from, e) in &path {
        d = d.also(
            e.span,
            format!("`{}` depends on `{}` here", name(*from), name(e.to)),
        );
    }
    d.with_help(format!(
        "`{}` cannot depend on its own negation; compute the negated relation without `{}`",
        name(head),
        name(head)
    ))
}
