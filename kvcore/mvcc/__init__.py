"""Multi-version history of the key space (etcd's mvcc package).

``revision`` names points in history, ``key_index`` keeps one key's revisions,
``index`` keeps all keys' (the :class:`Index` seam), ``store`` reads and writes
history in the backend's key bucket.
"""

from kvcore.mvcc.index import Index, TreeIndex
from kvcore.mvcc.revision import Revision
from kvcore.mvcc.store import KVStore, LeaseAttacher, RangeResult, TxnWrite

__all__ = ["Index", "KVStore", "LeaseAttacher", "RangeResult", "Revision", "TreeIndex", "TxnWrite"]
