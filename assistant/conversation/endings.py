"""The end of a conversation: the answer to "Did this answer your question?"
(:meth:`Endings.give_feedback`) and the customer asking for a person
(:meth:`Endings.hand_off`). Part of :class:`~.service.Conversations` (a mixin: it uses the
store and the handoffs there)."""

from __future__ import annotations

import re

from ..store import FlowSession, Handoff
from . import errors
from .text import _l

REACTIONS = {"yes": _l("Yes, it did"), "partly": _l("Partly"), "no": _l("No, it didn't")}
"""The answers to "Did this answer your question?" (id → label)."""
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Endings:
    """The feedback and handoff methods of :class:`~.service.Conversations`."""

    def give_feedback(self, sid: str, end_step: str | None, reaction: str, comment: str,
                      revision: int | None) -> FlowSession:
        """Store the answer to "Did this answer your question?" (``reaction``: a key of
        :data:`REACTIONS`; ``comment``: up to ``comment_max`` characters, may be empty) for
        the end step ``end_step``. Taken while the session is ended at that step, even if it
        changed in between (another tab walked back to the same end); a second one at the
        same revision replaces the first. *No* or *Partly* hands the session off.

        Raises:
            Incomplete: no revision. NotAtEnd: the session is not ended at ``end_step``.
            Invalid: ``errors`` has ``reaction`` and/or ``comment``.
        """
        row, compiled = self.load(sid)
        if revision is None:
            raise errors.Incomplete(_l("The form was incomplete, so nothing was saved. "
                                       "Please send it again."))
        if row.status != "ended" or end_step != row.step:
            raise errors.NotAtEnd()
        problems = {}
        if reaction not in REACTIONS:
            problems["reaction"] = _l("Choose Yes, Partly or No.")
        if len(comment) > self.comment_max:
            problems["comment"] = _l("Your comment has %(count)s characters; the limit is "
                                     "%(limit)s. Please shorten it.", count=len(comment),
                                     limit=self.comment_max)
        if problems:
            raise errors.Invalid(errors=problems)
        changed = self.store.save_feedback(row, compiled.flow.version, reaction,
                                           comment or None)
        self.handoffs.after_feedback(row, compiled, reaction, changed=changed)
        return row

    def hand_off(self, sid: str, revision: int | None, contact: str = "", message: str = ""
                 ) -> Handoff:
        """The customer asks for a person: a handoff carrying the transcript at the session's
        revision (one per revision: a later request, e.g. from another tab, adds its
        ``contact`` address and ``message`` to it, up to three times ``message_max``
        characters of messages in all).

        Raises:
            Stale: the answers changed since ``revision``. Invalid: ``errors`` has
            ``contact`` (not an email address) and/or ``message`` (too long).
        """
        row, compiled = self.load(sid)
        if revision != row.revision:
            raise errors.Stale(_l("Nothing was sent yet: your answers changed in another tab "
                                  "or window since this page was shown. Check what you wrote "
                                  "below and send it again."))
        problems: dict[str, str] = {}
        limit = self.message_max
        if contact and (len(contact) > 254 or not EMAIL.match(contact)):
            problems["contact"] = _l("Enter an email address like name@example.com, or "
                                     "leave it empty.")
        if len(message) > limit:
            problems["message"] = _l("Your message has %(count)s characters; the limit is "
                                     "%(limit)s. Please shorten it.", count=len(message),
                                     limit=limit)
        # Messages sent at one point are added to its handoff (another tab, the agent's
        # comment), each addition announced with the whole text: keep the sum bounded.
        existing = self.store.handoff_at(row)
        held = (existing.message or "") if existing is not None else ""
        if "message" not in problems and message and message not in held \
                and len(held) + len(message) > 3 * limit:
            problems["message"] = _l("Support has %(count)s characters from this point "
                                     "already; at most %(limit)s are kept, so this was not "
                                     "added. Please shorten it, or quote your reference when "
                                     "you talk to us.", count=len(held), limit=3 * limit)
        if problems:
            raise errors.Invalid(errors=problems)
        feedback = self.store.feedback_for(row)
        reason = ("unresolved_end" if row.outcome in ("unresolved", "escalated")
                  else "negative_feedback" if feedback and feedback.reaction != "yes"
                  else "customer_request")
        handoff, _ = self.handoffs.record(row, compiled, reason, contact=contact or None,
                                          message=message or None)
        return handoff
