"""People and permissions: users, groups, API tokens, sessions, collection grants and
per-user chat history, in one SQL database (SQLite in data_dir by default, PostgreSQL by
`database_url`).

db.py: the tables and the engine; passwords.py: hashing; directory.py: users, groups,
tokens, sessions; access.py: who may read or write which collection; history.py: chat
history; ratelimit.py: login throttling.
"""

from assistant.auth.access import LOCAL, Principal
from assistant.auth.db import Database
from assistant.auth.directory import Directory

__all__ = ["LOCAL", "Database", "Directory", "Principal"]
