"""The dumps in docs/ir.md are what the code prints.

The page's ```python blocks run in order in one namespace; each ```ir block starts with `>>> expression` and the
rest of the block is `print(expression)`'s output.  To refresh the page after a deliberate change of the printer
or the passes:  IRGRAD_UPDATE_DOCS=1 python -m pytest tests/test_docs_ir.py
"""
import os
import pathlib
import re
from expected_dumps import DESIGN_DENSE


DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "ir.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```\n", re.M | re.S)


def blocks(text):
    """(kind, body, span) of each fenced block."""
    return [(m.group(1), m.group(2), m.span(2)) for m in FENCE.finditer(text)]


def evaluate(text):
    """[(expression, expected, actual, span)] for every ir block, running the python blocks in order."""
    namespace = {"__name__": "docs_ir"}
    out = []
    for kind, body, span in blocks(text):
        if kind == "python":
            # Padded so that line numbers (in tracebacks and in the IR's meta) are the page's own.
            exec(compile("\n" * text.count("\n", 0, span[0]) + body, "docs/ir.md", "exec"), namespace)
        elif kind == "ir":
            first, _, expected = body.partition("\n")
            assert first.startswith(">>> "), f"an ir block must start with '>>> expression': {first!r}"
            expr = first[4:]
            actual = str(eval(compile(expr, "docs/ir.md", "eval"), namespace))
            out.append((expr, expected.rstrip("\n"), actual, span))
    return out


def test_doc_has_the_required_examples():
    text = DOC.read_text()
    exprs = [e for e, *_ in evaluate(text)]
    assert any("layer" in e for e in exprs), "the seeds' Dense layer"
    assert len(exprs) >= 8


def test_dumps_match_the_code():
    text = DOC.read_text()
    results = evaluate(text)
    if os.environ.get("IRGRAD_UPDATE_DOCS"):
        for expr, _, actual, (start, end) in reversed(results):
            text = text[:start] + f">>> {expr}\n{actual}\n" + text[end:]
        DOC.write_text(text)
        return
    for expr, expected, actual, _ in results:
        assert actual == expected, f"docs/ir.md: {expr}\n--- expected ---\n{expected}\n--- actual ---\n{actual}"


def test_dense_dump_is_the_design_shape():
    results = {e: a for e, _, a, _ in evaluate(DOC.read_text())}
    assert results["code_ir(layer, x)"] == DESIGN_DENSE


def test_for_loop_dump_shows_a_back_edge():
    results = {e: a for e, _, a, _ in evaluate(DOC.read_text())}
    loop = results["code_ir(total, [1.0, 2.0])"]
    header = loop.splitlines().index("2: (%3 :: float)")
    assert header > 0 and "  br 2 (%7)" in loop.splitlines()[header:]
