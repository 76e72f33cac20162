"""The hidden code: its printed format and check symbol, normalisation of scans, the
keyed codec, visible serials, payload templates, batches (serial ranges), export and
the offline check."""
