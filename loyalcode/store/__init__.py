"""The bottom layer every package stands on: the engine and the one metadata
(:mod:`~loyalcode.store.db`), configuration (:mod:`~loyalcode.store.config`), the key,
its subkeys and fingerprint (:mod:`~loyalcode.store.keys`), the deployment row and
``init`` (:mod:`~loyalcode.store.models`, :mod:`~loyalcode.store.deployment`), the
context a face opens (:mod:`~loyalcode.store.context`), SQL rendering
(:mod:`~loyalcode.store.sql`) and times as stored (:mod:`~loyalcode.store.timeutil`)."""
