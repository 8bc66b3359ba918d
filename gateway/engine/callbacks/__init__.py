"""Tencent's third-party callbacks, sent by the embedded engine (MAPPING.md section 5).

- hooks.Callbacks: what the engine's parts call at each hook point (before-callbacks ask and
  wait; after-callbacks are queued on Redis);
- bodies: the callback bodies, key for key as Tencent sends them (FIXTURES.md section C);
- sender.CallbackSender: the POST itself (query string, Sign, timeout);
- worker.CallbackWorker: delivers the queued after-callbacks, on every replica, with retries.
The wire names (commands, OptPlatform, answer codes) are gateway.v4.callbacks; the signature is
gateway.v4.signing.
"""
