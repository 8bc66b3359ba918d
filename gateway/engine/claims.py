"""How long a send holds the claim of its created id (or key), and how long a repeat waits for it.

A send claims its created id (created id -> msgID) before it writes, and holds the claim's lock
while it lives (gateway.engine.message_core: MessageCore.claim, lost_claim): a repeat arriving
meanwhile waits for the send and answers its result; one arriving after the send died finishes it.
"""

from __future__ import annotations

# A send's hold on the claim it just took: longer than its writes take; it extends the hold before
# a slow step (the app's before-send callback, the upstream's send). A send that died lets go of
# its claim within this, for a retry to finish.
CLAIM_HOLD_SECONDS = 5
# How long a repeat of a send under way waits for it to end (and answers its result) before it
# answers "retry shortly".
CLAIM_WAIT_SECONDS = 8.0
CLAIM_POLL_SECONDS = 0.05
