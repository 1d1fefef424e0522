"""``{% load history %}``: ``{% with d=event|describe %}`` gives a history row's sentence, actor
and origin (:mod:`bastion.events.describe`), so that every security history reads alike."""

from __future__ import annotations

from django import template

from bastion.events.describe import Described, _Event
from bastion.events.describe import describe as describe_event

register = template.Library()


@register.filter
def describe(event: _Event) -> Described:
    return describe_event(event)
