"""Groups (V2TIMGroupManager and V2TIMManager's group APIs) on Redis."""
