from oncall.models.contact import ContactMethod, NotificationRule
from oncall.models.deliveries import Delivery, DeliveryAttempt
from oncall.models.escalation import EscalationPolicy, EscalationStep
from oncall.models.people import Profile, Team, validate_time_zone
from oncall.models.schedules import HandoffNotice, Layer, LayerMember, LayerRestriction, Override, Schedule, ShiftSwap

__all__ = [
    "ContactMethod",
    "Delivery",
    "DeliveryAttempt",
    "EscalationPolicy",
    "EscalationStep",
    "HandoffNotice",
    "Layer",
    "LayerMember",
    "LayerRestriction",
    "NotificationRule",
    "Override",
    "Profile",
    "Schedule",
    "ShiftSwap",
    "Team",
    "validate_time_zone",
]
