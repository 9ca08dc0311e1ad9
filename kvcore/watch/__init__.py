"""Watch: change notification over the MVCC history (etcd's watchable store).

``events`` turns changes into ``mvccpb.Event``s, ``watcher`` holds one watcher and the
batches of events it is owed, ``group`` finds the watchers of a key, ``stream`` is one
client stream's buffer of responses and its watchers, and ``watchable`` feeds every
watcher: from each committed write while it keeps up, from history when it does not.

A component inside the server subscribes the way a client stream does::

    stream = WatchStream(server.watchable)
    watch_id = stream.watch(AUTO_WATCH_ID, key, end, start_rev)  # end None: one key
    response = await stream.get()  # a WatchResponse (events, revision, compact_revision)
    ...
    stream.close()

Whatever writes through the store (a ``TxnWrite``) must call
``WatchableStore.committed()`` once its backend transaction has committed, as
``EtcdServer.apply`` does: that is when watchers hear of it.
"""

from kvcore.watch.stream import WatchStream
from kvcore.watch.watchable import WatchableStore
from kvcore.watch.watcher import WatchResponse

__all__ = ["WatchResponse", "WatchStream", "WatchableStore"]
