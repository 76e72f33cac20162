"""Commands of the loyalty programme: member show|bind|update|profile|forget,
gift add|list|redeem|cancel, points expire, tiers evaluate."""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer

from loyalcode.cli import app, deployment, emit_json, parse_date, plural

JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")

member_app = typer.Typer(help="Members: show, bind a phone or an external id, profile, forget.",
                         no_args_is_help=True)
gift_app = typer.Typer(help="The points mall: gifts, orders, cancellations.", no_args_is_help=True)
points_app = typer.Typer(help="Points: expiry.", no_args_is_help=True)
tiers_app = typer.Typer(help="Member tiers over points earned in a rolling window.",
                        no_args_is_help=True)
app.add_typer(member_app, name="member")
app.add_typer(gift_app, name="gift")
app.add_typer(points_app, name="points")
app.add_typer(tiers_app, name="tiers")


_context = deployment


def _settings(ctx: Any) -> tuple[Any, Any]:
    """The loyalty settings and the redemption time zone of a deployment."""
    from loyalcode.loyalty.settings import LoyaltySettings
    from loyalcode.redemption.settings import RedemptionSettings

    return LoyaltySettings.from_config(ctx.config), RedemptionSettings.from_config(ctx.config)


def _member(ctx: Any, conn: Any, member_id: int | None, phone: str | None, openid: str | None) -> int:
    from loyalcode.loyalty import members
    from loyalcode.loyalty.phones import PhonePolicy

    ids = {"openid": openid} if openid is not None else {}
    return members.find_member(conn, member_id=member_id, phone=phone, identities=ids,
                               phones=PhonePolicy.from_config(ctx.config))


@member_app.command("update")
def member_update(
    phone: str | None = typer.Option(None, "--phone", help="The member's phone."),
    member_id: int | None = typer.Option(None, "--id", help="Member id."),
    openid: str | None = typer.Option(None, "--openid", help="WeChat openid."),
    name: str | None = typer.Option(None, "--name", help="Name."),
    gender: str | None = typer.Option(None, "--gender", help="female, male or other."),
    birthday: str | None = typer.Option(None, "--birthday", help="YYYY-MM-DD."),
    city: str | None = typer.Option(None, "--city", help="City."),
    email: str | None = typer.Option(None, "--email", help="Email address."),
    json_out: bool = JSON,
) -> None:
    """Update a member's profile; completing it the first time credits the bonus once."""
    from loyalcode.loyalty.profile import update_profile
    from loyalcode.store.timeutil import utc

    with _context() as ctx, ctx.engine.connect() as conn, conn.begin():
        settings, _ = _settings(ctx)
        result = update_profile(
            conn, _member(ctx, conn, member_id, phone, openid), settings, utc(),
            name=name, gender=gender, birthday=birthday, city=city, email=email,
        )
    if json_out:
        emit_json(result.to_dict())
        return
    p = result.profile
    state_ = "complete" if p.complete else f"missing {', '.join(p.missing)}"
    typer.echo(f"Member {p.member} profile {state_}.")
    if result.bonus:
        typer.echo(f"Profile bonus: {result.bonus} {plural(result.bonus, 'point')} "
                   f"(balance {result.balance}).")


@member_app.command("profile")
def member_profile(
    phone: str | None = typer.Option(None, "--phone", help="The member's phone."),
    member_id: int | None = typer.Option(None, "--id", help="Member id."),
    openid: str | None = typer.Option(None, "--openid", help="WeChat openid."),
    json_out: bool = JSON,
) -> None:
    """Show a member's profile, tier and points lots (with their expiry dates)."""
    from loyalcode.loyalty import points
    from loyalcode.loyalty.profile import profile_of
    from loyalcode.loyalty.tiers import tier_status
    from loyalcode.store.timeutil import utc

    with _context() as ctx, ctx.engine.connect().execution_options(sqlite_deferred=True) as conn:
        settings, rsettings = _settings(ctx)
        mid = _member(ctx, conn, member_id, phone, openid)
        profile = profile_of(conn, mid, settings)
        tier = tier_status(conn, mid, settings, utc())
        lots = [
            lot for lot in points.lots(conn, profile.member, expiry_months=settings.expiry_months,
                                       tz=rsettings.tzinfo())
            if lot.remaining
        ]
        balance = points.balance_of(conn, profile.member)
        conn.rollback()
    body = {"profile": profile.to_dict(), "tier": tier.to_dict(), "balance": balance,
            "lots": [lot.to_dict() for lot in lots], "timezone": rsettings.timezone}
    if json_out:
        emit_json(body)
        return
    typer.echo(f"Member {profile.member}  balance {balance}  tier {tier.tier} "
               f"(earned {tier.earned_in_window} in {tier.window_days} days)")
    typer.echo(f"  profile: {'complete' if profile.complete else 'missing ' + ', '.join(profile.missing)}")
    by_day: dict[Any, int] = {}  # each scan is a lot of its own: one line per date
    for lot in lots:
        by_day[lot.expires_on] = by_day.get(lot.expires_on, 0) + lot.remaining
    for day, left in by_day.items():
        typer.echo(f"  {left:,} {plural(left, 'point')} "
                   + (f"expire on {day} ({rsettings.timezone})" if day else "never expire"))


@gift_app.command("add")
def gift_add(
    sku: str = typer.Argument(..., help="The gift's SKU (unique)."),
    name: str = typer.Option(..., "--name", help="Name shown in the mall."),
    points: int = typer.Option(..., "--points", help="Points per unit."),
    stock: int = typer.Option(..., "--stock", help="Units available."),
    limit: int | None = typer.Option(None, "--limit", help="Units per member (default: no limit)."),
    active_from: str | None = typer.Option(None, "--from", help="First day (YYYY-MM-DD)."),
    active_until: str | None = typer.Option(None, "--until", help="Last day (YYYY-MM-DD)."),
    json_out: bool = JSON,
) -> None:
    """Add a gift to the points mall."""
    from loyalcode.loyalty.gifts import add_gift
    from loyalcode.store.timeutil import utc

    with _context() as ctx, ctx.engine.connect() as conn, conn.begin():
        _, rsettings = _settings(ctx)
        tz = rsettings.tzinfo()
        start = parse_date(active_from, "--from")
        until = parse_date(active_until, "--until")
        info = add_gift(
            conn, sku=sku, name=name, points=points, stock=stock, per_member_limit=limit,
            active_from=dt.datetime.combine(start, dt.time(), tz) if start else None,
            active_until=(dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tz)
                          if until else None),
            now=utc(),
        )
    if json_out:
        emit_json(info.to_dict())
    else:
        typer.echo(f"Gift {info.id} {info.sku}: {info.name}, {info.points} "
                   f"{plural(info.points, 'point')}, stock {info.stock}.")


@gift_app.command("list")
def gift_list(
    available: bool = typer.Option(False, "--available", help="Only gifts redeemable now."),
    json_out: bool = JSON,
) -> None:
    """List the gifts of the mall."""
    from loyalcode.loyalty.gifts import list_gifts
    from loyalcode.store.timeutil import utc

    with _context() as ctx, ctx.engine.connect().execution_options(sqlite_deferred=True) as conn:
        gifts = list_gifts(conn, available_at=utc() if available else None)
        conn.rollback()
    if json_out:
        emit_json([g.to_dict() for g in gifts])
        return
    for g in gifts:
        limit = f"  limit {g.per_member_limit}" if g.per_member_limit else ""
        typer.echo(f"{g.id}\t{g.sku}\t{g.points} pts\tstock {g.stock}{limit}\t{g.name}")


@gift_app.command("redeem")
def gift_redeem(
    gift: str = typer.Argument(..., help="Gift id or SKU."),
    phone: str | None = typer.Option(None, "--phone", help="The member's phone."),
    member_id: int | None = typer.Option(None, "--id", help="Member id."),
    openid: str | None = typer.Option(None, "--openid", help="WeChat openid."),
    quantity: int = typer.Option(1, "--quantity", help="Units."),
    json_out: bool = JSON,
) -> None:
    """Spend a member's points on a gift (bound phone and complete profile needed)."""
    from loyalcode.loyalty.gifts import redeem_gift
    from loyalcode.store.timeutil import utc

    with _context() as ctx, ctx.engine.connect() as conn, conn.begin():
        settings, _ = _settings(ctx)
        result = redeem_gift(conn, _member(ctx, conn, member_id, phone, openid), gift, settings, utc(),
                             quantity=quantity)
    if json_out:
        emit_json(result.to_dict())
    else:
        typer.echo(f"Order {result.order}: {result.quantity} x {result.sku} for {result.points} "
                   f"points (balance {result.balance}).")


@gift_app.command("cancel")
def gift_cancel(
    order: int = typer.Argument(..., help="Order id."),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept in the ledger)."),
    json_out: bool = JSON,
) -> None:
    """Cancel a gift order: refund its points and its stock."""
    from loyalcode.loyalty.gifts import cancel_order
    from loyalcode.store.timeutil import utc

    with _context() as ctx, ctx.engine.connect() as conn, conn.begin():
        settings, _ = _settings(ctx)
        result = cancel_order(conn, order, settings, utc(), reason=reason)
    if json_out:
        emit_json(result.to_dict())
    else:
        typer.echo(f"Order {result.order} cancelled: {result.points} {plural(result.points, 'point')} refunded "
                   f"(balance {result.balance}), {result.quantity} x {result.sku} back in stock.")


@points_app.command("expire")
def points_expire(
    as_of: str | None = typer.Option(
        None, "--as-of", help="Expire as of this day, today or earlier (default today)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would expire, per member and in total; change nothing."
    ),
    json_out: bool = JSON,
) -> None:
    """Expire points past their date (oldest first) and send expiring notices; idempotent.
    A date in the future is refused."""
    from loyalcode.loyalty.expiry import expire_points
    from loyalcode.store.timeutil import utc

    with _context() as ctx, ctx.engine.connect() as conn:
        settings, rsettings = _settings(ctx)
        tz = rsettings.tzinfo()
        now = utc()
        day = parse_date(as_of, "--as-of") or now.astimezone(tz).date()
        with conn.begin() as tx:
            run = expire_points(conn, settings, tz, as_of=day, now=now)
            if dry_run:  # the real run, rolled back: exactly what it would do
                tx.rollback()
    if json_out:
        body = run.to_dict() | {"dry_run": dry_run, "timezone": rsettings.timezone}
        emit_json(body | ({"events": []} if dry_run else {}))
        return
    would = "would expire" if dry_run else "expired"
    for m in run.members:
        if m.points_expired:
            typer.echo(f"Member {m.member}: {m.points_expired:,} {plural(m.points_expired, 'point')} "
                       f"{would}.")
    typer.echo(f"{'Dry run: ' if dry_run else ''}As of {run.as_of} ({rsettings.timezone}): {run.points_expired:,} "
               f"{plural(run.points_expired, 'point')} of {run.members_expired:,} "
               f"{plural(run.members_expired, 'member')} {would}; {run.notices:,} expiring "
               f"{plural(run.notices, 'notice')}{' would be sent' if dry_run else ''}.")


@tiers_app.command("evaluate")
def tiers_evaluate(
    as_of: str | None = typer.Option(
        None, "--as-of",
        help="Evaluate the window ending with this day, today or earlier (default: now).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show the changes per member and in total; change nothing."
    ),
    json_out: bool = JSON,
) -> None:
    """Move every member to the tier their points earned in the window reach (up or down).
    A date in the future is refused."""
    from loyalcode.errors import FutureDate
    from loyalcode.loyalty.tiers import evaluate
    from loyalcode.store.timeutil import utc

    with _context() as ctx, ctx.engine.connect() as conn:
        settings, rsettings = _settings(ctx)
        tz = rsettings.tzinfo()
        now = utc()
        day = parse_date(as_of, "--as-of")
        moment = None
        if day is not None:
            today = now.astimezone(tz).date()
            if day > today:
                raise FutureDate(field="--as-of", value=day.isoformat(), today=today.isoformat(),
                                 why="tiers are evaluated over points earned up to now at most.")
            # the end of that day in the redemption time zone (now, for today)
            moment = min(now, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz))
        with conn.begin() as tx:
            changes = evaluate(conn, settings, now, as_of=moment)
            if dry_run:  # the real evaluation, rolled back
                tx.rollback()
    if json_out:
        rows = [c.to_dict() | ({"event": None} if dry_run else {}) for c in changes]
        emit_json({"changes": rows, "total": len(changes), "dry_run": dry_run})
        return
    arrow = "would move" if dry_run else "moved"
    for c in changes:
        typer.echo(f"Member {c.member}: {c.previous} -> {c.tier} (earned {c.earned_in_window:,} "
                   f"in the window).")
    typer.echo(f"{'Dry run: ' if dry_run else ''}{len(changes):,} {plural(len(changes), 'member')} "
               f"{arrow} to another tier.")


def _identities(openid: str | None, unionid: str | None, shop: str | None) -> dict[str, str]:
    found = {"openid": openid, "unionid": unionid, "shop": shop}
    return {k: v for k, v in found.items() if v is not None}


@member_app.command("show")
def member_show(
    member_id: int | None = typer.Option(None, "--id", help="Member id."),
    phone: str | None = typer.Option(None, "--phone", help="Phone number."),
    openid: str | None = typer.Option(None, "--openid", help="WeChat openid."),
    unionid: str | None = typer.Option(None, "--unionid", help="WeChat unionid."),
    shop: str | None = typer.Option(None, "--shop", help="A shop's member id."),
    ledger: bool = typer.Option(False, "--ledger", help="Include every ledger entry."),
    json_out: bool = JSON,
) -> None:
    """Show a member: phone, balance (and its ledger's sum), identities."""
    from loyalcode.loyalty import members
    from loyalcode.loyalty.phones import PhonePolicy
    from loyalcode.store.timeutil import business_zone

    with _context() as ctx, ctx.engine.connect().execution_options(sqlite_deferred=True) as conn:
        mid = members.find_member(
            conn, member_id=member_id, phone=phone, identities=_identities(openid, unionid, shop),
            phones=PhonePolicy.from_config(ctx.config),
        )
        info = members.member_info(conn, mid, with_ledger=ledger)
        conn.rollback()
    if json_out:
        emit_json(info.to_dict())
        return
    typer.echo(f"Member {info.id}  phone {info.phone or '-'}  balance {info.balance}")
    for kind, value in info.identities:
        typer.echo(f"  {kind}: {value}")
    typer.echo(f"  redemptions: {info.redemptions}")
    zone = business_zone(ctx.config)
    for line in info.ledger:
        ref = f" serial {line.redemption_serial}" if line.redemption_serial is not None else ""
        typer.echo(f"  {line.created_at.astimezone(zone):%Y-%m-%d %H:%M %Z} {line.delta:+d} {line.kind}: {line.reason}{ref}")


@member_app.command("bind")
def member_bind(
    phone: str | None = typer.Option(None, "--phone", help="Phone number to bind."),
    member_id: int | None = typer.Option(None, "--id", help="The member to bind to."),
    openid: str | None = typer.Option(None, "--openid", help="WeChat openid."),
    unionid: str | None = typer.Option(None, "--unionid", help="WeChat unionid."),
    shop: str | None = typer.Option(None, "--shop", help="A shop's member id."),
    json_out: bool = JSON,
) -> None:
    """Bind a phone and/or external ids to a member (the operator vouches for the phone);
    a member without a phone binding a phone another member holds is merged into it."""
    from loyalcode.events.settings import EventSettings
    from loyalcode.loyalty import members
    from loyalcode.loyalty.phones import PhonePolicy
    from loyalcode.store.timeutil import utc

    with _context() as ctx, ctx.engine.connect() as conn, conn.begin():
        result = members.bind(
            conn,
            now=utc(),
            phone=phone,
            member_id=member_id,
            identities=_identities(openid, unionid, shop),
            phones=PhonePolicy.from_config(ctx.config),
            include_phone=EventSettings.from_config(ctx.config).include_phone,
            phone_verified=True,  # an operator's act: the customer showed the phone
        )
    if json_out:
        emit_json(result.to_dict())
        return
    how = "created" if result.created else "updated"
    typer.echo(f"Member {result.member} {how}.")
    if result.merged_from is not None:
        typer.echo(f"Member {result.merged_from} was merged into member {result.member}.")


@member_app.command("forget")
def member_forget(
    phone: str | None = typer.Option(None, "--phone", help="The member's phone."),
    member_id: int | None = typer.Option(None, "--id", "--member", help="Member id."),
    openid: str | None = typer.Option(None, "--openid", help="WeChat openid."),
    json_out: bool = JSON,
) -> None:
    """Erase a member's personal data everywhere (phone, external ids, profile, event
    payloads, sources), and that of the members merged into it; points, ledger and
    redemptions stay under the member id."""
    from loyalcode.loyalty.erasure import forget_member
    from loyalcode.store.timeutil import utc

    with _context() as ctx:
        keyring = ctx.keyring()  # verified before the write (SQLite: one writer)
        with ctx.engine.connect() as conn, conn.begin():
            erased = forget_member(conn, _member(ctx, conn, member_id, phone, openid), keyring, utc())
    if json_out:
        emit_json(erased.to_dict())
        return
    also = f" and {len(erased.merged)} merged into it" if erased.merged else ""
    typer.echo(f"Member {erased.member}{also} forgotten: {erased.phones} phone(s), "
               f"{erased.identities} external id(s), {erased.profiles} profile(s), "
               f"{erased.event_payloads} event payload(s), {erased.sources} source(s) erased.")
