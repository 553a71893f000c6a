"""The tests' etcd server: `threadlock.local_etcd` (shared with the stress tool and bench/)."""

from threadlock.local_etcd import (
    ETCD_BIN_ENV,
    INSTALL_HINT,
    EtcdServer,
    TlsFiles,
    find_etcd,
    free_port,
)

__all__ = ["ETCD_BIN_ENV", "INSTALL_HINT", "EtcdServer", "TlsFiles", "find_etcd", "free_port"]
