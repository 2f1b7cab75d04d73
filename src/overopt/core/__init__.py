"""Layer 1, core math: pure numpy/scipy estimators. No I/O; torch only in ``preference``."""
