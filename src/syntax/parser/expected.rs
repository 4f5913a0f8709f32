//! pest's "expected" lists, rewritten into words.

use super::Rule;

/// What the user would call the thing a grammar rule matches, for "expected ..." messages;
/// `|` separates alternatives that are listed one by one. `None` for rules that accept mistakes or only exist inside other rules: they are never what
/// the user should write.
pub(super) fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the input",
        Rule::item_entry | Rule::item => {
            "an item (a `rel` declaration, a fact, a rule, `use`, `data`, `permit` or `forbid`)"
        }
        Rule::goal => "a goal such as `path(\"a\", X)`",
        Rule::ident => "a name",
        Rule::kw_rel => "`rel`",
        Rule::kw_use => "`use`",
        Rule::kw_data => "`data`",
        Rule::kw_permit => "`permit`",
        Rule::kw_forbid => "`forbid`",
        Rule::kw_role => "`role`",
        Rule::kw_to | Rule::to_clause => "`to`",
        Rule::kw_on | Rule::on_clause => "`on`",
        Rule::kw_when | Rule::when_clause => "`when`",
        Rule::kw_if | Rule::if_clause => "`if`",
        Rule::kw_not | Rule::not_op => "`not`",
        Rule::kw_and | Rule::and_op => "`and`",
        Rule::kw_or | Rule::or_op => "`or`",
        Rule::kw_in => "`in`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::lbracket => "`[`",
        Rule::rbracket => "`]`",
        Rule::comma => "`,`",
        Rule::period => "`.`",
        Rule::semicolon => "`;`",
        Rule::colon => "`:`",
        Rule::path_sep => "`::`",
        Rule::question => "`?`",
        Rule::at => "`@`",
        Rule::string | Rule::data_path => "a quoted string",
        Rule::integer => "an integer",
        Rule::boolean => "`true`|`false`",
        Rule::constant => "a constant (a quoted string, an integer, `true` or `false`)",
        Rule::wildcard => "`_`",
        Rule::variable => "a variable (a name starting with an upper-case letter)",
        Rule::term => "a variable, a constant or `_`",
        Rule::atom | Rule::head => "an atom such as `edge(X, Y)`",
        Rule::cmp_op => "a comparison operator (`==`, `!=`, `<`, `<=`, `>`, `>=`)",
        Rule::comparison => "a comparison such as `X < Y`",
        Rule::negation => "`not` and an atom",
        Rule::literal => "an atom, `not` and an atom, or a comparison",
        Rule::body => "a rule body (atoms, `not` atoms, comparisons)",
        Rule::neck => "`:-`",
        Rule::clause => "a fact or a rule",
        Rule::type_name | Rule::col_type => "a type (`string`, `int` or `bool`)",
        Rule::column => "a column (`name: type` or a type)",
        Rule::rel_decl => "a `rel` declaration",
        Rule::module_path => "a module path such as `std::roles`",
        Rule::use_decl => "a `use` declaration",
        Rule::data_decl => "a `data` declaration",
        Rule::annotation => "an annotation such as `@id(\"...\")`",
        Rule::effect => "`permit`|`forbid`",
        Rule::principal_type => "a principal type such as `agent`, `user` or `principal`",
        Rule::principal_arg => "a quoted principal name or a variable",
        Rule::role_principal | Rule::typed_principal | Rule::principal => {
            "a principal (`role \"...\"`, `agent \"...\"`, `user U`, ...)"
        }
        Rule::segment | Rule::action_name => "an action name such as `orders.refund`",
        Rule::action_any => "`*`",
        Rule::action_family => "an action family such as `orders.*`",
        Rule::action | Rule::action_list => {
            "an action (`orders.refund`, `orders.*`, `*` or a quoted name)"
        }
        Rule::kind_name | Rule::kind | Rule::kind_list => "a resource kind such as `order`",
        Rule::policy => "a `permit` or `forbid` statement",
        Rule::cond | Rule::cond_and | Rule::cond_unary | Rule::cond_primary => "a condition",
        Rule::cond_paren => "a parenthesised condition",
        Rule::cond_lookup => "a lookup such as `dept(resource.id, D)`",
        Rule::cond_in => "a set test such as `resource.region in [\"US\", \"EU\"]`",
        Rule::set_literal => "a set such as `[\"US\", \"EU\"]`",
        Rule::cond_cmp => "a comparison such as `action.amount <= 200`",
        Rule::attr_path => "an attribute such as `resource.region`",
        Rule::operand => "a value (an attribute such as `resource.id`, a variable or a constant)",
        // Accepted only to report a mistake, or internal pieces of other tokens.
        Rule::WHITESPACE
        | Rule::COMMENT
        | Rule::block_comment
        | Rule::line_comment
        | Rule::ident_char
        | Rule::item_keyword
        | Rule::inner_keyword
        | Rule::string_inner
        | Rule::unclosed_string
        | Rule::bare_word
        | Rule::compat_cmp
        | Rule::compat_eq
        | Rule::compat_neck
        | Rule::unknown_type
        | Rule::compat_or
        | Rule::compat_and
        | Rule::compat_not
        | Rule::compat_set => return None,
    })
}

/// "a, b or c" from the descriptions of `rules`, without duplicates; `None` if none applies.
pub(super) fn expected_list(rules: &[Rule]) -> Option<String> {
    let mut words: Vec<&str> = Vec::new();
    for rule in rules {
        for w in describe(*rule).into_iter().flat_map(|d| d.split('|')) {
            if !words.contains(&w) {
                words.push(w);
            }
        }
    }
    // The end of the input is only worth naming when nothing else could follow.
    if words.len() > 1 {
        words.retain(|w| *w != "the end of the input");
    }
    match words.as_slice() {
        [] => None,
        [one] => Some(one.to_string()),
        [init @ .., last] => Some(format!("{} or {last}", init.join(", "))),
    }
}
