"""struct device, as far as the modelled paths need it: name, bound driver, NUMA node."""

from __future__ import annotations

import msgspec


class KDevice(msgspec.Struct, frozen=True):
    name: str
    """dev_name(): ``pfn0.0``, ``dax0.0``, ``namespace0.0``."""
    driver: str
    """dev_driver_string() once bound: ``nd_pmem``, ``dax_pmem``."""
    nid: int
    """dev_to_node()."""

    def fmt(self, msg: str) -> str:
        """dev_printk()'s prefix: ``<driver> <device>: <message>``."""
        return f"{self.driver} {self.name}: {msg}"
