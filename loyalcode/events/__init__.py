"""The events outbox the CRM reads (:mod:`~loyalcode.events.outbox`) and the webhook
dispatcher that delivers it (:mod:`~loyalcode.events.dispatch`)."""
