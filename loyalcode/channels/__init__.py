"""The distribution: the channel tree (:mod:`~loyalcode.channels.tree`), regions
(:mod:`~loyalcode.channels.regions`), batches with their default channel
(:mod:`~loyalcode.channels.batches`), and activation: shipped ranges bound to a channel,
kept as history and as the span map a scan reads (:mod:`~loyalcode.channels.activation`)."""
