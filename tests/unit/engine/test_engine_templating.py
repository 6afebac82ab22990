"""Placeholders: {{dynamic}}, [[runtime]], [[thread_<id>.<var>]], dotted paths, missing names, JSON text."""

from __future__ import annotations

import json

import pytest

from workflow_service.engine import MissingVariable, VariableScope, fill_text, fill_value
from workflow_service.engine.templating import InvalidJsonTemplate, fill_expression, fill_json_text, looks_like_json

THREADS = {"0": {"caller": "Ann"}, "side": {"score": 0.5}}
SCOPE = VariableScope(
    dynamic={"clinic": "Acme", "global.region": "eu"},
    runtime={"patient": {"name": "Bob", "visits": [{"id": 7}]}, "ok": True, "count": 2},
    workflow_runtime={"count": 99, "channel": "sms"},
    thread_variables=THREADS,
)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Welcome to {{clinic}}", "Welcome to Acme"),
        ("{{ clinic }} / [[ channel ]]", "Acme / sms"),
        ("count=[[count]]", "count=2"),  # the thread's own value hides the workflow-wide one
        ("[[patient.name]] visit [[patient.visits.0.id]]", "Bob visit 7"),
        ("ok=[[ok]] patient=[[patient.visits]]", 'ok=true patient=[{"id": 7}]'),
        ("from main: [[thread_0.caller]], side: [[thread_side.score]]", "from main: Ann, side: 0.5"),
        ("region {{global.region}}", "region eu"),
        ("JSON [[1, 2]] and {{ not a name }} stay", "JSON [[1, 2]] and {{ not a name }} stay"),
        ("", ""),
    ],
)
def test_placeholders_are_filled_from_the_right_variables(template, expected):
    assert fill_text(template, SCOPE) == expected


@pytest.mark.parametrize(
    ("template", "kind", "name"),
    [
        ("Hi {{first_name}}", "dynamic", "first_name"),
        ("Hi [[first_name]]", "runtime", "first_name"),
        ("[[patient.address.city]]", "runtime", "patient.address.city"),
        ("[[thread_9.x]]", "runtime", "thread_9.x"),
        ("{{channel}}", "dynamic", "channel"),  # a runtime variable is not a dynamic one
    ],
)
def test_a_missing_variable_raises_naming_it(template, kind, name):
    with pytest.raises(MissingVariable) as raised:
        fill_text(template, SCOPE)
    assert raised.value.kind == kind
    assert raised.value.name == name
    assert f"'{name}' is not defined" in str(raised.value)


def test_a_value_that_is_exactly_one_placeholder_keeps_its_type():
    body = {"count": "[[count]]", "patient": "[[patient]]", "note": "n=[[count]]", "tags": ["{{clinic}}", 1]}

    assert fill_value(body, SCOPE) == {
        "count": 2,
        "patient": {"name": "Bob", "visits": [{"id": 7}]},
        "note": "n=2",
        "tags": ["Acme", 1],
    }


def test_expression_placeholders_become_python_literals():
    assert fill_expression("[[patient.name]] == 'Bob' and [[ok]]", SCOPE) == "'Bob' == 'Bob' and True"
    assert fill_expression("{{clinic}} in [[patient.visits]]", SCOPE) == "'Acme' in [{'id': 7}]"


@pytest.mark.parametrize("index", ["²", "9" * 5000])
def test_a_list_index_that_int_cannot_parse_is_a_missing_variable_not_a_crash(index):
    # A superscript passes str.isdigit() and 5,000 digits pass it too, but int() refuses both.
    with pytest.raises(MissingVariable):
        fill_text(f"[[patient.visits.{index}.id]]", SCOPE)


JSON_SCOPE = VariableScope(dynamic={"n": 1}, runtime={"s": 'q"'}, workflow_runtime={}, thread_variables={})


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('  {"a": 1}', True),
        ('\n[{"a": [[s]]}]', True),
        ("[[[s]]]", True),  # an array holding one placeholder
        ("[[s]]", False),  # a placeholder, not an array
        ("{{n}}", False),
        ("[[s]] and more", False),
        ("a=1", False),
        ("", False),
    ],
)
def test_json_text_is_recognised_by_its_opening_brace_or_bracket_unless_a_placeholder_opens_it(template, expected):
    assert looks_like_json(template) is expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("[[[s]]]", '["q\\""]'),
        (
            '{"k\\\\": [[s]], "[[s]]": {{n}}}',
            '{"k\\\\": "q\\"", "q\\"": 1}',
        ),  # the quote after an escaped backslash ends the key
        ('["\\"", [[s]], "\\\\", "[[s]]"]', '["\\"", "q\\"", "\\\\", "q\\""]'),  # escaped quote, backslash
        ('{"a": 1}', '{"a": 1}'),
    ],
)
def test_json_text_fills_each_placeholder_by_whether_it_stands_in_a_string(template, expected):
    assert fill_json_text(template, JSON_SCOPE) == expected
    json.loads(expected)  # every case is valid JSON


def test_json_text_refuses_a_placeholder_the_template_escapes():
    with pytest.raises(InvalidJsonTemplate):
        fill_json_text('["\\[[s]]"]', JSON_SCOPE)
