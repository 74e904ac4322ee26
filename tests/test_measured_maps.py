"""One rule for what a measured conductance map may hold, at every entry point: ``chip import
--as conductance`` (.npy), :meth:`FaultMap.from_conductance_map`, ``adapt --read-back`` (.npy)
and a backend's ``read_back()``; for values a CSV can hold, also ``chip import`` of a
target-vs-read .csv and ``adapt --read-back`` of a read-back .csv. The same odd map is fed to
each: all refuse it (one line, exit 2 on the command line; FileFormatError / ConfigError in
Python, both ValueError) naming the same problem, or all accept it alike (a reading just below
0 S: taken as 0 S with the same warning)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from xbarmem.deploy.backend import CheckedReads
from xbarmem.deploy.export import programmed_cells, used_cells
from xbarmem.errors import XbarmemError, XbarmemWarning
from xbarmem.hardware.faults import FaultMap


@pytest.fixture(scope="module")
def setup(small_memory, small_model):
    """``(memory, model file, base map)``: the base a full (1, 2, 64, 64) map in siemens, the
    model's programmed conductances where it has them, mid-window elsewhere."""
    memory = small_memory[1]
    base = np.nan_to_num(programmed_cells(memory), nan=70e-6)
    return memory, small_model, base


def _first_used(memory) -> tuple[int, ...]:
    return tuple(int(v) for v in np.argwhere(used_cells(memory))[0])


def _set(value):
    """A map with the first used device reading ``value`` (siemens)."""
    def make(g, memory):
        g = g.copy()
        g[_first_used(memory)] = value
        return g
    return make


#: name -> (how the map is made of the base map, what every entry point says: "ok", or a
#: fragment of the one warning, or of the refusal, with the outcome)
CASES = {
    "float32": (lambda g, m: g.astype(np.float32), "ok", None),
    "big-endian": (lambda g, m: g.astype(">f8"), "ok", None),
    "big-endian float32": (lambda g, m: g.astype(">f4"), "ok", None),
    "fortran order": (lambda g, m: np.asfortranarray(g), "ok", None),
    "zero": (_set(0.0), "ok", None),
    "float16": (lambda g, m: g.astype(np.float16), "refused",
                "float16 keeps 3 significant digits"),
    "integers (uS)": (lambda g, m: np.rint(g * 1e6).astype(np.int64), "refused",
                      "integers (int64) cannot hold conductances in siemens (the chip window "
                      "is [2e-06, 0.00015] S, and 100% fit it as microsiemens (uS)"),
    "bool": (lambda g, m: g > 50e-6, "refused", "true/false values, not conductances"),
    "complex": (lambda g, m: g.astype(np.complex128), "refused",
                "values of dtype complex128, not conductances"),
    "structured": (lambda g, m: np.rec.fromarrays([g], names="g"), "refused",
                   "a structured array (fields g)"),
    "0-d": (lambda g, m: np.array(5e-5), "refused", "no readings (shape ())"),
    "empty": (lambda g, m: np.zeros((*g.shape[:-2], 0, 0)), "refused", "no readings (shape"),
    "instrument offset": (_set(-3e-9), "warned",
                          "1 reading below 0 S, down to -3e-09 S (first: device ("),
    "far below 0 S": (_set(-2e-5), "refused",
                      "reads -2e-05 S (1 reading below 0 S by more than an instrument's "
                      "offset, up to 1.5e-06 S below 0 S"),
    "infinite": (_set(np.inf), "refused", "inf"),
    "huge": (_set(1e10), "refused", "far above the chip window"),
    "microsiemens": (lambda g, m: g * 1e6, "refused", "microsiemens (uS) (multiply by 1e-06)"),
    "ohms": (lambda g, m: 1.0 / g, "refused", "as ohms (conductance = 1 / resistance)"),
}
#: what every message of a warned map says after the device it names
WARNED_TAIL = "), taken as 0 S: an instrument's offset (up to 1.5e-06 S below 0 S"


class _Reads:
    """A backend whose ``read_back()`` returns ``read``."""

    def __init__(self, layer, read):
        self.n_in, self.n_out, self.read = layer.n_in, layer.n_out, read

    def read_back(self):
        return self.read


def _layer_map(g, memory):
    """The odd map ``g`` as a backend of the memory's one layer returns it: its devices,
    ``(2, n_out, n_rows)``, in ``g``'s dtype (a map of no devices as it is)."""
    if g.ndim != 4 or g.size == 0:
        return g
    layer = memory.layers[0]
    if g.dtype.names:
        return np.rec.fromarrays([layer._gather(np.asarray(g["g"]))], names="g")
    return layer._gather(g.astype(np.complex128 if g.dtype.kind == "c" else np.float64)
                         ).astype(g.dtype)


def _python(call):
    """``("ok" | "warned" | "refused", message or None)`` of an API call."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            call()
        except XbarmemError as exc:
            assert isinstance(exc, ValueError), exc
            return "refused", str(exc)
    ours = [str(w.message) for w in caught if issubclass(w.category, XbarmemWarning)]
    assert len(ours) <= 1 and len(ours) == len(caught), [str(w.message) for w in caught]
    return ("warned", ours[0]) if ours else ("ok", None)


def _cli(run_cli, *args):
    """``("ok" | "warned" | "refused", the one line on stderr or None)`` of a command."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, err = run_cli(*args)
    assert not caught, [str(w.message) for w in caught]
    lines = err.strip().splitlines()
    assert len(lines) <= 1, err
    if code == 2:
        assert lines and lines[0].startswith("error: "), err
        return "refused", lines[0]
    assert code == 0, err
    if lines:
        assert lines[0].startswith("warning: "), err
        return "warned", lines[0]
    return "ok", None


def _csv(path, memory, g, target: bool):
    """``g``'s used devices as a CSV of microsiemens: target-vs-read (targets: the model's
    conductances) or a read-back."""
    used, model = used_cells(memory), programmed_cells(memory)
    head = "array,row,col,polarity" + (",target_uS" if target else "") + ",read_uS"
    lines = [head]
    for a, p, i, j in itertools.product(*(range(n) for n in g.shape)):
        if used[a, p, i, j]:
            mid = f",{model[a, p, i, j] * 1e6:.9g}" if target else ""
            lines.append(f"{a},{i},{j},{('G+', 'G-')[p]}{mid},{g[a, p, i, j] * 1e6:.9g}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _answers(name, setup, run_cli, tmp_path):
    """Every entry point's answer to the map of case ``name``."""
    memory, model, base = setup
    g = CASES[name][0](base, memory)
    source = tmp_path / "map.npy"
    np.save(source, g, allow_pickle=False)
    answers = {
        "chip import": _cli(run_cli, "chip", "import", source, "--as", "conductance",
                            "-o", tmp_path / "map.npz"),
        "from_conductance_map": _python(
            lambda: FaultMap.from_conductance_map(g, memory.chip.device)),
        "adapt --read-back": _cli(run_cli, "adapt", model, "--read-back", source,
                                  "-o", tmp_path / "adapted.safetensors"),
        "read_back()": _python(lambda: CheckedReads(
            _Reads(memory.layers[0], _layer_map(g, memory)), 0, memory.layers[0]).read_back()),
    }
    if g.dtype == np.float64 and g.ndim == 4 and g.size and name not in ("microsiemens", "ohms"):
        answers["chip import .csv"] = _cli(
            run_cli, "chip", "import", _csv(tmp_path / "t.csv", memory, g, True),
            "-o", tmp_path / "csv.npz")
        answers["adapt --read-back .csv"] = _cli(
            run_cli, "adapt", model, "--read-back", _csv(tmp_path / "r.csv", memory, g, False),
            "-o", tmp_path / "csv.safetensors")
    return answers


@pytest.mark.parametrize("name", list(CASES))
def test_every_entry_point_answers_an_odd_map_alike(name, setup, run_cli, tmp_path):
    _, outcome, fragment = CASES[name]
    answers = _answers(name, setup, run_cli, tmp_path)
    for where, (said, message) in answers.items():
        assert said == outcome, (where, message)
        assert fragment is None or fragment in message, (where, message)
        if outcome == "warned":
            assert WARNED_TAIL in message, (where, message)
        if outcome == "warned" and where not in ("from_conductance_map", "read_back()"):
            # every command's line names its file (chip import's said "conductance map: ")
            assert message.startswith(f"warning: {tmp_path}"), (where, message)


def test_an_offset_is_read_as_0_siemens_everywhere(setup, recwarn):
    """The warned reading is 0 S in what each Python entry point returns."""
    memory, _, base = setup
    g = _set(-3e-9)(base, memory)
    at = _first_used(memory)
    fmap = FaultMap.from_conductance_map(g, memory.chip.device)
    assert fmap.g_stuck[at] == 0.0  # below --off-below: stuck OFF at 0 S
    layer = memory.layers[0]
    read = CheckedReads(_Reads(layer, layer._gather(g)), 0, layer).read_back()
    assert read.min() == 0.0 and np.count_nonzero(read == 0.0) == 1
    assert len([w for w in recwarn if issubclass(w.category, XbarmemWarning)]) == 2


# ------------------------------------------------ siblings: inputs nobody had tried
def _both(run_cli, setup, tmp_path, source, *args):
    """``chip import --as conductance`` and ``adapt --read-back`` of ``source``: their
    answers."""
    _, model, _ = setup
    return [_cli(run_cli, "chip", "import", source, "--as", "conductance", *args,
                 "-o", tmp_path / "map.npz"),
            _cli(run_cli, "adapt", model, "--read-back", source, *args,
                 "-o", tmp_path / "adapted.safetensors")]


@pytest.mark.parametrize(("planes", "key", "fragment"), [
    # a plane of float16 or integers stacked beside a float64 one became float64 (taken)
    ((np.float16, np.float64), "gp,gm", "r.npz, array 'gp': float16 keeps 3 significant"),
    ((np.float64, np.int64), "gp,gm", "r.npz, array 'gm': integers (int64) cannot hold"),
    # one array named twice: its readings taken as both planes (adapt took it)
    ((np.float64, np.float64), "gp,gp", "r.npz: key 'gp,gp' names the array 'gp' twice"),
])
def test_two_planes_of_an_npz_are_each_held_to_the_rule(setup, run_cli, tmp_path, planes, key,
                                                          fragment):
    _, _, base = setup
    gp, gm = (np.rint(base[:, k] * (1e6 if t is np.int64 else 1)).astype(t) if t is np.int64
              else base[:, k].astype(t) for k, t in enumerate(planes))
    np.savez(tmp_path / "r.npz", gp=gp, gm=gm)
    for said, message in _both(run_cli, setup, tmp_path, tmp_path / "r.npz", "--key", key):
        assert said == "refused" and fragment in message, message
    np.savez(tmp_path / "r.npz", gp=base[:, 0], gm=base[:, 1])
    assert [said for said, _ in _both(run_cli, setup, tmp_path, tmp_path / "r.npz", "--key",
                                      "gp,gm")] == ["ok", "ok"]


def _csvs(tmp_path, setup, edit):
    """The target-vs-read and the read-back CSV of the base map's used devices, each line
    passed through ``edit(fields)`` (array, row, col, polarity, [target_uS,] read_uS)."""
    memory, _, base = setup
    paths = []
    for name, target in (("t.csv", True), ("r.csv", False)):
        lines = _csv(tmp_path / name, memory, base, target).read_text().splitlines()
        edited = [lines[0], *(",".join(edit(line.split(","))) for line in lines[1:])]
        (tmp_path / name).write_text("\n".join(line for line in edited if line) + "\n")
        paths.append(tmp_path / name)
    return paths


def _csv_answers(run_cli, setup, tmp_path, edit):
    _, model, _ = setup
    t, r = _csvs(tmp_path, setup, edit)
    return [_cli(run_cli, "chip", "import", t, "-o", tmp_path / "map.npz"),
            _cli(run_cli, "adapt", model, "--read-back", r, "-o", tmp_path / "a.safetensors")]


def test_a_csv_of_a_header_only_says_so(setup, run_cli, tmp_path):
    for said, message in _csv_answers(run_cli, setup, tmp_path, lambda fields: []):
        # was "no measured device (every row lacks target_uS or read_uS)": there is no row
        assert said == "refused" and "a header and no device lines" in message, message


def test_whole_numbers_written_as_floats_are_read_as_integers(setup, run_cli, tmp_path):
    """``3.0`` (a spreadsheet's column of floats) is 3 (was: "'3.0' is not an integer");
    ``3.5`` is refused, naming the line and column."""
    floats = _csv_answers(run_cli, setup, tmp_path,
                          lambda f: [*(f"{int(v)}.0" for v in f[:3]), *f[3:]])
    assert [said for said, _ in floats] == ["ok", "ok"], floats
    halves = _csv_answers(run_cli, setup, tmp_path,
                          lambda f: [f[0], f"{f[1]}.5", *f[2:]])
    for said, message in halves:
        assert said == "refused" and "line 2, column 'row': '0.5' is not an integer" in message


def test_arrays_numbered_from_1_are_named(setup, run_cli, tmp_path):
    """A CSV numbering its arrays from 1: the import warns that array 0 has no measured device
    (was: its devices left free without a word, the measured ones on array 1, which the
    memory on array 0 never meets); the read-back's refusal names it. Rows numbered from 1
    are refused naming it too."""
    imported, (read, message) = _csv_answers(
        run_cli, setup, tmp_path, lambda f: [str(int(f[0]) + 1), *f[1:]])
    assert imported[0] == "warned" and "1 array of the 2 the map covers (array 0) has no " \
        "measured device and is left free: arrays are numbered from 0" in imported[1], imported
    # (was "a read-back of another model or chip?")
    assert read == "refused" and "shape 2 arrays of 64x64, but the model's devices are 1 array " \
        "of 64x64" in message and "it has no reading on array 0: arrays numbered from 1? they " \
        "count from 0" in message, message
    rows = _csv_answers(run_cli, setup, tmp_path, lambda f: [f[0], str(int(f[1]) + 48), *f[2:]])
    for said, message in rows:  # rows 1..64 of a 64-row array
        assert said == "refused" and "64 outside 0..63" in message and \
            "numbered from 1 (they count from 0)" in message, message


@pytest.mark.parametrize(("dtype", "outcome"), [("float16", "refused"), ("bfloat16", "refused"),
                                                ("float32", "ok"), ("float64", "ok")])
def test_torch_tensors_are_held_to_the_same_rule(setup, dtype, outcome):
    """A tensor of few digits is refused as a float16 array is (a bfloat16 one was turned into
    float32 on the way to numpy, and taken, its readings rounded to 3 digits)."""
    import torch

    memory, _, base = setup
    layer = memory.layers[0]
    g = torch.tensor(base).to(getattr(torch, dtype))
    read = torch.tensor(layer._gather(base)).to(getattr(torch, dtype))
    answers = [
        _python(lambda: FaultMap.from_conductance_map(g, memory.chip.device)),
        _python(lambda: FaultMap.from_readback(g, base, 5e-6, memory.chip.device)),
        _python(lambda: CheckedReads(_Reads(layer, read), 0, layer).read_back()),
    ]
    for said, message in answers:
        assert said == outcome, message
        assert outcome == "ok" or f"a torch.{dtype} tensor (3 significant digits or fewer) " \
            "cannot hold the readings" in message, message


def test_a_stuck_column_of_floats_is_read_as_flags(setup, run_cli, tmp_path):
    """``stuck`` written ``1.0`` / ``0.0`` (a spreadsheet's column of floats) marks devices as
    ``1`` / ``0`` do (was: "'1.0' is not 0 or 1"); ``0.5`` is refused."""
    memory, _, base = setup
    lines = _csv(tmp_path / "t.csv", memory, base, True).read_text().splitlines()
    answers = {}
    for name, flags in (("ints", ("1", "0")), ("floats", ("1.0", "0.0")), ("half", ("0.5", "0"))):
        body = [f"{line},{flags[0] if k == 0 else flags[1]}" for k, line in enumerate(lines[1:])]
        (tmp_path / f"{name}.csv").write_text("\n".join([lines[0] + ",stuck", *body]) + "\n")
        answers[name] = _cli(run_cli, "chip", "import", tmp_path / f"{name}.csv", "--json",
                             "-o", tmp_path / f"{name}.npz")
    assert answers["floats"][0] == answers["ints"][0] == "ok", answers
    marked = [FaultMap.load(tmp_path / f"{name}.npz").stuck.sum() for name in ("ints", "floats")]
    assert marked[0] == marked[1] >= 1
    assert answers["half"][0] == "refused" and "line 2, column 'stuck': '0.5' is not 0 or 1" in \
        answers["half"][1], answers


def test_a_map_of_no_reading_above_0_siemens_takes_no_offset(setup):
    """Every reading below 0 S: refused, saying there is no reading to take an offset from
    (was "up to 0 S below 0 S, 1% of the highest reading")."""
    memory, _, base = setup
    said, message = _python(lambda: FaultMap.from_conductance_map(-base, memory.chip.device))
    assert said == "refused" and "readings below 0 S and none above it: no offset is taken " \
        "from a map of no reading above 0 S" in message, message
