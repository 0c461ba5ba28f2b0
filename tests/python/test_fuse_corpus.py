"""sejits.fuse over a corpus of realistic NumPy functions (fuse_snippets):
whatever fuse does with a function (fused loop nests, or the function run as
written with the reason), a fused call must be indistinguishable from the
function's own call: the same values (floats to a tolerance), dtypes,
shapes, result types (Python scalar, NumPy scalar or ndarray), the same
in-place mutations of the arguments and the same aliasing of results and
arguments. Every snippet is specialized but those marked with the construct
that takes them outside the subset, whose reason must name it; explain()
and source() must agree with what ran."""

import warnings

import numpy as np
import pytest

import sejits
from fuse_snippets import SNIPPETS, assert_same_aliasing, assert_same_value, clone_arguments


@pytest.fixture(autouse=True)
def fuse_settings(daemon):
    """The session runs under fallback="error"; fuse's contract is to run a
    function outside its subset as written (warning), so these tests take
    "warn". compile="sync": the first call waits for its compile instead of
    running the NumPy form meanwhile, so the calls compared run the compiled
    code whenever there is one. restored_settings (conftest) puts both back."""
    sejits.config(fallback="warn", compile="sync")


def _call_quietly(fn, arguments):
    """fn(*arguments) and the warnings it issued (a fallback may issue a SpecializationWarning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="ignore"):
            result = fn(*arguments)
    return result, caught


def _assert_call_matches_numpy(snippet, fused, call):
    """Fresh identical inputs for the function and for fused; results,
    argument mutations and result aliasing compared."""
    plain_arguments = snippet.inputs()
    fused_arguments = clone_arguments(plain_arguments)
    expected, _ = _call_quietly(snippet.fn, plain_arguments)
    actual, caught = _call_quietly(fused, fused_arguments)
    unexpected = [w for w in caught if not issubclass(w.category, (sejits.SpecializationWarning, RuntimeWarning))]
    assert not unexpected, f"{call}: unexpected warnings {[str(w.message) for w in unexpected]}"
    assert_same_value(actual, expected, f"{call} result")
    for k, (after_fused, after_plain) in enumerate(zip(fused_arguments, plain_arguments)):
        assert_same_value(after_fused, after_plain, f"{call} argument {k} after the call")
    assert_same_aliasing(actual, expected, fused_arguments, plain_arguments, f"{call} result")


def _assert_explains_itself(fused, arguments):
    """explain() says "specialized (fuse)" with the number of passes over
    memory, or "NOT specialized" with a reason; source() agrees."""
    text = fused.explain(*arguments)
    assert isinstance(text, str)
    if "NOT specialized" in text:
        reasons = [line.split("reason:", 1)[1].strip() for line in text.splitlines() if "reason:" in line]
        assert reasons and reasons[0], f"a fallback without a reason:\n{text}"
        with pytest.raises(sejits.SpecializationError):
            fused.source(*arguments)
    else:
        assert "specialized (fuse)" in text, f"explain() says neither specialized (fuse) nor NOT specialized:\n{text}"
        assert any("passes over memory" in line for line in text.splitlines()), text
        source = fused.source(*arguments)
        assert isinstance(source, str) and source.strip()
    return text


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda snippet: snippet.id)
def test_fused_snippet_matches_numpy(snippet):
    fused = sejits.fuse(snippet.fn)
    _assert_call_matches_numpy(snippet, fused, "first call")
    # The second call with the same signature takes the in-memory cache.
    _assert_call_matches_numpy(snippet, fused, "second call")
    text = _assert_explains_itself(fused, snippet.inputs())
    if snippet.fallback is None:
        assert "specialized (fuse)" in text, f"{snippet.name} should be specialized:\n{text}"
    else:
        reason = next(line for line in text.splitlines() if "reason:" in line)
        assert snippet.fallback in reason, f"{snippet.name}: the reason should name {snippet.fallback!r}:\n{text}"


def test_fuse_works_as_a_decorator():
    """@sejits.fuse on a def is sejits.fuse(fn): the same results, and explain/source on the decorated name."""

    @sejits.fuse
    def scaled_difference(a, b):
        return 2.0 * a - b

    a, b = np.linspace(0.0, 1.0, 9), np.linspace(1.0, 2.0, 9)
    result, _ = _call_quietly(scaled_difference, (a, b))
    assert_same_value(result, 2.0 * a - b)
    assert callable(scaled_difference.explain) and callable(scaled_difference.source)
    _assert_explains_itself(scaled_difference, (a, b))


def test_explain_does_not_run_the_function():
    """explain() and source() describe a call; they must not mutate the arguments they are given."""
    snippet = next(s for s in SNIPPETS if s.name == "heat_step")
    fused = sejits.fuse(snippet.fn)
    arguments = snippet.inputs()
    before = clone_arguments(arguments)
    _assert_explains_itself(fused, arguments)
    assert_same_value(arguments, before, "arguments after explain()")


def test_the_corpus_covers_the_issue():
    names = {snippet.name for snippet in SNIPPETS}
    assert len(SNIPPETS) >= 34
    assert len(names) == len(SNIPPETS), "snippet names must be unique (they are the test ids)"
    for required in ("heat_step", "wave_step", "softmax_rows", "logsumexp_rows", "black_scholes", "mandelbrot_step",
                     "kmeans_assign", "running_stats", "overlapping_shift", "write_one_read_other_same_array",
                     "scale_and_return_input"):
        assert required in names
