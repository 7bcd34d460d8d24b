from oncall.models.people import Profile, Team, validate_time_zone
from oncall.models.schedules import HandoffNotice, Layer, LayerMember, LayerRestriction, Override, Schedule, ShiftSwap

__all__ = [
    "HandoffNotice",
    "Layer",
    "LayerMember",
    "LayerRestriction",
    "Override",
    "Profile",
    "Schedule",
    "ShiftSwap",
    "Team",
    "validate_time_zone",
]
