"""Issue 16, item 4: prevalence and co-occurrence at any level of the code tree (counted by hand)."""

from __future__ import annotations

import pandas as pd
import pytest

from ponzoni_eval._core.errors import DataError
from ponzoni_eval.qual.model import TreeNode, code_tree
from ponzoni_eval.qual.quantitize import code_presence, cooccurrence, prevalence

# Samenwerking / Vertrouwen / {Wederzijds, Wantrouwen}; Samenwerking / Bereidheid; Hulp zoeken (top, no children)
BOOK = pd.DataFrame({
    "code": ["Wederzijds", "Wantrouwen", "Bereidheid", "Hulp zoeken"],
    "theme": ["Samenwerking", "Samenwerking", "Samenwerking", None],
    "path": ["Samenwerking / Vertrouwen / Wederzijds", "Samenwerking / Vertrouwen / Wantrouwen",
             "Samenwerking / Bereidheid", "Hulp zoeken"],
})


def segments() -> pd.DataFrame:
    rows = [  # (document, participant, code, start, end)
        ("d1", "p1", "Wederzijds", 0, 10), ("d1", "p1", "Bereidheid", 5, 15), ("d1", "p1", "Hulp zoeken", 40, 50),
        ("d2", "p2", "Wantrouwen", 0, 8), ("d2", "p2", "Wederzijds", 4, 12),
        ("d3", "p3", "Hulp zoeken", 0, 5),
    ]
    return pd.DataFrame([{"document_id": d, "participant_id": p, "case_id": "slotervaart", "wave": "t0", "coder": "c1",
                          "code": c, "start": s, "end": e, "text": ""} for d, p, c, s, e in rows])


def present(frame: pd.DataFrame, label: str) -> dict[tuple[str, str], int]:
    return {(r.participant_id, getattr(r, label)): r.present for r in frame.itertuples()}


def test_level_one_counts_each_code_for_its_top_branch():
    presence = code_presence(segments(), level=1, codebook=BOOK)
    assert sorted(presence["branch"].unique()) == ["Hulp zoeken", "Samenwerking"]
    got = present(presence, "branch")
    assert got == {("p1", "Hulp zoeken"): 1, ("p1", "Samenwerking"): 1, ("p2", "Hulp zoeken"): 0,
                   ("p2", "Samenwerking"): 1, ("p3", "Hulp zoeken"): 1, ("p3", "Samenwerking"): 0}
    assert presence.set_index(["participant_id", "branch"]).loc[("p1", "Samenwerking"), "n_segments"] == 2
    participants = pd.DataFrame({"participant_id": ["p1", "p2", "p3"], "case_id": ["slotervaart"] * 3})
    table = prevalence(presence, participants)
    assert table.set_index("branch")["n_with_code"].to_dict() == {"Hulp zoeken": 2, "Samenwerking": 2}


def test_level_two_keeps_shallow_codes_as_themselves():
    presence = code_presence(segments(), level=2, codebook=BOOK)
    assert sorted(presence["branch"].unique()) == ["Hulp zoeken", "Samenwerking / Bereidheid",
                                                     "Samenwerking / Vertrouwen"]
    got = present(presence, "branch")
    assert got[("p2", "Samenwerking / Vertrouwen")] == 1 and got[("p2", "Samenwerking / Bereidheid")] == 0
    assert presence.set_index(["participant_id", "branch"]).loc[("p2", "Samenwerking / Vertrouwen"), "n_segments"] == 2


def test_listed_branches_take_the_most_specific_and_leave_the_rest_out():
    presence = code_presence(segments(), level=["Samenwerking", "Vertrouwen"], codebook=BOOK)
    assert sorted(presence["branch"].unique()) == ["Samenwerking", "Vertrouwen"]
    got = present(presence, "branch")
    # p1: Wederzijds -> Vertrouwen, Bereidheid -> Samenwerking; Hulp zoeken is in no listed branch
    assert got == {("p1", "Samenwerking"): 1, ("p1", "Vertrouwen"): 1, ("p2", "Samenwerking"): 0,
                   ("p2", "Vertrouwen"): 1}
    with pytest.raises(DataError, match="branch 'Onbekend' is not in the code tree"):
        code_presence(segments(), level=["Onbekend"], codebook=BOOK)


def test_cooccurrence_at_a_tree_level():
    codes = cooccurrence(segments(), codebook=BOOK)
    pair = codes.set_index(["code_a", "code_b"]).loc[("Bereidheid", "Wederzijds")]
    assert (pair["n_pairs"], pair["chars_overlap"]) == (1, 5)
    top = cooccurrence(segments(), level=1, codebook=BOOK).set_index(["code_a", "code_b"])
    # d1: Samenwerking [0, 15) and Hulp zoeken [40, 50) do not overlap; d2: both codes are one branch (no pair)
    assert top.loc[("Hulp zoeken", "Samenwerking"), "n_pairs"] == 0
    document = cooccurrence(segments(), level=1, codebook=BOOK, scope="document").set_index(["code_a", "code_b"])
    assert document.loc[("Hulp zoeken", "Samenwerking"), ["n_documents", "n_documents_a", "n_documents_b"]].tolist() == [1, 2, 2]


def test_a_codebook_without_path_uses_theme_then_code():
    book = BOOK.drop(columns="path")
    presence = code_presence(segments(), level=1, codebook=book)
    assert sorted(presence["branch"].unique()) == ["Hulp zoeken", "Samenwerking"]


def test_code_tree_names_themes_and_ids_for_a_seven_level_tree():
    names = ["Codes", "Samenwerking", "Relatie", "Vertrouwen", "Groei", "Langzaam", "Overig"]
    nodes = [TreeNode(f"n{i}", tuple(names[: i + 1]), codable=i > 1, row=i > 1) for i in range(7)]
    nodes.append(TreeNode("x", ("Codes", "Hulp", "Overig")))  # a second 'Overig'
    nodes.append(TreeNode("hulp", ("Codes", "Hulp"), codable=False, row=False))
    rows, warnings = code_tree(nodes)
    deepest = rows["n6"]
    assert deepest["depth"] == 7 and deepest["path"] == " / ".join(names)
    assert deepest["code"] == "Langzaam / Overig" and rows["x"]["code"] == "Hulp / Overig"
    # 'Codes' and 'Samenwerking' are folders holding only sub-trees: containers; 'Hulp' holds a code: a theme
    assert deepest["theme"] == "Relatie" and rows["x"]["theme"] == "Hulp"
    assert deepest["parent_id"] == "codes/samenwerking/relatie/vertrouwen/groei/langzaam"
    assert code_tree(nodes, theme_folders=("Codes",))[0]["n6"]["theme"] == "Codes"
    assert warnings == ["code name 'Overig' occurs under several parents; named by the end of its path: "
                        "Hulp / Overig, Langzaam / Overig"]
