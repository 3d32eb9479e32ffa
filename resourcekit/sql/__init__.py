"""Resources over a relational database, declared: `Collection` and `Item` of a mapped class
in a `Database`, on SQLAlchemy 2 (``pip install 'resourcekit[sql]'``).

``import resourcekit`` does not import SQLAlchemy; ``import resourcekit.sql`` does.
"""

from .database import Database
from .resources import Collection, Item, Table

__all__ = ["Collection", "Database", "Item", "Table"]
