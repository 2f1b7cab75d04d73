"""The lab: a small RLHF world where over-optimization emerges on a laptop CPU (DESIGN.md "The lab")."""
