"""What the members app tells the rest of the site."""

from django.dispatch import Signal

#: Sent once when a membership or gift recorded from Stripe started from a fundraiser block's
#: button (Checkout metadata `source_block`), inside the transaction that records it, with
#: `source_block` (the block's id) and `language` (of the page the reader clicked on).
support_started = Signal()
