"""The condition language of conditional edges: its grammar, write-time validation and evaluation.

A ``condition_expression`` is a small, Python-like expression over variables, e.g.
``contains(lower([[last_user_message]]), 'yes') and count > 1``. Placeholders (``{{name}}`` for dynamic
variables, ``[[name]]`` for runtime variables, :data:`PLACEHOLDER_PATTERN`) stand for their values as
data: the caller resolves them, and they are never pasted into the text, so
:data:`MAX_CONDITION_EXPRESSION_LENGTH` limits what the author wrote, not the values (which the cost
budget bounds instead); bare names are looked up through a resolver the caller supplies.

- :func:`parse_condition_expression` is the grammar: it parses and rejects anything off-grammar.
- :func:`check_condition_expression` validates an expression as written in a config (models use it).
- :func:`evaluate_expression` / :func:`evaluate_condition` compute an expression (the engine uses
  them). The tree is walked here: nothing is ever passed to ``eval`` or ``exec``, no attribute access or
  subscripting is possible, and only :data:`CONDITION_FUNCTIONS` can be called. Every evaluation has a
  cost budget (:data:`MAX_EVALUATION_COST`): each operation is charged the size of what it reads and
  builds, so a short expression can neither pin a CPU nor allocate gigabytes (``str([[0]*99999]*99999)``
  is ten billion characters of text from 30 characters of expression). Every evaluation failure raises
  :class:`ConditionError`.

This module imports nothing from ``workflow_service``, so that models (validation) and the engine
(evaluation) can both depend on it.
"""

from __future__ import annotations

import ast
import operator
import re
import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any

# A placeholder name starts with a letter or underscore; dots walk into dicts/lists
# (``[[http_result.body.id]]``). Text such as ``[[1, 2]]`` in a JSON body is therefore left alone.
PLACEHOLDER_PATTERN = re.compile(
    r"\{\{\s*(?P<dynamic>[A-Za-z_][\w.\-]*)\s*\}\}|\[\[\s*(?P<runtime>[A-Za-z_][\w.\-]*)\s*\]\]"
)
MAX_CONDITION_EXPRESSION_LENGTH = 2000
MAX_SEQUENCE_LENGTH = 100_000
# Units are container elements and every 4 characters of text (text is handled in C, elements one by
# one), counted every time an operation reads or builds them (a list repeated 1,000 times costs 1,000
# times its size): a few tenths of a second of CPU at most, and memory in proportion.
MAX_EVALUATION_COST = 2_000_000

NameResolver = Callable[[str], Any]
PlaceholderResolver = Callable[["re.Match[str]"], Any]


class ConditionError(Exception):
    """A condition expression could not be evaluated; the message says why."""


# --- the functions an expression may call ----------------------------------------------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return _text(item) in container
    return item in container


# name -> (function, number of arguments)
_FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    "lower": (lambda value: _text(value).lower(), 1),
    "upper": (lambda value: _text(value).upper(), 1),
    "strip": (lambda value: _text(value).strip(), 1),
    "len": (len, 1),
    "int": (int, 1),
    "float": (float, 1),
    "str": (_text, 1),
    "contains": (_contains, 2),
    "startswith": (lambda value, prefix: _text(value).startswith(_text(prefix)), 2),
    "endswith": (lambda value, suffix: _text(value).endswith(_text(suffix)), 2),
}

# The grammar admits exactly the functions the evaluator implements.
CONDITION_FUNCTIONS = frozenset(_FUNCTIONS)


# --- grammar ----------------------------------------------------------------------------------------

_ALLOWED_EXPRESSION_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Call,
    ast.List,
    ast.Tuple,
    ast.Dict,
)


def parse_condition_expression(expression: str) -> ast.Expression:
    """Parse a condition expression whose placeholders are already filled; reject anything off-grammar.

    The grammar: literals (str, number, bool, None, lists, tuples, dicts), variable names,
    comparisons (``== != < <= > >= in not in``), ``and``/``or``/``not``, ``+ - * /``, parentheses and
    calls of :data:`CONDITION_FUNCTIONS` with positional arguments. Raises ``ValueError`` with a
    message a workflow author can act on. Never evaluates anything.
    """
    if len(expression) > MAX_CONDITION_EXPRESSION_LENGTH:
        raise ValueError(f"condition expression is longer than {MAX_CONDITION_EXPRESSION_LENGTH} characters")
    try:
        with warnings.catch_warnings():
            # Odd input such as "1abc" or "'\8'" makes the compiler warn on stderr (SyntaxWarning; an invalid
            # escape is a DeprecationWarning before Python 3.12); the error below is the report.
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc) or type(exc).__name__
        raise ValueError(f"condition expression is not valid syntax: {detail}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_EXPRESSION_NODES):
            raise ValueError(f"condition expression may not contain {type(node).__name__}")
        if isinstance(node, ast.Call):
            allowed = ", ".join(sorted(CONDITION_FUNCTIONS))
            if isinstance(node.func, ast.Attribute):
                raise ValueError(
                    f"condition expression may not call methods such as .{node.func.attr}(); "
                    f"call one of these functions instead, e.g. lower(x): {allowed}"
                )
            if not isinstance(node.func, ast.Name) or node.func.id not in CONDITION_FUNCTIONS:
                raise ValueError(f"condition expression may only call these functions: {allowed}")
            if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
                raise ValueError("condition expression functions take positional arguments only")
        elif isinstance(node, ast.Constant) and not isinstance(node.value, str | int | float | bool | type(None)):
            raise ValueError(f"condition expression may not contain the literal {node.value!r}")
    return tree


def check_condition_expression(expression: str) -> str | None:
    """The problem with an expression as written in a config (placeholders unfilled), or None.

    Besides the grammar, what is costly on its face is refused here rather than at run time: a
    repetition by a literal count beyond :data:`MAX_SEQUENCE_LENGTH` (``[0] * 1000000``) can never succeed.
    """
    # A placeholder stands for a value at run time, so any literal stands in for it. (The length limit
    # is the parser's, on that form, as it always was: a stricter check here would make stored configs
    # that passed it unreadable.)
    try:
        tree = parse_condition_expression(PLACEHOLDER_PATTERN.sub("None", expression))
    except ValueError as exc:
        return str(exc)
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for count, repeated in ((node.left, node.right), (node.right, node.left)):
                if _is_large_count(count) and _is_sequence_literal(repeated):
                    return (
                        f"condition expression repeats a value {count.value} times; "  # type: ignore[attr-defined]
                        f"at most {MAX_SEQUENCE_LENGTH} is possible"
                    )
    return None


def _is_large_count(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value > MAX_SEQUENCE_LENGTH


def _is_sequence_literal(node: ast.AST) -> bool:
    """A list, tuple or text literal: repeating it builds a sequence (``x * 1000000`` may be arithmetic)."""
    return isinstance(node, ast.List | ast.Tuple) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


# --- evaluation -------------------------------------------------------------------------------------


class _Budget:
    """What one evaluation may still spend; sizes are measured by walking values, and the walk stops
    (and fails the evaluation) as soon as it would overspend, so measuring is bounded too."""

    __slots__ = ("left",)

    def __init__(self, units: int) -> None:
        self.left = units

    def charge(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise ConditionError(
                f"condition expression exceeds its evaluation budget of {MAX_EVALUATION_COST:,} steps "
                "(it reads or builds values that are too large)"
            )

    def charge_size(self, *values: Any) -> None:
        """Charge the flat size of ``values``: their text, one per number, container elements and their
        contents, shared parts counted each time they are reached (as str() or == reach them)."""
        pending: list[Any] = list(values)
        while pending:
            value = pending.pop()
            if isinstance(value, str):
                self.charge(len(value) // 4 + 1)
            elif isinstance(value, dict):
                self.charge(len(value) + 1)
                pending.extend(value.keys())
                pending.extend(value.values())
            elif isinstance(value, list | tuple):
                self.charge(len(value) + 1)
                pending.extend(value)
            else:
                self.charge(1)


_LITERAL_NAMES = {"true": True, "false": False, "null": None, "none": None, "True": True, "False": False}


@lru_cache(maxsize=1024)
def _compile(expression: str) -> ast.Expression:
    try:
        return parse_condition_expression(expression)
    except ValueError as exc:
        raise ConditionError(str(exc)) from None


def _sequence_length(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


def _add(left: Any, right: Any) -> Any:
    if _sequence_length(left) + _sequence_length(right) > MAX_SEQUENCE_LENGTH:
        raise ConditionError(f"condition expression builds a value longer than {MAX_SEQUENCE_LENGTH}")
    return left + right


def _multiply(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > 100_000:
        raise ConditionError("condition expression builds a number that is too large")
    for sequence, count in ((left, right), (right, left)):
        if (
            isinstance(sequence, str | list | tuple)
            and isinstance(count, int)
            and len(sequence) * max(count, 0) > MAX_SEQUENCE_LENGTH
        ):
            raise ConditionError(f"condition expression builds a value longer than {MAX_SEQUENCE_LENGTH}")
    return left * right


def _repeat_cost(left: Any, right: Any, budget: _Budget) -> None:
    """Charge a sequence repetition the size of its result before it is built."""
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, list | tuple) and isinstance(count, int) and not isinstance(count, bool) and count > 1:
            before = budget.left
            budget.charge_size(sequence)
            budget.charge((before - budget.left) * (count - 1))


def _divide(left: Any, right: Any) -> Any:
    if right == 0:
        raise ConditionError("condition expression divides by zero")
    return left / right


_BINARY = {ast.Add: _add, ast.Sub: operator.sub, ast.Mult: _multiply, ast.Div: _divide}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda left, right: left in right,
    ast.NotIn: lambda left, right: left not in right,
}


def _evaluate(node: ast.AST, resolve: NameResolver, budget: _Budget) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        try:
            return resolve(node.id)
        except LookupError:
            if node.id in _LITERAL_NAMES:
                return _LITERAL_NAMES[node.id]
            raise
    budget.charge(1)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, resolve, budget)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(comparator, resolve, budget)
            # Comparing and membership may walk both operands completely.
            budget.charge_size(left, right)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BoolOp):
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for operand in node.values:
            value = _evaluate(operand, resolve, budget)
            if bool(value) is not is_and:
                return value
        return value
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, resolve, budget)
        if isinstance(node.op, ast.Not):
            return not operand
        return -operand if isinstance(node.op, ast.USub) else +operand
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, resolve, budget), _evaluate(node.right, resolve, budget)
        if isinstance(node.op, ast.Mult):
            _repeat_cost(left, right, budget)
        elif isinstance(node.op, ast.Add):
            budget.charge_size(left, right)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.Call):
        name = node.func.id  # type: ignore[attr-defined]  # the grammar allows only plain names
        function, arity = _FUNCTIONS[name]
        if len(node.args) != arity:
            raise ConditionError(f"{name}() takes {arity} argument{'s' if arity > 1 else ''}")
        arguments = [_evaluate(arg, resolve, budget) for arg in node.args]
        # Every function reads its arguments whole (str() and lower() render them as text).
        budget.charge_size(*arguments)
        return function(*arguments)
    if isinstance(node, ast.List):
        return [_evaluate(item, resolve, budget) for item in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate(item, resolve, budget) for item in node.elts)
    if isinstance(node, ast.Dict):
        return {
            _evaluate(key, resolve, budget) if key is not None else None: _evaluate(value, resolve, budget)
            for key, value in zip(node.keys, node.values, strict=True)
        }
    raise ConditionError(f"condition expression may not contain {type(node).__name__}")  # pragma: no cover


def evaluate_expression(expression: str, resolve: NameResolver, placeholder: PlaceholderResolver | None = None) -> Any:
    """The value of ``expression``; names go through ``resolve``, placeholders through ``placeholder``.

    ``resolve`` raises ``LookupError`` (KeyError, or one with a ``name`` attribute) for an unknown
    name; ``true``/``false``/``null`` then stand for the literals. ``placeholder`` gets each match of
    :data:`PLACEHOLDER_PATTERN` and returns its value; whatever it raises propagates unchanged (without
    it, placeholders must already have been filled). Raises :class:`ConditionError` for every
    failure, including an evaluation that exceeds :data:`MAX_EVALUATION_COST`.
    """
    if placeholder is not None:
        expression, resolve = _bind_placeholders(expression, resolve, placeholder)
    tree = _compile(expression)
    try:
        return _evaluate(tree.body, resolve, _Budget(MAX_EVALUATION_COST))
    except ConditionError:
        raise
    except LookupError as exc:
        name = getattr(exc, "name", None) or (exc.args[0] if exc.args else "?")
        raise ConditionError(f"condition expression uses an unknown variable: {name}") from None
    except RecursionError:
        raise ConditionError("condition expression is nested too deeply") from None
    except (TypeError, ValueError, ArithmeticError, MemoryError) as exc:
        raise ConditionError(f"condition expression failed: {type(exc).__name__}: {exc}") from None


def evaluate_condition(expression: str, resolve: NameResolver, placeholder: PlaceholderResolver | None = None) -> bool:
    """Whether ``expression`` holds (its value's truthiness), as :func:`evaluate_expression` evaluates it.

    Raises :class:`ConditionError`.
    """
    return bool(evaluate_expression(expression, resolve, placeholder))


def _bind_placeholders(
    expression: str, resolve: NameResolver, placeholder: PlaceholderResolver
) -> tuple[str, NameResolver]:
    """``expression`` with each placeholder replaced by a fresh name, and a resolver that knows them.

    The names are as short as the shortest placeholder (``[[a]]``), so the bound expression is never
    longer than the one written, and they are the same on every evaluation, so it compiles once.
    """
    if "{{" not in expression and "[[" not in expression:
        return expression, resolve
    # A prefix that occurs nowhere in the expression cannot clash with any name the author wrote.
    prefix = next((f"_{letter}" for letter in "pqrstuvwxyz" if f"_{letter}" not in expression), None)
    prefix = prefix or "_" * (max(map(len, re.findall(r"_+", expression))) + 1)
    values: dict[str, Any] = {}

    def bind(match: re.Match[str]) -> str:
        name = f"{prefix}{len(values)}"
        values[name] = placeholder(match)
        return name

    bound = PLACEHOLDER_PATTERN.sub(bind, expression)

    def resolve_bound(name: str) -> Any:
        return values[name] if name in values else resolve(name)

    return bound, resolve_bound
