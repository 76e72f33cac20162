"""loyalcode: one-item-one-code (一物一码) serialization and redemption engine.

Packages: ``loyalcode.codegen`` (code format, keys, batches, channels, export and the
shared database layer), ``loyalcode.printing`` (QR labels, sheets, ZPL) and
``loyalcode.redemption`` (members, scans, points). ``loyalcode.cli`` is the command line.
"""

__version__ = "0.1.0"
