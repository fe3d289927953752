"""The state machine diagram (docs/state-machine.md): current, complete, and valid Mermaid.

mermaid-cli needs a browser, so the Mermaid is checked structurally here: every line is
one of the few forms the renderer writes, subgraphs are balanced, ids are unique and
declared before any edge uses them (Mermaid places a node in the subgraph that first names it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest

from msk_pair import diagram
from msk_pair.asl import ASL_PATH

ID = r"[A-Za-z0-9_]+"
LABEL = r'"[^"]*"'
SHAPES = [(r"\(\(", r"\)\)"), (r"\(\[", r"\]\)"), (r"\[\[", r"\]\]"), (r"\{", r"\}"), (r"\[", r"\]"), (r"\(", r"\)")]
NODE = re.compile(rf"({ID})(?:{'|'.join(f'{a}({LABEL}){b}' for a, b in SHAPES)})")
SUBGRAPH = re.compile(rf"subgraph ({ID})\[({LABEL})\]")
EDGE = re.compile(rf"({ID}) (-->|-\.->)(?:\|({LABEL})\|)? ({ID})")
STYLE = re.compile(rf"classDef {ID} [^\s;]+|class {ID}(?:,{ID})* {ID}")
KEYWORDS = {"end", "subgraph", "graph", "flowchart", "class", "classdef", "style", "click", "direction", "default"}


@dataclass
class Parsed:
    labels: dict[str, str] = field(default_factory=dict)  # node id -> label
    subgraphs: dict[str, str] = field(default_factory=dict)  # subgraph id -> title
    parent: dict[str, str] = field(default_factory=dict)  # node or subgraph id -> enclosing subgraph id
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)  # (source, arrow, label, target)

    def inside(self, ident: str) -> list[str]:
        """The ids directly inside a subgraph."""
        return [child for child, parent in self.parent.items() if parent == ident]

    def by_label(self, label: str) -> str:
        return next(ident for ident, text in {**self.labels, **self.subgraphs}.items() if text == label)


def parse(mermaid: str) -> Parsed:
    """Check the flowchart line by line and return what it declares."""
    lines = mermaid.rstrip("\n").split("\n")
    assert lines[0] == "flowchart TD"
    parsed, stack, ids = Parsed(), [], []

    def unquote(label: str) -> str:
        assert "#quot;" not in label or '"' not in label[1:-1]
        return label[1:-1].replace("#quot;", '"').replace("#lt;", "<").replace("#gt;", ">").replace("#35;", "#")

    for line in (line.strip() for line in lines[1:]):
        if m := SUBGRAPH.fullmatch(line):
            ids.append(m[1])
            parsed.subgraphs[m[1]] = unquote(m[2])
            if stack:
                parsed.parent[m[1]] = stack[-1]
            stack.append(m[1])
        elif line == "end":
            assert stack, "end without subgraph"
            stack.pop()
        elif m := NODE.fullmatch(line):
            ids.append(m[1])
            parsed.labels[m[1]] = unquote(next(g for g in m.groups()[1:] if g))
            if stack:
                parsed.parent[m[1]] = stack[-1]
        elif m := EDGE.fullmatch(line):
            for end in (m[1], m[4]):
                assert end in parsed.labels or end in parsed.subgraphs, f"{end} used before it is declared"
            parsed.edges.append((m[1], m[2], unquote(m[3]) if m[3] else "", m[4]))
        else:
            assert STYLE.fullmatch(line), f"not a line the renderer writes: {line!r}"
    assert not stack, "unclosed subgraph"
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert all(re.fullmatch(ID, i) and i not in KEYWORDS for i in ids)
    return parsed


@pytest.fixture(scope="module")
def asl() -> dict:
    return json.loads(ASL_PATH.read_text())


@pytest.fixture(scope="module")
def drawn(asl) -> Parsed:
    return parse(diagram.render_mermaid(asl))


def test_committed_diagram_is_what_the_committed_asl_renders():
    assert diagram.DOC_PATH.read_text() == diagram.render(), "docs/state-machine.md is stale: run `make asl`"
    assert diagram.main(["--check"]) == 0


def test_doc_holds_the_flowchart_in_a_mermaid_block(asl):
    doc = diagram.render(asl)
    assert "python -m msk_pair.diagram" in doc
    assert doc.count("```mermaid\n") == 1
    assert doc.split("```mermaid\n")[1].split("```")[0] == diagram.render_mermaid(asl)


def test_every_state_is_drawn_with_loops_collapsed(asl, drawn):
    drawn_labels = set(drawn.labels.values()) | {f"{t.removesuffix(' (Parallel)')}" for t in drawn.subgraphs.values()}

    def check(states: dict) -> None:
        in_loop = diagram.loops(states)
        for name, state in states.items():
            if name in in_loop:
                assert f"{in_loop[name]} ⟲ (poll until ready)" in drawn_labels
            else:
                assert any(label == name or label.startswith(f"{name} (") for label in drawn_labels), name
            for branch in state.get("Branches", []):
                check(branch["States"])

    check(asl["States"])
    for plumbing in (": start", ": ready?", ": wait", ": count", ": timed out"):
        assert not any(label.endswith(plumbing) for label in drawn_labels)


def test_build_shows_both_regions_and_the_peering_side_by_side(drawn):
    build = drawn.by_label("Build (Parallel)")
    branches = {drawn.subgraphs[child]: child for child in drawn.inside(build)}
    assert set(branches) == {"Primary", "Secondary", "Peering"}
    assert drawn.by_label("Primary: create cluster") in drawn.inside(branches["Primary"])
    assert drawn.by_label("Secondary: create cluster") in drawn.inside(branches["Secondary"])
    assert drawn.by_label("Peering: wait until active ⟲ (poll until ready)") in drawn.inside(branches["Peering"])


def test_every_parallel_state_has_one_subgraph_per_branch(asl, drawn):
    for name, state in asl["States"].items():
        if state["Type"] == "Parallel":
            children = drawn.inside(drawn.by_label(f"{name} (Parallel)"))
            assert len(children) == len(state["Branches"]) and all(c in drawn.subgraphs for c in children)


def test_choices_catches_and_terminals(drawn):
    labelled = {
        (drawn.labels.get(a, a), label, drawn.labels.get(b, drawn.subgraphs.get(b))) for a, _, label, b in drawn.edges
    }
    assert ("Provision or teardown?", "mode = teardown", "Tear down everything") in labelled
    assert ("Provision or teardown?", "otherwise", "Plan changes") in labelled
    assert ("Roll back?", "onFailure = RETAIN", "Fail with original error") in labelled
    assert ("Roll back?", "otherwise", "Roll back everything") in labelled
    assert ("Teardown done: why?", "error present", "Fail with original error") in labelled
    dashed = {(a, label, b) for a, arrow, label, b in drawn.edges if arrow == "-.->"}
    assert {label for _, label, _ in dashed} == {"on error"}
    assert ("Build", "on error", drawn.by_label("Roll back?")) in dashed
    rhombus = re.compile(r'\s*(\w+)\{".*"\}')
    mermaid = diagram.render_mermaid(json.loads(ASL_PATH.read_text()))
    assert {m[1] for line in mermaid.splitlines() if (m := rhombus.fullmatch(line))} == {
        drawn.by_label(name) for name in ("Provision or teardown?", "Roll back?", "Teardown done: why?", "Replicate?")
    }
    assert re.search(r'\w+\(\["Teardown complete"\]\)', mermaid)
    assert re.search(r'\w+\(\["Fail with original error"\]\)', mermaid)


def test_awkward_names_give_unique_valid_ids_and_escaped_labels():
    definition = {
        "StartAt": 'Say "hi" <now>?',
        "States": {
            'Say "hi" <now>?': {"Type": "Pass", "Next": "say hi now"},
            "say hi now": {"Type": "Pass", "Next": "end"},
            "end": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 3, "Next": "#1"}]},
            "#1": {"Type": "Succeed"},
        },
    }
    drawn = parse(diagram.render_mermaid(definition))
    assert set(drawn.labels.values()) >= set(definition["States"])
    assert any(label == "n ≥ 3" for *_, label, _ in drawn.edges)


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ({"Variable": "$.config.mode", "StringEquals": "teardown"}, "mode = teardown"),
        ({"Variable": "$.error", "IsPresent": True}, "error present"),
        ({"Variable": "$.a.count", "NumericGreaterThanEqualsPath": "$.config.max"}, "count ≥ max"),
        ({"Not": {"Variable": "$.ok", "BooleanEquals": True}}, "not (ok = true)"),
    ],
)
def test_conditions_are_shortened(rule, text):
    assert diagram.condition(rule) == text


def test_check_fails_on_a_stale_file(tmp_path):
    out = tmp_path / "state-machine.md"
    assert diagram.main(["--check", "--out", str(out)]) == 1
    assert diagram.main(["--out", str(out)]) == 0
    assert diagram.main(["--check", "--out", str(out)]) == 0
    out.write_text(out.read_text().replace("Build", "Built"))
    assert diagram.main(["--check", "--out", str(out)]) == 1
