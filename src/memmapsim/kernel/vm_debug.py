"""mm/debug.c: page-init poisoning and the ``vm_debug=`` boot parameter.

v4.18: under CONFIG_DEBUG_VM, ``sparse_add_one_section`` always memsets a hot-added
section's memmap to 0xFF (PAGE_POISON_PATTERN, f165b378bbdf, v4.16).

v4.20 (f682a97a0059, "mm: provide kernel parameter to allow disabling page init
poisoning", Duyck): the memset goes through ``page_init_poison()``, which does nothing
when ``page_init_poisoning`` is false. ``setup_vm_debug`` parses ``vm_debug``: with no
value, enable everything; ``-`` disables all; otherwise only the listed letters
(``p`` = page-init poisoning), an unknown letter printing "vm_debug option '%c' unknown.
skipped".
"""

from __future__ import annotations

from memmapsim.kernel.kernel import Kernel


def setup_vm_debug(value: str) -> tuple[bool, list[tuple[str, str]]]:
    """Parse ``vm_debug[=value]`` (``value`` is what follows ``vm_debug``, "" or "=...").

    Returns ``page_init_poisoning`` and the printk lines (level, text) it emits.
    """
    lines: list[tuple[str, str]] = []
    poisoning = True
    if value.startswith("=") and len(value) > 1:
        opts = value[1:]
        poisoning = False
        if not opts.startswith("-"):
            for c in opts:
                if c.lower() == "p":
                    poisoning = True
                else:
                    lines.append(("err", f"vm_debug option '{c}' unknown. skipped"))
    if not poisoning:
        lines.append(
            ("warning", "Page struct poisoning disabled by kernel command line option 'vm_debug'")
        )
    return poisoning, lines


def page_init_poisoning(k: Kernel) -> bool:
    """Whether a hot-added section's memmap is poisoned in this kernel and boot."""
    if not k.config.debug_vm:
        return False
    if not k.p.vm_debug_param or k.config.vm_debug is None:
        return True
    return setup_vm_debug(_as_param(k.config.vm_debug))[0]


def boot_messages(k: Kernel) -> list[tuple[str, str]]:
    """What parsing the command line prints about vm_debug (nothing if it is not a
    parameter of this kernel: the kernel then hands it to init)."""
    if not k.config.debug_vm or not k.p.vm_debug_param or k.config.vm_debug is None:
        return []
    return setup_vm_debug(_as_param(k.config.vm_debug))[1]


def _as_param(knob: str) -> str:
    """The scenario writes ``vm_debug = "-"``; the kernel sees ``vm_debug=-``."""
    return f"={knob}" if knob else ""
