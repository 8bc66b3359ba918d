"""The embedded engine's offline push: every send queues a job (planner.PushQueue), a worker on
each replica turns jobs into one notification per offline user (planner.PushPlanner) and hands
them to a sink (sink.WebhookSink: a signed POST to the operator's endpoint). Devices register
through gateway.push.devices, which the session layer writes."""
