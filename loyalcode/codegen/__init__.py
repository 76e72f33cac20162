"""Code generation core: the hidden-code format, keyed derivation, batches, channels,
export, and the shared database layer that printing and redemption build on."""
