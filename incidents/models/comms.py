"""The communication cadence: rules per severity, stakeholder groups, obligations and posted updates."""
