"""What accounts tells the floors above it, without knowing who listens.

``people_changed`` is sent, inside the transaction that made the change, with ``users``:
people who joined an organisation, came back, or whose roles or records changed (by
invitation, import, the staff page or an accepted offer). The policies part listens and asks
them at once to acknowledge the policies that now apply to them (``policies.apps``).
"""

from django.dispatch import Signal

people_changed = Signal()
