"""Integrations that write MGRPO Lens run folders from other trainers while they train."""
