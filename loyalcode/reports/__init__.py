"""What the channel team and customer service read: redemption reports
(:mod:`~loyalcode.reports.report`) and the visible-serial lookup
(:mod:`~loyalcode.reports.lookup`). They read every package's tables."""
