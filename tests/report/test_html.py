"""``memmapsim report``: one self-contained page from saved results (run/compare JSON,
validate JSON, sweep Parquet), the same bytes for the same inputs, and one line, exit 2,
for anything that is not a memmapsim result."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from memmapsim.cli import main
from memmapsim.config.scenario import load_scenario
from memmapsim.report.data import run_data
from memmapsim.report.html import render
from memmapsim.report.inputs import read_inputs
from memmapsim.simulate import simulate
from tests.clirunner import CliRunner, Result
from tests.test_cli import assert_one_line_error

runner = CliRunner()
SWEEP = """
name = "tiny"
base = "tiny-pmem"
[axes]
kernel = ["4.18", "4.20"]
device_memory_per_node = ["64M", "256M", "1G", "16G"]
"""


def invoke(*args: str) -> Result:
    return runner.invoke(main, list(args))


class Page(HTMLParser):
    """The tags of a page, with their attributes, and its text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self.scripts: list[str] = []
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.styles.append(data)
        elif self._in == "script":
            self.scripts.append(data)
        else:
            self.text.append(data)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Results saved as a user saves them: compare --save, validate --json, a sweep."""
    tmp = tmp_path_factory.mktemp("saved")
    cmp, val = tmp / "compare.json", tmp / "validation.json"
    r = invoke("compare", "tiny-pmem", "-k", "4.18", "-k", "4.20", "--save", str(cmp))
    assert r.exit_code == 0, r.output
    r = invoke("validate", "--json")
    val.write_text(r.stdout)
    (tmp / "sweep.toml").write_text(SWEEP)
    r = invoke("sweep", str(tmp / "sweep.toml"), "-o", str(tmp / "sweep.parquet"), "-j", "1")
    assert r.exit_code == 0, r.output
    run = invoke("run", "duyck-2018", "-k", "4.18", "--save", str(tmp / "run.json"))
    assert run.exit_code == 0, run.output
    return {
        "compare": cmp,
        "validation": val,
        "sweep": tmp / "sweep.parquet",
        "run": tmp / "run.json",
    }


@pytest.fixture(scope="module")
def page(saved: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("page") / "report.html"
    args = [str(saved[k]) for k in ("compare", "run", "sweep", "validation")]
    r = invoke("report", *args, "-o", str(out))
    assert r.exit_code == 0, r.output
    return out.read_text(), out


def test_save_writes_what_json_prints(saved: dict[str, Path]) -> None:
    printed = invoke("compare", "tiny-pmem", "-k", "4.18", "-k", "4.20", "--json").stdout
    assert saved["compare"].read_text() == printed


def test_a_run_saves_its_timeline() -> None:
    r = simulate(load_scenario("tiny-pmem"), "4.20")
    tl = run_data(r)["timeline"]
    assert len(tl["intervals"]) == len(r.intervals) > 0
    assert len(tl["lock_holds"]) == len(r.holds) > 0
    first = min(r.intervals, key=lambda iv: iv.start)
    assert tl["intervals"][0]["start_s"] == round(first.start * 1e-9, 9)
    assert {iv["kind"] for iv in tl["intervals"]} == {iv.kind for iv in r.intervals}


def test_every_section_is_there(page: tuple[str, Path]) -> None:
    p = Page(page[0])
    ids = [a["id"] for a in p.all("section")]
    assert ids == [
        "inputs", "scenarios", "kernels", "timelines", "nodes", "locks", "sweeps",
        "validation", "findings", "logs",
    ]  # fmt: skip
    text = " ".join(p.text)
    assert "tiny-pmem on 4.20" in text and "duyck-2018 on 4.18" in text
    assert "duyck-reserved-atomic" in text  # the validation table
    assert "pfn0.0 initialised, 64000 pages in 2ms" in text  # a simulated log line
    assert "I5" in text and "altmap free (hosts the memmap)" in text  # a finding


def test_each_timeline_draws_each_interval_at_its_time(
    page: tuple[str, Path], saved: dict[str, Path]
) -> None:
    """One bar per interval of the saved timeline (and per mem_hotplug_lock hold), placed
    by its start and end."""
    runs = json.loads(saved["compare"].read_text())["runs"]
    svgs = re.findall(r'<figure class="timeline">.*?</figure>', page[0], re.S)
    assert len(svgs) == 3  # two from compare, one from run
    for svg, run in zip(svgs, runs, strict=False):
        bars = re.findall(r'data-s="([^"]+)" data-e="([^"]+)"', svg)
        tl = run["timeline"]
        holds = [h for h in tl["lock_holds"] if h["lock"] == "mem_hotplug_lock"]
        want = [(iv["start_s"], iv["end_s"]) for iv in tl["intervals"]]
        want += [(h["start_s"], h["end_s"]) for h in holds]
        got = [(float(s), float(e)) for s, e in bars]
        assert sorted(set(got)) == sorted(set(want))
        locked = [iv for iv in tl["intervals"] if iv["locked"]]
        assert svg.count("url(#hatch-") == len(locked)


def test_scaling_curves_one_per_kernel_one_point_per_size(page: tuple[str, Path]) -> None:
    charts = re.findall(
        r"<figure><figcaption><b>total time</b> against ([\w.]+)(.*?)</figure>", page[0], re.S
    )
    assert [name for name, _body in charts] == ["device_memory_per_node"]
    body = charts[0][1]
    assert body.count("<polyline") == 2  # 4.18, 4.20
    assert body.count("<circle") == 2 * 4
    assert "kernel=4.18" in body and "(log scale)" in body


def test_the_page_fetches_nothing(page: tuple[str, Path]) -> None:
    """No stylesheet, script, image, font or frame from anywhere: every link is to a place
    in the page, every url() to something defined in it."""
    p = Page(page[0])
    for tag, attrs in p.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed", "base"), tag
        for key in ("src", "srcset", "xlink:href", "poster", "data", "action"):
            assert key not in attrs, (tag, attrs)
        if "href" in attrs:
            assert (attrs["href"] or "").startswith("#"), attrs
    css = "".join(p.styles)
    assert "@import" not in css and "url(" not in css
    assert all(u.startswith("url(#") for u in re.findall(r"url\([^)]*\)", page[0]))
    js = "".join(p.scripts)
    for call in ("fetch(", "XMLHttpRequest", "import(", "WebSocket", "EventSource", ".src"):
        assert call not in js
    assert "@media print" in css


def test_the_same_results_give_the_same_bytes(
    page: tuple[str, Path], saved: dict[str, Path], tmp_path: Path
) -> None:
    again = tmp_path / "again.html"
    args = [str(saved[k]) for k in ("compare", "run", "sweep", "validation")]
    assert invoke("report", *args, "-o", str(again)).exit_code == 0
    assert again.read_bytes() == page[1].read_bytes()


def test_names_are_text_not_markup(tmp_path: Path) -> None:
    data = json.loads(
        invoke("run", "tiny-pmem", "--json").stdout.replace('"tiny-pmem"', '"<script>x</script>"')
    )
    (tmp_path / "r.json").write_text(json.dumps(data))
    html = render(read_inputs([str(tmp_path / "r.json")]))
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_an_inorder_run_has_no_timeline_and_says_so(tmp_path: Path) -> None:
    out = invoke("run", "tiny-pmem", "--engine", "inorder", "--save", str(tmp_path / "r.json"))
    assert out.exit_code == 0, out.output
    html = render(read_inputs([str(tmp_path / "r.json")]))
    assert 'class="timeline"' not in html
    assert "No timeline in the input for tiny-pmem on 4.20" in html


# --- garbled inputs ----------------------------------------------------------------------


def _run_json() -> dict[str, object]:
    data: dict[str, object] = json.loads(invoke("run", "tiny-pmem", "--json").stdout)
    return data


GARBLED = [
    ("not json", b'{"scenario": ', None, "not JSON"),
    ("a list", b"[1, 2]", None, "not a memmapsim result"),
    ("other json", b'{"name": "x"}', None, "not a memmapsim result"),
    ("not utf-8", b'{"a": "\xff"}', None, "not UTF-8"),
    ("empty", b"", None, "not JSON"),
]


@pytest.mark.parametrize(
    ("data", "field", "words"), [g[1:] for g in GARBLED], ids=[g[0] for g in GARBLED]
)
def test_a_file_that_is_not_a_result_is_one_line(
    tmp_path: Path, data: bytes, field: str | None, words: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(data)
    out = tmp_path / "report.html"
    line = assert_one_line_error(invoke("report", str(bad), "-o", str(out)), str(bad))
    assert words in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (
            lambda d: d["timeline"]["intervals"][0].update(start_s="soon"),
            "timeline.intervals.0.start_s",
            "expected a number",
        ),
        (
            lambda d: d["devices"][0].pop("pages_initialised"),
            "devices.0.pages_initialised",
            "required key is missing",
        ),
        (lambda d: d.update(total_s=float("inf")), "total_s", "finite number"),
        (lambda d: d["machine"]["nodes"][0]["dram"][0].append("0x1"), "machine.nodes.0.dram.0", ""),
    ],
    ids=["interval time", "missing count", "infinite", "dram range"],
)
def test_a_run_with_a_bad_field_names_it(
    tmp_path: Path, edit: object, field: str, words: str
) -> None:
    data = _run_json()
    assert callable(edit)
    edit(data)
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps(data))
    line = assert_one_line_error(
        invoke("report", str(bad), "-o", str(tmp_path / "o.html")), str(bad)
    )
    # the message names the path to the field (indices written .N here to compare)
    assert re.sub(r"\[(\d+)\]", r".\1", line).find(field) > 0, line
    assert words in line


def test_a_compare_names_the_run_with_the_bad_field(tmp_path: Path, saved: dict[str, Path]) -> None:
    data = json.loads(saved["compare"].read_text())
    data["runs"][1]["kernel"] = 4.2
    bad = tmp_path / "c.json"
    bad.write_text(json.dumps(data))
    line = assert_one_line_error(invoke("report", str(bad)), str(bad))
    assert "runs[1].kernel: expected a string" in line


def test_a_truncated_parquet_is_one_line(tmp_path: Path, saved: dict[str, Path]) -> None:
    whole = saved["sweep"].read_bytes()
    bad = tmp_path / "s.parquet"
    bad.write_bytes(whole[: len(whole) * 2 // 3])
    line = assert_one_line_error(
        invoke("report", str(bad), "-o", str(tmp_path / "o.html")), str(bad)
    )
    assert "not a readable Parquet file" in line


def test_a_parquet_that_is_not_a_sweep_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "t.parquet"
    pq.write_table(pa.table({"total_s": [1.0]}), bad)
    line = assert_one_line_error(
        invoke("report", str(bad), "-o", str(tmp_path / "o.html")), str(bad)
    )
    assert "not a memmapsim sweep file (no memmapsim.sweep metadata)" in line


def test_a_sweep_whose_metadata_lies_is_one_line(tmp_path: Path, saved: dict[str, Path]) -> None:
    table = pq.read_table(saved["sweep"])
    meta = json.loads(table.schema.metadata[b"memmapsim.sweep"])
    meta["axes"][1]["values"] = ["big", "small"]
    bad = tmp_path / "t.parquet"
    pq.write_table(
        table.replace_schema_metadata({b"memmapsim.sweep": json.dumps(meta).encode()}), bad
    )
    line = assert_one_line_error(invoke("report", str(bad)), str(bad))
    assert "memmapsim.sweep metadata.axes[1]" in line


@pytest.mark.parametrize(
    ("args", "where", "words"),
    [
        (["nowhere.json"], "nowhere.json", "no such file"),
        (["compare.json", "-o", "no/dir/r.html"], "--output", "no such directory"),
        (["compare.json", "-o", "."], "--output", "is a directory"),
    ],
)
def test_bad_paths_are_one_line(
    saved: dict[str, Path], monkeypatch: pytest.MonkeyPatch, args: list[str], where: str, words: str
) -> None:
    monkeypatch.chdir(saved["compare"].parent)
    assert words in assert_one_line_error(invoke("report", *args), where)


def test_a_sweep_with_a_damaged_page_is_one_line(tmp_path: Path, saved: dict[str, Path]) -> None:
    """Bytes that are not UTF-8 in a string column: the footer reads, the rows do not."""
    table = pq.read_table(saved["sweep"])
    plain = tmp_path / "plain.parquet"
    pq.write_table(table, plain, compression="none", write_statistics=False)
    data = plain.read_bytes()
    assert data.count(b"tiny-pmem") >= 1
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(data.replace(b"tiny-pmem", b"\xfftiny-pme", 1))
    line = assert_one_line_error(
        invoke("report", str(bad), "-o", str(tmp_path / "o.html")), str(bad)
    )
    assert "not a readable Parquet file" in line
