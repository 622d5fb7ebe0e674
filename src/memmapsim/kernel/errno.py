"""The errno values the modelled code paths return (include/uapi/asm-generic/errno-base.h)."""

from __future__ import annotations

EIO = 5
ENXIO = 6
ENOMEM = 12
EFAULT = 14
EBUSY = 16
EEXIST = 17
ENODEV = 19
EINVAL = 22
EOPNOTSUPP = 95

NAMES = {
    EIO: "EIO",
    ENXIO: "ENXIO",
    EFAULT: "EFAULT",
    EOPNOTSUPP: "EOPNOTSUPP",
    ENOMEM: "ENOMEM",
    EBUSY: "EBUSY",
    EEXIST: "EEXIST",
    ENODEV: "ENODEV",
    EINVAL: "EINVAL",
}


def errname(err: int) -> str:
    return "-" + NAMES.get(-err, str(-err))
