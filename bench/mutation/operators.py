"""Which mutation operators the money modules are tested with, and three cosmic-ray lacks.

The issue's classic operators: comparison flips, + / −, // vs /, constants ± 1, and / or, not,
deleted raise, rounding down vs up, min / max swaps. cosmic-ray's core provides most of them; the
last three are written here as a ``kabao`` operator provider, registered in-process by run.py
(cosmic-ray's local distributor runs every mutant in the driver's own process).
"""

from __future__ import annotations

import parso
from cosmic_ray.operators.operator import Example, Operator
from parso.python.tree import Keyword, Name, PythonNode

#: Relational operator replacement: each comparison moved across its boundary and negated.
_COMPARISONS = {
    "Eq": ("NotEq",), "NotEq": ("Eq",),
    "Lt": ("LtE", "GtE"), "LtE": ("Lt", "Gt"), "Gt": ("GtE", "LtE"), "GtE": ("Gt", "Lt"),
    "Is": ("IsNot",), "IsNot": ("Is",),
}

#: Core operators used. Left out: the other binary replacements (``a + b`` → ``a << b`` teaches
#: nothing), comparisons swapped for unrelated ones (``<`` → ``==``: the boundary shift and the negation
#: above subsume them), ``==`` → ``is`` (equivalent on small ints), the variable inserter/replacer
#: (random), unary ``~``/``+`` and replacing ``|``/``&``, which here only build types and sets.
CORE = (
    *(f"core/ReplaceComparisonOperator_{a}_{b}" for a, targets in _COMPARISONS.items() for b in targets),
    "core/ReplaceBinaryOperator_Add_Sub",
    "core/ReplaceBinaryOperator_Sub_Add",
    "core/ReplaceBinaryOperator_Mul_FloorDiv",
    "core/ReplaceBinaryOperator_FloorDiv_Div",
    "core/ReplaceBinaryOperator_FloorDiv_Mul",
    "core/ReplaceBinaryOperator_Div_FloorDiv",
    "core/ReplaceBinaryOperator_Mod_FloorDiv",
    "core/ReplaceBinaryOperator_Pow_Mul",
    "core/ReplaceUnaryOperator_USub_UAdd",
    "core/ReplaceUnaryOperator_Delete_USub",
    "core/ReplaceUnaryOperator_Delete_Not",
    "core/AddNot",
    "core/ReplaceAndWithOr",
    "core/ReplaceOrWithAnd",
    "core/ReplaceTrueWithFalse",
    "core/ReplaceFalseWithTrue",
    "core/NumberReplacer",
    "core/ExceptionReplacer",
    "core/RemoveDecorator",
    "core/ZeroIterationForLoop",
    "core/ReplaceBreakWithContinue",
    "core/ReplaceContinueWithBreak",
)


class SwapMinMax(Operator):
    """``min(...)`` ↔ ``max(...)``: a cap or a floor taken the wrong way round."""

    def mutation_positions(self, node):
        if isinstance(node, Name) and node.value in ("min", "max"):
            after = node.get_next_sibling()
            if isinstance(after, PythonNode) and after.type == "trailer" and after.children[0].value == "(":
                yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        node.value = "max" if node.value == "min" else "min"
        return node

    @classmethod
    def examples(cls):
        return (Example("x = min(a, b)", "x = max(a, b)"), Example("x = max(a, b)", "x = min(a, b)"))


class DeleteRaise(Operator):
    """``raise X`` → ``pass``: a refusal guard that no longer refuses."""

    def mutation_positions(self, node):
        if node.type == "raise_stmt":
            yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        return Keyword("pass", node.start_pos, prefix=node.get_first_leaf().prefix)

    @classmethod
    def examples(cls):
        return (Example("if x:\n    raise E(1)\n", "if x:\n    pass\n"),)


class FloorToCeil(Operator):
    """``a // b`` → ``-(-a // b)``: rounding up where the rule rounds down (and so against the holder)."""

    def mutation_positions(self, node):
        if node.type == "term":
            for child in node.children:
                if child.type == "operator" and child.value == "//":
                    yield (child.start_pos, child.end_pos)

    def mutate(self, node, index):
        children = node.children
        at = [i for i, child in enumerate(children) if child.type == "operator" and child.value == "//"][index]
        prefix = node.get_first_leaf().prefix
        left = "".join(child.get_code() for child in children[:at]).strip()
        right = children[at + 1].get_code().strip()
        rest = "".join(child.get_code() for child in children[at + 2:])
        replacement = parso.parse(f"-(-({left}) // {right}){rest}").children[0]
        replacement.get_first_leaf().prefix = prefix
        return replacement

    @classmethod
    def examples(cls):
        return (
            Example("x = a * b // c", "x = -(-(a * b) // c)"),
            Example("x = a // b // c", "x = -(-(a // b) // c)", occurrence=1),
        )


KABAO = {op.__name__: op for op in (SwapMinMax, DeleteRaise, FloorToCeil)}


class KabaoProvider:
    """A cosmic-ray operator provider (a mapping of names to operator classes)."""

    def __iter__(self):
        return iter(KABAO)

    def __getitem__(self, name):
        return KABAO[name]


SELECTED = (*CORE, *(f"kabao/{name}" for name in KABAO))


def register() -> None:
    """Add the ``kabao`` provider and narrow cosmic-ray's operator list to SELECTED."""
    import cosmic_ray.plugins as plugins

    plugins.OPERATOR_PROVIDERS["kabao"] = KabaoProvider()
    known = set(plugins.operator_names()) | {"core/NoOp"}
    missing = [name for name in SELECTED if name not in known]
    if missing:
        raise SystemExit(f"cosmic-ray has no operator {missing}: is the pinned version installed?")
    plugins.operator_names = lambda: SELECTED
