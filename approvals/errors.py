"""The errors every approvals service raises: a move the rules refuse, with the reason in words.

Kept apart so that requests, training, the register and the response log can all raise
them without importing one another.
"""


class ApprovalError(Exception):
    """A move the rules do not allow; the message says why, for the person who tried."""


class ApprovalRefused(ApprovalError):
    """Approval refused because people named to run the account are not ready."""

    def __init__(self, gaps: list[str]):
        super().__init__("Approval refused: " + " ".join(gaps))
        self.gaps = gaps
