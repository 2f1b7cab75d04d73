"""Layer 5, studies: a config plus stages writing to a crash-safe run store; resumable."""
