"""The public consumer pages: what a phone opens when it scans a label.

No API key; server-rendered HTML (Jinja2 templates under ``templates/``, one packaged
stylesheet under ``static/``), no JavaScript, Simplified Chinese first and English by
``Accept-Language``. The pieces later pages reuse:

* :mod:`.site` — ``[site]`` branding (name, logo, colour, support phone);
* :mod:`.i18n` — the language negotiation and the message catalogue;
* :mod:`.render` — :class:`~.render.Pages`: the layout, headers (a strict CSP) and
  the HTML refusal page of any :class:`~loyalcode.errors.LoyalcodeError`;
* :mod:`.forms` — urlencoded bodies and the CSRF check of every page form;
* :mod:`.payloads` — the payload templates of the deployment's batches as routes;
* :mod:`.landing` — the landing page (the anti-counterfeit verdict) and manual entry.
"""
