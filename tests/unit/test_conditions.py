"""The condition language: what an expression computes, and that it cannot be made to do anything else."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow_service.conditions import (
    CONDITION_FUNCTIONS,
    ConditionError,
    check_condition_expression,
    evaluate_condition,
    evaluate_expression,
)

VARIABLES = {"answer": "Yes ", "count": 3, "items": ["a", "b"], "profile": {"age": 40}, "flag": False}


def resolve(name: str):
    return VARIABLES[name]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("count == 3", True),
        ("count != 3", False),
        ("count >= 3 and count < 4", True),
        ("1 < count < 3", False),
        ("lower(strip(answer)) == 'yes'", True),
        ("upper(answer) == 'YES '", True),
        ("'a' in items", True),
        ("'c' not in items", True),
        ("contains(answer, 'es')", True),
        ("startswith(answer, 'Y') and endswith(answer, ' ')", True),
        ("len(items) + count * 2 - 1 == 7", True),
        ("count / 2 == 1.5", True),
        ("int('12') + float('0.5') == 12.5", True),
        ("str(count) == '3'", True),
        ("not flag", True),
        ("flag or count", True),
        ("(count > 5) or (answer == 'Yes ')", True),
        ("flag == false", True),
    ],
)
def test_expressions_evaluate_like_their_python_reading(expression, expected):
    assert evaluate_condition(expression, resolve) is expected


def test_lowercase_literal_names_stand_in_only_when_no_variable_has_that_name():
    assert evaluate_condition("flag == false and null == None", resolve) is True
    assert evaluate_condition("true", lambda name: {"true": 0}[name]) is False


def test_placeholder_literals_dicts_and_lists_are_values():
    assert evaluate_expression("{'a': [1, 2]}", resolve) == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os').system('true')", "may not call methods such as .system()"),
        ("__import__('os')", "may only call these functions"),
        ("profile.age == 40", "may not contain Attribute"),
        ("items[0] == 'a'", "may not contain Subscript"),
        ("(lambda: 1)()", "may"),
        ("[x for x in items]", "may not contain ListComp"),
        ("count ** 2", "may not contain Pow"),
        ("count = 4", "not valid syntax"),
        ("open('/etc/passwd')", "may only call these functions"),
        ("len(items, items)", "takes 1 argument"),
        ("unknown_name == 1", "unknown variable: unknown_name"),
        ("count / 0", "divides by zero"),
        ("'a' * 1000000", "longer than"),
        ("count < 'a'", "TypeError"),
        ("int('abc')", "ValueError"),
        ("x" * 3000, "longer than"),
    ],
)
def test_anything_outside_the_grammar_or_failing_is_a_condition_error(expression, reason):
    with pytest.raises(ConditionError, match=re.escape(reason)):
        evaluate_expression(expression, resolve)


SYMBOLS = "abcxyz0123456789 _.,:'\"()[]{}+-*/%<>=!&|^~@#\\\n"
WORDS = ["and", "or", "not", "in", "is", "lambda", "len(", "int(", "lower(", "count", "items", "answer", "**", "=="]
EXPRESSION_ALPHABET = st.sampled_from([*SYMBOLS, *WORDS])


@settings(max_examples=200, deadline=None)
@given(st.lists(EXPRESSION_ALPHABET, max_size=40).map("".join))
def test_random_text_either_evaluates_or_raises_condition_error_only(expression):
    with contextlib.suppress(ConditionError):
        evaluate_condition(expression, resolve)


@st.composite
def well_formed(draw, depth: int = 0):
    atoms = st.one_of(
        st.integers(-1000, 1000).map(str),
        st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
        st.text(max_size=5).map(repr),
        st.sampled_from(["count", "answer", "items", "flag", "profile", "true", "null", "nobody"]),
    )
    if depth > 3 or draw(st.booleans()):
        return draw(atoms)
    left = draw(well_formed(depth + 1))
    right = draw(well_formed(depth + 1))
    shape = draw(
        st.sampled_from(
            [
                "{} + {}",
                "{} - {}",
                "{} * {}",
                "{} / {}",
                "{} == {}",
                "{} < {}",
                "{} in {}",
                "{} and {}",
                "not {}",
                "len({})",
                "int({})",
                "contains({}, {})",
                "startswith({}, {})",
                "[{}, {}]",
                "lower({})",
            ]
        )
    )
    return shape.format(left, right) if shape.count("{}") == 2 else shape.format(left)


@settings(max_examples=200, deadline=None)
@given(well_formed())
def test_grammatical_expressions_over_any_values_never_raise_anything_else(expression):
    try:
        result = evaluate_condition(expression, resolve)
    except ConditionError:
        return
    assert isinstance(result, bool)


def test_a_written_expression_is_checked_with_its_placeholders_standing_for_literals():
    assert check_condition_expression("lower([[last_user_message]]) == 'yes' and {{count}} > 1") is None
    assert check_condition_expression("[[profile]].age > 1") == "condition expression may not contain Attribute"
    assert "not valid syntax" in (check_condition_expression("[[a]] ==") or "")


def _placeholder_values(values):
    """A placeholder resolver over ``values``, keyed by the placeholder's variable name."""
    return lambda match: values[match.group("dynamic") or match.group("runtime")]


def test_placeholder_values_are_data_not_text_so_their_length_is_not_the_expressions():
    # Given a short written expression whose placeholder stands for a reply far longer than the limit
    reply = "Yes, I agree. " + "Here is why. " * 200
    placeholder = _placeholder_values({"last_user_message": reply})
    # When it is evaluated, Then it holds, and a bare name the author wrote still resolves as usual
    assert evaluate_condition("contains(lower([[last_user_message]]), 'yes') and count == 3", resolve, placeholder)
    # And a value that looks like code is only ever a value
    assert evaluate_expression("[[x]]", resolve, _placeholder_values({"x": "__import__('os')"})) == "__import__('os')"


def test_a_value_behind_a_placeholder_is_still_bounded_by_the_evaluation_budget():
    # Given a placeholder standing for 1 MB of text, read a few times over
    placeholder = _placeholder_values({"big": "x" * 1_000_000})
    # When an expression reads it once, Then it evaluates
    assert evaluate_condition("not contains([[big]], 'yes')", resolve, placeholder)
    # When it reads it more often than the budget allows (each read of 1 MB costs 250,000), Then the
    # budget stops it
    nested = "lower(upper(" * 4 + "[[big]]" + "))" * 4
    with pytest.raises(ConditionError, match="evaluation budget"):
        evaluate_condition(f"contains({nested}, 'yes')", resolve, placeholder)


def test_every_function_the_grammar_admits_can_be_evaluated():
    for name in CONDITION_FUNCTIONS:
        arguments = "'abc', 'a'" if name in {"contains", "startswith", "endswith"} else "'1'"
        evaluate_expression(f"{name}({arguments})", resolve)


@pytest.mark.parametrize("expression", ["len([0] * 1000000) > 1", "'a' * 200000 == x", "len(200001 * ('a',)) > 0"])
def test_a_repetition_by_a_literal_count_that_can_never_succeed_is_refused_when_written(expression):
    # Given a condition whose literal repetition is past the sequence limit, When the config is checked,
    # Then it is refused at write time, saying why, instead of failing every run that reaches it
    problem = check_condition_expression(expression)
    assert problem is not None and "repeats a value" in problem


@pytest.mark.parametrize("expression", ["count * 1000000 > 5", "[0] * 3 == [0, 0, 0]", "2 * 5000000 > 1"])
def test_arithmetic_and_small_repetitions_are_accepted_when_written(expression):
    assert check_condition_expression(expression) is None


def test_an_invalid_escape_in_a_string_literal_parses_without_a_warning_on_stderr():
    import warnings

    from workflow_service.conditions import parse_condition_expression

    # Given an expression whose string literal holds an escape Python does not define ('\8')
    # When it is parsed with every warning made an error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tree = parse_condition_expression("'\\8' == x")
    # Then it parses (the backslash stays part of the text), and nothing was written to stderr
    assert tree.body is not None
