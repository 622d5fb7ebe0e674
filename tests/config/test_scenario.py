"""Scenario loading: the built-ins, and InputError naming the file and field for bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from memmapsim.config.scenario import builtin_names, load_scenario, parse_scenario
from memmapsim.errors import InputError
from memmapsim.units import GiB, MiB, TiB
from tests.scenario_text import NODE0, dev

SRC = "bad.toml"


def scenario(*parts: str, machine: str = NODE0, head: str = 'kernel = "4.18"\n') -> str:
    return f'name = "t"\n{head}{machine}{"".join(parts)}'


# --- the built-ins ----------------------------------------------------------------------------


def test_builtin_names() -> None:
    assert builtin_names() == [
        "boot-12t",
        "boot-768g",
        "devdax-128g-1g",
        "devdax-128g-2m",
        "devdax-128g-4k",
        "duyck-2018",
        "e5-2699v4-64g",
        "gpu-hmm-16g",
        "hotplug-256g",
        "hotplug-256g-mom",
        "tiny-hmm",
        "tiny-pmem",
        "tiny-pmem-remove",
        "tiny-pmem-shared",
        "xeon8180-1.5t",
    ]


def test_duyck_2018() -> None:
    """4 nodes x 56 CPUs, 384 GiB DRAM each, one 3 TiB fsdax per node, memmap on device."""
    sc = load_scenario("duyck-2018")
    assert sc.name == "duyck-2018"
    assert sc.source == "duyck-2018 (built-in)"
    assert sc.kernel == "4.20"
    assert [n.id for n in sc.machine.nodes] == [0, 1, 2, 3]
    assert [n.cpus for n in sc.machine.nodes] == [56] * 4
    assert sc.machine.nr_cpus == 224
    assert [n.dram_bytes for n in sc.machine.nodes] == [384 * GiB] * 4
    assert [(d.kind, d.node, d.size, d.memmap) for d in sc.devices] == [
        ("fsdax", i, 3 * TiB, "device") for i in range(4)
    ]
    top_of_dram = max(r.end for n in sc.machine.nodes for r in n.dram)
    assert min(d.start for d in sc.devices) >= top_of_dram
    assert not sc.machine.five_level_paging


def test_tiny_pmem() -> None:
    """One node, DRAM 0-1 GiB and 2-3 GiB, one 200 MiB fsdax at 1 GiB."""
    sc = load_scenario("tiny-pmem")
    assert sc.name == "tiny-pmem"
    assert sc.kernel == "4.20"
    (node,) = sc.machine.nodes
    assert [(r.start, r.size) for r in node.dram] == [(0, GiB), (2 * GiB, GiB)]
    (d,) = sc.devices
    assert (d.name, d.kind, d.node, d.start, d.size, d.memmap) == (
        "pmem0",
        "fsdax",
        0,
        GiB,
        200 * MiB,
        "device",
    )
    assert d.align == 2 * MiB
    assert not sc.knobs.debug_vm


def test_a_file_is_loaded_by_path(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(scenario(dev("pmem0", "0x4000_0000", "200MiB")))
    sc = load_scenario(str(path))
    assert sc.source == str(path)
    assert (sc.devices[0].start, sc.devices[0].size) == (GiB, 200 * MiB)
    assert sc.kernel == "4.18"


def test_a_file_shadows_a_builtin_of_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny-pmem").write_text(scenario())
    sc = load_scenario("tiny-pmem")
    assert sc.source == "tiny-pmem"
    assert sc.devices == []


def test_five_level_paging_maps_beyond_64_tib() -> None:
    text = scenario(dev("pmem0", "64T", "1G"), head="[machine]\nfive_level_paging = true\n")
    sc = parse_scenario(text, SRC)
    assert sc.machine.max_physmem_bits == 52
    assert sc.devices[0].end == 64 * TiB + GiB


# --- bad input --------------------------------------------------------------------------------

BAD = [
    pytest.param(
        scenario(dev("pmem0", "1G", "200M", colour="red")),
        "devices[0].colour",
        "unknown key",
        id="unknown-device-key",
    ),
    pytest.param(
        scenario(head="[knobs]\nfrob = 1\n"), "knobs.frob", "unknown key", id="unknown-knob"
    ),
    pytest.param(scenario(head='source = "x"\n'), "source", "unknown key", id="source-key"),
    pytest.param('name = "t\n', None, "not valid TOML", id="not-toml"),
    pytest.param("", "name", "required key is missing", id="empty"),
    pytest.param('name = "t"\n', "machine", "required key is missing", id="no-machine"),
    pytest.param(
        scenario(head="kernel = 4.18\n"),
        "kernel",
        "expected a string, got 4.18",
        id="kernel-not-a-string",
    ),
    pytest.param(
        scenario(dev("pmem0", "1G", "200Q")), "devices[0].size", "cannot parse size", id="size-unit"
    ),
    pytest.param(
        scenario(head="") + '\n[[devices]]\nname="p"\nkind="fsdax"\nnode=0\nstart=-4096\nsize=1\n',
        "devices[0].start",
        "negative",
        id="negative-start",
    ),
    pytest.param(
        scenario(dev("pmem0", "1G", "200M", kind="nvme")),
        "devices[0].kind",
        '"fsdax", "devdax", "device-private", "device-coherent", "p2pdma" or "system-ram"',
        id="bad-kind",
    ),
    pytest.param(
        scenario(machine=NODE0 + NODE0.replace('"0"', '"4G"').replace('"2G"', '"6G"')),
        "machine.nodes[1].id",
        "node 0 is defined twice",
        id="duplicate-node",
    ),
    pytest.param(
        scenario(machine=NODE0.replace('"2G"', '"512M"')),
        "machine.nodes[0].dram[1]",
        "overlaps machine.nodes[0].dram[0]",
        id="dram-overlap",
    ),
    pytest.param(
        scenario(machine=NODE0.replace('size = "1G" }]', 'size = "0" }]')),
        "machine.nodes[0].dram[1].size",
        "must not be empty",
        id="empty-dram",
    ),
    pytest.param(
        scenario(machine=NODE0.replace("cpus = 4", "cpus = 0")),
        "machine.nodes",
        "no CPUs",
        id="no-cpus",
    ),
    pytest.param(
        scenario(dev("pmem0", "1G", "200M", node=3)),
        "devices[0].node",
        "node 3 is not in machine.nodes",
        id="no-such-node",
    ),
    pytest.param(
        scenario(dev("pmem0", "0x40000100", "200M")),
        "devices[0].start",
        "0x40000100 is not 4 KiB aligned",
        id="unaligned-start",
    ),
    pytest.param(
        scenario(dev("pmem0", "1G", "0x1001")),
        "devices[0].size",
        "not a multiple of 4 KiB",
        id="unaligned-size",
    ),
    pytest.param(
        scenario(dev("pmem0", "1G", "200M", align="3M")),
        "devices[0].align",
        "not a power of two",
        id="align",
    ),
    pytest.param(
        scenario(dev("pmem0", "1G", "200M"), dev("pmem0", "2000M", "8M")),
        "devices[1].name",
        '"pmem0" is used twice',
        id="duplicate-device-name",
    ),
    pytest.param(
        scenario(dev("gpu0", "1G", "200M", kind="device-private", memmap="device")),
        "devices[0].memmap",
        "its memmap must be in ram",
        id="device-private-memmap-on-device",
    ),
    pytest.param(
        scenario(dev("pmem0", "64T", "1G")),
        "devices[0]",
        "(MAX_PHYSMEM_BITS=46); set machine.five_level_paging = true",
        id="beyond-4-level",
    ),
    pytest.param(
        scenario(dev("pmem0", "4P", "1G"), head="[machine]\nfive_level_paging = true\n"),
        "devices[0]",
        "5-level paging maps (MAX_PHYSMEM_BITS=52)",
        id="beyond-5-level",
    ),
    pytest.param(
        scenario(
            machine=NODE0.replace('"2G"', '"0x3fff_c000_0000"').replace(
                'size = "1G" }]', 'size = "2G" }]'
            )
        ),
        "machine.nodes[0].dram[1]",
        "beyond the 64T",
        id="dram-beyond-4-level",
    ),
]


@pytest.mark.parametrize(("text", "field", "message"), BAD)
def test_bad_input_names_file_and_field(text: str, field: str | None, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_scenario(text, SRC)
    err = info.value
    assert (err.source, err.field) == (SRC, field)
    assert message in err.message
    where = f"{SRC}: {field}" if field else SRC
    assert str(err) == f"{where}: {err.message}"
    assert "\n" not in str(err)


def test_beyond_4_level_message_names_the_limit() -> None:
    with pytest.raises(InputError) as info:
        parse_scenario(scenario(dev("pmem0", "64T", "1G")), SRC)
    assert info.value.message.startswith("ends at 0x400040000000, beyond the 64T")


def test_missing_file_names_the_builtins(tmp_path: Path) -> None:
    path = str(tmp_path / "nothere.toml")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert (info.value.source, info.value.field) == (path, None)
    assert "no such file" in info.value.message
    assert "duyck-2018, e5-2699v4-64g, gpu-hmm-16g, hotplug-256g" in info.value.message


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda p: p.write_bytes(b"\xff\xfe"), "not UTF-8 text", id="not-utf8"),
        pytest.param(lambda p: p.mkdir(), "is a directory", id="directory"),
    ],
)
def test_unreadable_file(tmp_path: Path, make: Callable[[Path], object], message: str) -> None:
    path = tmp_path / "s.toml"
    make(path)
    with pytest.raises(InputError) as info:
        load_scenario(str(path))
    assert (info.value.source, info.value.field) == (str(path), None)
    assert info.value.message.startswith(message)


# --- steps ----------------------------------------------------------------------------------
def steps(*rows: str) -> str:
    return "".join(f"\n[[steps]]\n{row}\n" for row in rows)


TWO = (dev("pmem0", "1G", "64M"), dev("pmem1", "1088M", "64M"))


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        pytest.param(
            scenario(*TWO, steps('action = "remove"')),
            "steps[0].devices",
            "pmem0 is not present",
            id="remove-before-add",
        ),
        pytest.param(
            scenario(*TWO, steps('action = "add"', 'action = "add"\ndevices = ["pmem1"]')),
            "steps[1].devices",
            "pmem1 is present already",
            id="add-twice",
        ),
        pytest.param(
            scenario(*TWO, steps('action = "add"\ndevices = ["pmem2"]')),
            "steps[0].devices",
            'no device named "pmem2"',
            id="unknown-device",
        ),
        pytest.param(
            scenario(*TWO, steps('action = "add"\ndevices = ["pmem0", "pmem0"]')),
            "steps[0].devices",
            "listed twice",
            id="listed-twice",
        ),
        pytest.param(
            scenario(*TWO, steps('action = "add"\nlabel = "x"', 'action = "remove"\nlabel = "x"')),
            "steps[1].label",
            "'x' is used twice",
            id="label-twice",
        ),
        pytest.param(
            scenario(*TWO, steps('action = "unplug"')),
            "steps[0].action",
            '"add", "remove", "online" or "offline"',
            id="unknown-action",
        ),
    ],
)
def test_bad_steps(text: str, field: str, message: str) -> None:
    with pytest.raises(InputError) as e:
        parse_scenario(text, "s.toml")
    assert (e.value.field, message in e.value.message) == (field, True), e.value.message


def test_plan_fills_in_devices_and_labels() -> None:
    sc = parse_scenario(
        scenario(
            *TWO,
            steps(
                'action = "add"',
                'action = "remove"\ndevices = ["pmem1"]',
                'action = "add"\ndevices = ["pmem1"]',
            ),
        ),
        "s.toml",
    )
    assert [(p.label, p.action, p.devices) for p in sc.plan()] == [
        ("add#1", "add", (0, 1)),
        ("remove", "remove", (1,)),
        ("add#2", "add", (1,)),
    ]
    (only,) = parse_scenario(scenario(*TWO), "s.toml").plan()
    assert (only.label, only.devices) == ("add", (0, 1))
