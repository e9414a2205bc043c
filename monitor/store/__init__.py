"""The state store: SQLite by default, PostgreSQL for several replicas; one interface for both."""

from monitor.store.store import CheckWrite, Store, StoredItem, WatchState, new_uid

__all__ = ["CheckWrite", "Store", "StoredItem", "WatchState", "new_uid"]
