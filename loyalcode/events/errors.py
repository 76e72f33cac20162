"""Refusals of the events outbox and its dispatcher, in the project's one exception tree."""

from __future__ import annotations

from loyalcode.errors import LoyalcodeError


class EventNotFound(LoyalcodeError):
    code = "event_not_found"
    template = "Event {event} not found."


class DispatchFailed(LoyalcodeError):
    code = "dispatch_failed"
    template = "Event {event} could not be delivered after {attempts} attempt(s): {reason}."
