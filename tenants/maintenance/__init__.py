"""Scheduled maintenance: windows, their lifecycle and automatic transitions."""
