"""Watch: change notification over the MVCC history (etcd's watchable store).

``events`` turns changes into ``mvccpb.Event``s, ``watcher`` holds one watcher and the
batches of events it is owed, ``group`` finds the watchers of a key, ``stream`` is one
client stream's buffer of responses and its watchers, and ``watchable`` feeds every
watcher: from each committed write while it keeps up, from history when it does not.
"""

from kvcore.watch.stream import WatchStream
from kvcore.watch.watchable import WatchableStore
from kvcore.watch.watcher import WatchResponse

__all__ = ["WatchResponse", "WatchStream", "WatchableStore"]
