"""The audit trail: who signed in, asked, opened, uploaded, deleted or changed what.

trail.py: the hash-chained records and their verification; actor.py: who is acting;
answers.py: records each answered question; directory.py: records every change to
users, groups, grants and tokens.
"""

from assistant.audit.actor import Actor, acting_as, current_actor
from assistant.audit.trail import Trail, Verdict

__all__ = ["Actor", "Trail", "Verdict", "acting_as", "current_actor"]
