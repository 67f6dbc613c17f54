"""Random small programs (tools/fuzz_programs.py) traced and interpreted give what CPython gives."""
import importlib.util
import pathlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_path = pathlib.Path(__file__).resolve().parent.parent / "tools" / "fuzz_programs.py"
_spec = importlib.util.spec_from_file_location("fuzz_programs", _path)
fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(fuzz.programs())
def test_random_programs_roundtrip(program):
    fuzz.check_roundtrip(*program)


@given(fuzz.programs(), st.integers(-3, 3), st.integers(0, 4))
def test_same_program_other_arguments(program, b, n):
    # One trace serves every argument: check the program on a second argument tuple too.
    source, (a, _, _) = program
    fuzz.check_roundtrip(source, (a, b, n))


def test_generator_makes_the_constructs_it_promises():
    seen = set()
    for seed in range(300):
        source, _ = fuzz.random_program(seed)
        for word in ("for ", "while ", "if ", "elif ", "else:", "break", "continue", "return", " if ", " and ",
                     " or ", "not ", "+=", "append", "sum([", "lambda q", "k=", "*[", "out[", 'f"'):
            if word in source.split("def f(")[1]:
                seen.add(word)
    assert len(seen) == 20, seen


def test_seeded_programs_roundtrip_and_mostly_return_values():
    # The generator driven by a plain seeded random: a fixed set of programs on every run.  Errors are compared
    # too, but a generator whose programs mostly failed early would test little else.
    kinds = [fuzz.check_roundtrip(*fuzz.random_program(seed))[0] for seed in range(150)]
    assert kinds.count("value") > len(kinds) // 2


def test_an_unbound_local_program_raises_as_cpython_does():
    source = "def f(a, b, n):\n    if a > 100:\n        x = 1\n    return x\n"
    assert fuzz.check_roundtrip(source, (1, 0, 0))[0] == "raised"
