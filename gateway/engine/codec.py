"""The codec of stored messages: one encoder and one decoder for a timeline's hash values.

Every part that writes a message into a timeline (or a record beside it: drafts, local data)
encodes with `STORED_ENC`; every part that reads a timeline decodes with `STORED_DEC`.
"""

from __future__ import annotations

import msgspec

from gateway.im.messages import StoredMessage

STORED_ENC = msgspec.json.Encoder()
STORED_DEC = msgspec.json.Decoder(StoredMessage)
