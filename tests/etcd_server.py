"""The tests' etcd server: `threadlock.local_etcd` (shared with the stress tool and bench/), and
the parameter lists that run a module on both etcd releases (see conftest.py)."""

from threadlock.local_etcd import (
    ETCD_BIN_ENV,
    INSTALL_HINT,
    EtcdServer,
    TlsFiles,
    etcd_binary,
    etcd_version,
    find_etcd,
    free_port,
)

# etcd_release: the current release (what setup.sh builds) and the oldest supported one.
ETCD_RELEASES = ["current", "oldest"]
# coord: both backends, and etcd on the oldest supported release too.
COORD_ALL_ETCD = ["memory", "etcd", "etcd-oldest"]

__all__ = ["COORD_ALL_ETCD", "ETCD_BIN_ENV", "ETCD_RELEASES", "INSTALL_HINT", "EtcdServer",
           "TlsFiles", "etcd_binary", "etcd_version", "find_etcd", "free_port"]
