"""`irdump` and the type spec parser: targets from files and modules, text and DOT, raw IR, extra views, and one
clear line with exit status 2 for every kind of bad input."""
import subprocess
import sys
import textwrap

import pytest

from irgrad import TypeSpecError, dump
from irgrad.types import ANY, Array, Constant, Dict, Instance, List, Scalar, Tuple, float_, int_
from irgrad.typespec import format_types, parse
from expected_dumps import DESIGN_DENSE

SOURCE = textwrap.dedent('''
    import numpy as np

    def relu(x):
        return np.maximum(0, x)

    class Dense:
        def __init__(self, n_in, n_out, activation=relu):
            self.weight = np.ones((n_out, n_in))
            self.bias = np.zeros((n_out, 1))
            self.activation = activation

        def __call__(self, x):
            z = self.weight @ x + self.bias
            return self.activation(z)

    def total(xs, scale=2.0):
        s = 0.0
        for x in xs:
            s = s + x * scale
        return s

    def guarded(x):
        try:
            return 1 / x
        except ZeroDivisionError:
            return 0.0

    not_a_function = 3
''')

@pytest.fixture
def layer(tmp_path, monkeypatch):
    path = tmp_path / "layer.py"
    path.write_text(SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return str(path)


def irdump(capsys, *argv):
    code = dump.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_dense_layer_from_a_file_prints_the_design_shape(layer, capsys):
    spec = "Dense{weight: ndarray[float64, 2], bias: ndarray[float64, 2], activation: relu}, ndarray[float64, 2]"
    code, out, err = irdump(capsys, f"{layer}:Dense.__call__", "--types", spec)
    assert (code, err) == (0, "")
    assert out.strip() == DESIGN_DENSE


def test_module_target_and_defaults_filled(layer, capsys):
    code, out, _ = irdump(capsys, "layer:total", "--types", "list[float]")
    assert code == 0
    assert out.splitlines()[0] == "1: (%1 :: list[float], %2 :: float)"
    assert "br 2" in out and "return" in out


def test_for_loop_is_a_back_edge_in_dot(layer, capsys):
    code, out, _ = irdump(capsys, f"{layer}:total", "--types", "ndarray[float64, 1], float", "--format", "dot")
    assert code == 0 and out.startswith('digraph "total" {')
    dashed = [line for line in out.splitlines() if "style=dashed" in line]
    assert len(dashed) == 1 and dashed[0].strip().startswith("b3 -> b2")
    assert "next_or_stop(%3) :: float64\\l" in out


def test_raw_shows_the_frontend_output(layer, capsys):
    _, raw, _ = irdump(capsys, f"{layer}:total", "--raw")
    _, clean, _ = irdump(capsys, f"{layer}:total")
    assert raw.count("::") > clean.count("::")  # raw keeps every live local as a block argument
    assert raw.splitlines()[0] == "1: (%1 :: Any, %2 :: Any)"


def test_lines_option(layer, capsys):
    _, out, _ = irdump(capsys, f"{layer}:relu", "--lines")
    assert "# line 5" in out


@pytest.mark.parametrize("argv, message", [
    (["{tmp}/nowhere.py:f"], "no such file"),
    (["{layer}:missing"], "has no attribute 'missing'"),
    (["{layer}:Dense.missing"], "Dense has no attribute 'missing'"),
    (["no_such_module_here:f"], "cannot import module 'no_such_module_here'"),
    (["{layer}"], "expected FILE.py:FUNCTION or MODULE:FUNCTION"),
    (["{layer}:not_a_function"], "is a int, not a function"),
    (["{layer}:total", "--types", "ndarray[float64, 2"], "expected ',' or ']', found the end at position 18"),
    (["{layer}:total", "--types", "Unknown"], "unknown type name 'Unknown'"),
    (["{layer}:total", "--types", "float, float, float"], "3 type(s) do not fit the parameters of total"),
    (["{layer}:guarded"], "not supported"),
])
def test_bad_input_is_one_line_and_status_2(layer, tmp_path, capsys, argv, message):
    argv = [a.format(layer=layer, tmp=tmp_path) for a in argv]
    code, out, err = irdump(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("irdump: error: ")
    assert message in err


def test_views_plug_in_as_flags(layer, capsys):
    seen = []

    @dump.view("shout", "the IR in capitals")
    def shout(func, argtypes):
        seen.append((func.__name__, argtypes))
        return "SHOUT " + func.__name__.upper()

    try:
        code, out, _ = irdump(capsys, f"{layer}:relu", "--shout", "--types", "ndarray[float64, 1]")
    finally:
        del dump.VIEWS["shout"]
    assert code == 0 and out.strip() == "SHOUT RELU"
    assert seen == [("relu", [Array("float64", 1)])]


def test_python_dash_m_entry_point(layer):
    r = subprocess.run([sys.executable, "-m", "irgrad.dump", f"{layer}:relu", "--types", "float"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "numpy.maximum(0, %1) :: float64" in r.stdout
    r = subprocess.run([sys.executable, "-m", "irgrad.dump", f"{layer}:nope"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1


# ---------------------------------------------------------------------------------------------------------------
# type specs

class Point:
    pass


def helper():
    pass


@pytest.mark.parametrize("text, expected", [
    ("float", [float_]),
    ("ndarray[float64, 2], float, tuple[int, float]",
     [Array("float64", 2), float_, Tuple((int_, float_))]),
    ("ndarray[float32, ?]", [Array("float32", None)]),
    ("ndarray[int]", [Array("int64", None)]),
    ("ndarray", [Array("float64", None)]),
    ("list[ndarray[bool, 1]], dict[str, float]", [List(Array("bool", 1)), Dict(Scalar(str), float_)]),
    ("tuple[], None, Any, complex", [Tuple(()), Scalar(type(None)), ANY, Scalar(complex)]),
    ("float64, int32", [Scalar(__import__("numpy").float64), Scalar(__import__("numpy").int32)]),
    ("Point, helper", [Instance(Point), Constant(helper)]),
    ("Point{x: float, y: ndarray[float64, 1]}", [Instance(Point, (("x", float_), ("y", Array("float64", 1))))]),
    ("  ", []),
])
def test_parse(text, expected):
    assert parse(text, {"Point": Point, "helper": helper}) == expected


def test_format_round_trip():
    text = "ndarray[float64, 2], float, tuple[int, list[float]], dict[str, ndarray[int64, ?]]"
    assert format_types(parse(text)) == text


@pytest.mark.parametrize("text, message, pos", [
    ("ndarray[float64, 2", "expected ',' or ']', found the end", 18),
    ("float,, int", "expected a name, found ','", 6),
    ("float int", "expected ',' or the end, found 'int'", 6),
    ("ndarray[float64, float]", "the ndim of ndarray must be an integer or '?'", 17),
    ("ndarray[Point]", "not a NumPy dtype", 8),
    ("list[int, int]", "list[...] takes 1 type, got 2", 0),
    ("tuple[2]", "expected a type inside tuple[...], found 2", 6),
    ("float[3]", "float takes no parameters in brackets", 0),
    ("Dense", "unknown type name 'Dense'", 0),
    ("float{x: int}", "attribute types in braces need a class", 0),
    ("float & int", "unexpected character '&'", 6),
    ("Point.nothing", "'Point.nothing': no attribute 'nothing'", 0),
])
def test_parse_errors_point_at_the_position(text, message, pos):
    with pytest.raises(TypeSpecError) as e:
        parse(text, {"Point": Point})
    msg = str(e.value)
    assert message in msg and f"at position {pos} " in msg
    lines = msg.splitlines()
    assert lines[1].strip() == text.strip() and lines[2].index("^") - 2 == pos
