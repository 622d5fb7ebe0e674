"""User changes: a change file's PATHS replace code paths (``5.16+./my_change.py``), its
errors are the user's (file and line), and the shipped example keeps the state while
cutting the time."""

from __future__ import annotations

import inspect
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from memmapsim.config.scenario import load_scenario
from memmapsim.effects import AsyncSchedule, ThreadSpec
from memmapsim.errors import InputError
from memmapsim.kernel import page_alloc
from memmapsim.kernel.kernel import Paths
from memmapsim.kernel.user_change import SIGNATURES, load_user_change
from memmapsim.kernel.versions import BASELINE_PATHS, RELEASES, KernelSpecError, parse_kernel
from memmapsim.report.data import run_data
from memmapsim.simulate import RunResult, simulate
from memmapsim.units import PAGEBLOCK_NR_PAGES

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "examples" / "multithreaded_memmap_init_zone_device.py"
)
HELPERS = {f"pfn0.0/memmap_init{i}" for i in range(4)}

BUILTIN = "from memmapsim.kernel.page_alloc import memmap_init_zone_device as builtin\n"
DELEGATE = f"""{BUILTIN}

def mizd(k, nid, start_pfn, size, pgmap):
    yield from builtin(k, nid, start_pfn, size, pgmap)


PATHS = {{"memmap_init_zone_device": mizd}}
"""


def write(tmp_path: Path, text: str, name: str = "my_change.py") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def load_error(path: str) -> str:
    with pytest.raises(InputError) as e:
        load_user_change(path)
    return str(e.value)


def run(kernel: str, scenario: str = "tiny-pmem", engine: str = "inorder") -> RunResult:
    return simulate(load_scenario(scenario), kernel, "runs", engine)


def run_error(kernel: str, engine: str = "inorder") -> str:
    with pytest.raises(InputError) as e:
        run(kernel, engine=engine)
    return str(e.value)


# --- loading ------------------------------------------------------------------------------
def test_signatures_are_the_builtin_ones() -> None:
    assert tuple(SIGNATURES) == Paths.names()
    for name, args in SIGNATURES.items():
        params = tuple(inspect.signature(getattr(BASELINE_PATHS, name)).parameters)
        assert params == args, name


def test_load_names_the_change_and_leaves_sys_modules_alone() -> None:
    before = set(sys.modules)
    uc = load_user_change(str(EXAMPLE))
    assert set(sys.modules) == before
    assert uc.name == "multithreaded_memmap_init_zone_device"
    assert uc.path == str(EXAMPLE)
    assert uc.subject.startswith("mm: initialise ZONE_DEVICE struct pages")
    assert set(uc.paths) == {"memmap_init_zone_device"}


def test_missing_file(tmp_path: Path) -> None:
    msg = load_error(str(tmp_path / "nope.py"))
    assert msg.startswith(f"{tmp_path}/nope.py: no such file")


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "X = 1\n\ndef f(:\n    pass\n")
    assert load_error(path).startswith(f"{path}:3: SyntaxError: ")


def test_exception_while_loading_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "import os\nX = {}\nY = X['missing']\n")
    assert load_error(path) == f"{path}:3: KeyError: 'missing' (while loading the file)"


def test_no_paths(tmp_path: Path) -> None:
    msg = load_error(write(tmp_path, "X = 1\n"))
    assert "no PATHS" in msg and "memmap_init_zone_device" in msg


def test_paths_not_a_dict(tmp_path: Path) -> None:
    path = write(tmp_path, "X = 1\nPATHS = [1]\n")
    assert load_error(path).startswith(f"{path}:2: PATHS is a list, not a dict")


def test_unknown_path_lists_the_valid_names(tmp_path: Path) -> None:
    path = write(tmp_path, f"{BUILTIN}PATHS = {{'memmap_init': builtin}}\n")
    msg = load_error(path)
    assert msg.startswith(f"{path}:2: PATHS: unknown code path 'memmap_init' (code paths: ")
    assert all(name in msg for name in Paths.names())


def test_value_not_callable(tmp_path: Path) -> None:
    path = write(tmp_path, "PATHS = {'add_pages_impl': 3}\n")
    assert load_error(path) == f"{path}:1: PATHS['add_pages_impl'] is 3, not a function"


def test_wrong_signature_names_the_def(tmp_path: Path) -> None:
    path = write(
        tmp_path, "\n\ndef f(k, nid):\n    yield\n\nPATHS = {'memmap_init_zone_device': f}\n"
    )
    msg = load_error(path)
    assert msg.startswith(f"{path}:3: f(k, nid) cannot be memmap_init_zone_device(k, nid, ")


def test_subject_not_a_string(tmp_path: Path) -> None:
    path = write(tmp_path, DELEGATE + "SUBJECT = 3\n")
    assert load_error(path).startswith(f"{path}:9: SUBJECT is a int")


# --- parse_kernel -------------------------------------------------------------------------
def test_parse_kernel_keeps_the_spec_and_replaces_the_path(tmp_path: Path) -> None:
    path = write(tmp_path, DELEGATE)
    k = parse_kernel(f"5.16+{path}")
    assert k.name == f"5.16+{path}"
    assert k.added == (path,)
    assert k.changes[-1] == path
    assert k.paths.memmap_init_zone_device is not page_alloc.memmap_init_zone_device
    assert k.paths.memmap_init_zone_device.__wrapped__.__name__ == "mizd"  # type: ignore[attr-defined]
    assert k.p == parse_kernel("5.16").p


def test_relative_path_is_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, DELEGATE)
    (tmp_path / "changes").mkdir()
    write(tmp_path / "changes", DELEGATE, "no_suffix")
    monkeypatch.chdir(tmp_path)
    assert parse_kernel("5.16+./my_change.py").added == ("./my_change.py",)
    assert parse_kernel("5.16+my_change.py").added == ("my_change.py",)
    assert parse_kernel("5.16+changes/no_suffix").added == ("changes/no_suffix",)


def test_a_change_file_named_twice(tmp_path: Path) -> None:
    path = write(tmp_path, DELEGATE)
    with pytest.raises(KernelSpecError, match="named twice"):
        parse_kernel(f"5.16+{path}+{path}")


def test_two_files_replacing_one_path(tmp_path: Path) -> None:
    a, b = write(tmp_path, DELEGATE, "a.py"), write(tmp_path, DELEGATE, "b.py")
    with pytest.raises(InputError, match=f"^{b}: PATHS: {a} replaces memmap_init_zone_device too"):
        parse_kernel(f"5.16+{a}+{b}")


def test_combined_with_builtin_changes() -> None:
    """On 4.18 memmap_init_zone_device runs only with defer-zone-device (which needs
    nonatomic-reserved): the named changes and the change file apply together."""
    spec = f"4.18+nonatomic-reserved+defer-zone-device+{EXAMPLE}"
    k = parse_kernel(spec)
    assert k.name == spec
    assert k.added == ("nonatomic-reserved", "defer-zone-device", str(EXAMPLE))
    assert k.p.zone_device_deferred and not k.p.reserved_atomic
    plain, mine = run("4.18+nonatomic-reserved+defer-zone-device"), run(spec)
    assert state(mine) == state(plain)
    assert threads_of(plain) == {"pmem0"}
    assert threads_of(mine) == {"pmem0", *HELPERS}


# --- the example --------------------------------------------------------------------------
def word_runs(r: RunResult, lo: int, hi: int) -> list[tuple[int, int, tuple[int, ...]]]:
    """The struct page words of ``[lo, hi)`` as maximal runs (who wrote them aside)."""
    out: list[tuple[int, int, tuple[int, ...]]] = []
    for s, e, rec in r.mem.memmap.runs(lo, hi):
        if out and out[-1][1] == s and out[-1][2] == rec.words:
            out[-1] = (out[-1][0], e, rec.words)
        else:
            out.append((s, e, rec.words))
    return out


TIME_KEYS = ("cpu", "init_s", "lock_wait_s", "lock_hold_s", "start_s", "finish_s")


def state(r: RunResult) -> dict[str, Any]:
    """Everything a run says about the final state, with the thread that ran each pass (and
    the time) left out: per device and pfn class the passes (function, locked) and their
    pages, the words of every struct page, every pageblock's migratetype; the refs; the
    findings."""
    data = run_data(r)
    devices = []
    for d, res in zip(data["devices"], r.devices, strict=True):
        for key in TIME_KEYS:
            d.pop(key, None)
        classes = []
        for c in d.pop("pfn_classes"):
            merged: Counter[str] = Counter()
            for h in c.pop("histories"):
                merged[json.dumps([(p["by"], p["locked"]) for p in h["passes"]])] += h["pages"]
            c["uniform"] = len(merged) == 1
            classes.append(c | {"passes": sorted(merged.items())})
        assert res.expected is not None
        lo, hi = res.expected.span
        blocks = [r.mem.pageblocks.get_pfn(p) for p in range(lo, hi, PAGEBLOCK_NR_PAGES)]
        devices.append(d | {"classes": classes, "words": word_runs(r, lo, hi), "blocks": blocks})
    return {"devices": devices, "refs": data["pgmap_refs"], "findings": data["findings"]}


def threads_of(r: RunResult) -> set[str]:
    """The threads that wrote the struct pages of the (only) device."""
    return {p.who for c in r.devices[0].census for hist, _pages in c.histories for p in hist}


@pytest.mark.parametrize("engine", ["inorder", "timing"])
def test_example_gives_the_state_of_the_builtin(engine: str) -> None:
    plain, mine = run("5.16", engine=engine), run(f"5.16+{EXAMPLE}", engine=engine)
    assert state(mine) == state(plain)
    assert threads_of(plain) == {"pmem0"}
    assert threads_of(mine) == {"pmem0", *HELPERS}
    assert [ln.text.rsplit(" in ", 1)[0] for ln in mine.log] == [
        ln.text.rsplit(" in ", 1)[0] for ln in plain.log
    ]


DEFERRED = [r for r in RELEASES if parse_kernel(r).p.zone_device_deferred]
"""The releases that have a memmap_init_zone_device (v4.20 on)."""


@pytest.mark.parametrize("release", [*DEFERRED, "7.1+pageblock-migratetype-init-range"])
def test_example_gives_the_state_of_each_releases_builtin(release: str) -> None:
    """Whichever form the kernel's memmap_init_zone_device has (v5.17+: mm_init.py; 7.1.5:
    the migratetypes in a pass of their own)."""
    plain, mine = run(release), run(f"{release}+{EXAMPLE}")
    assert state(mine) == state(plain)
    assert threads_of(mine) == {"pmem0", *HELPERS}
    assert [(ln.level, ln.text) for ln in mine.log] == [(ln.level, ln.text) for ln in plain.log]


def test_example_is_faster_on_a_big_machine() -> None:
    """Faster as the report says it (``total_s``, to the microsecond): four 3 TiB devices,
    56 CPUs per node."""
    plain = run_data(run("5.16", "duyck-2018", "timing"))
    mine = run_data(run(f"5.16+{EXAMPLE}", "duyck-2018", "timing"))
    assert mine["total_s"] < plain["total_s"]


STATEFUL = f"""from functools import partial
from itertools import count
from memmapsim.effects import Join, Spawn, ThreadSpec
{BUILTIN}
CALLS = count()


def helper(*args):
    yield from builtin(*args)
    return 0


def mizd(k, nid, start_pfn, size, pgmap):
    name = f"helper{{next(CALLS)}}"
    tid = yield Spawn(ThreadSpec(name, partial(helper, k, nid, start_pfn, size, pgmap)), nid)
    yield Join(tid)


PATHS = {{"memmap_init_zone_device": mizd}}
"""


def test_same_file_same_output(tmp_path: Path) -> None:
    """Each kernel built from a file runs it afresh: even module-level state (a counter
    naming threads) starts over."""
    spec = f"5.16+{write(tmp_path, STATEFUL)}"
    first = run_data(run(spec, engine="timing"))
    assert run_data(run(spec, engine="timing")) == first


# --- errors while the simulation runs ------------------------------------------------------
def test_exception_in_a_user_function_names_the_innermost_user_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""{BUILTIN}

def ratio(n):
    return n // 0


def mizd(k, nid, start_pfn, size, pgmap):
    yield from builtin(k, nid, start_pfn, size, pgmap)
    ratio(size)


PATHS = {{"memmap_init_zone_device": mizd}}
""",
    )
    msg = run_error(f"5.16+{path}")
    assert msg == (
        f"{path}:5: ZeroDivisionError: integer division or modulo by zero "
        "(in memmap_init_zone_device)"
    )


def test_exception_in_a_builtin_called_by_the_user_names_the_user_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""{BUILTIN}

def mizd(k, nid, start_pfn, size, pgmap):
    yield from builtin(k, nid, start_pfn, size, None)


PATHS = {{"memmap_init_zone_device": mizd}}
""",
    )
    msg = run_error(f"5.16+{path}")
    assert msg.startswith(f"{path}:5: AttributeError: ")


@pytest.mark.parametrize("engine", ["inorder", "timing"])
def test_exception_in_a_thread_the_user_created(tmp_path: Path, engine: str) -> None:
    path = write(
        tmp_path,
        f"""from functools import partial
from memmapsim.effects import Join, Spawn, ThreadSpec
{BUILTIN}

def worker(x):
    yield from ()
    return 1 / x


def mizd(k, nid, start_pfn, size, pgmap):
    tid = yield Spawn(ThreadSpec("helper", partial(worker, 0)), nid)
    yield Join(tid)
    yield from builtin(k, nid, start_pfn, size, pgmap)


PATHS = {{"memmap_init_zone_device": mizd}}
""",
    )
    msg = run_error(f"5.16+{path}", engine)
    assert msg == (
        f"{path}:8: ZeroDivisionError: division by zero "
        "(in thread helper of memmap_init_zone_device)"
    )


def test_a_function_that_is_not_a_generator(tmp_path: Path) -> None:
    source = "X = 1\n\ndef f(k, nid, start_pfn, size, pgmap):\n    return 0\n\n"
    path = write(tmp_path, source + "PATHS = {'memmap_init_zone_device': f}\n")
    msg = run_error(f"5.16+{path}")
    assert msg.startswith(f"{path}:3: memmap_init_zone_device returned 0, not a generator")


def test_yielding_a_generator_instead_of_yield_from(tmp_path: Path) -> None:
    path = write(tmp_path, DELEGATE.replace("yield from builtin", "yield builtin"))
    msg = run_error(f"5.16+{path}")
    assert msg == (
        f"{path}:5: memmap_init_zone_device yielded a generator of memmap_init_zone_device(), "
        "not an effect (to run a code path, `yield from` it)"
    )


def test_a_thread_that_returns_no_exit_code(tmp_path: Path) -> None:
    path = write(tmp_path, STATEFUL.replace("    return 0\n", ""))
    msg = run_error(f"5.16+{path}")
    assert msg == (
        f"{path}:9: thread helper0 of memmap_init_zone_device returned None, not an int: "
        "a thread returns its exit code (return 0)"
    )


NDR = """from memmapsim.kernel.nvdimm import nd_device_register_node_local as builtin


def ndr(k, probe, nid):
    yield from builtin(k, probe, nid)


PATHS = {"nd_device_register": ndr}
"""


def test_nd_device_register_must_start_its_probe(tmp_path: Path) -> None:
    path = write(tmp_path, NDR.replace("yield from builtin(k, probe, nid)", "yield from ()"))
    msg = run_error(f"5.16+{path}")
    assert msg.startswith(
        f"{path}:4: nd_device_register returned without starting the probe thread it was given"
    )


def test_the_probe_thread_is_memmapsims_not_the_users(tmp_path: Path) -> None:
    """The probe thread nd_device_register is given runs built-in code: it reaches the
    engine as it is, so a failure in it is not blamed on the change file."""
    k = parse_kernel(f"5.16+{write(tmp_path, NDR)}")
    probe = ThreadSpec("pmem0", lambda: iter(()))  # type: ignore[arg-type,return-value]
    effect = next(k.paths.nd_device_register(k, probe, 0))
    assert isinstance(effect, AsyncSchedule) and effect.thread is probe
    assert run(f"5.16+{tmp_path}/my_change.py").devices[0].census == run("5.16").devices[0].census


def test_threads_a_change_spawns_count_for_its_device() -> None:
    """The example's workers are the device's: each node's init (CPU time, summed over its
    threads) exceeds its wall time, and the device's finish is when its last worker ended."""
    r = simulate(load_scenario("duyck-2018"), f"5.16+{EXAMPLE}")
    assert r.timing is not None
    for node, dev in zip(r.timing.nodes, r.timing.devices, strict=True):
        assert node.init_s > 3 * node.finish_s
        assert dev.finish_s == node.finish_s
    assert r.timing.total_s == pytest.approx(max(n.finish_s for n in r.timing.nodes), rel=1e-5)


def test_a_change_reaches_hmm_on_4_20() -> None:
    """v4.20's HMM calls memmap_init_zone_device through the kernel's code paths, so a
    change file replaces it there too."""
    r = simulate(load_scenario("tiny-hmm"), f"4.20+{EXAMPLE}", engine="inorder")
    assert any(name.startswith("gpu0/") for name in {t.thread for t in r.trace})
