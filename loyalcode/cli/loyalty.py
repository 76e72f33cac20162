"""Commands of the loyalty programme: member show|bind|update|profile,
gift add|list|redeem|cancel, points expire, tiers evaluate."""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer

from loyalcode.cli import app, deployment, emit_json, parse_date

JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")

member_app = typer.Typer(help="Members: show, bind a phone or an external id, profile.", no_args_is_help=True)
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


def _member(conn: Any, member_id: int | None, phone: str | None, openid: str | None) -> int:
    from loyalcode.loyalty import members

    ids = {"openid": openid} if openid is not None else {}
    return members.find_member(conn, member_id=member_id, phone=phone, identities=ids)


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
            conn, _member(conn, member_id, phone, openid), settings, utc(),
            name=name, gender=gender, birthday=birthday, city=city, email=email,
        )
    if json_out:
        emit_json(result.to_dict())
        return
    p = result.profile
    state_ = "complete" if p.complete else f"missing {', '.join(p.missing)}"
    typer.echo(f"Member {p.member} profile {state_}.")
    if result.bonus:
        typer.echo(f"Profile bonus: {result.bonus} points (balance {result.balance}).")


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
        mid = _member(conn, member_id, phone, openid)
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
            "lots": [lot.to_dict() for lot in lots]}
    if json_out:
        emit_json(body)
        return
    typer.echo(f"Member {profile.member}  balance {balance}  tier {tier.tier} "
               f"(earned {tier.earned_in_window} in {tier.window_days} days)")
    typer.echo(f"  profile: {'complete' if profile.complete else 'missing ' + ', '.join(profile.missing)}")
    for lot in lots:
        typer.echo(f"  {lot.remaining} points expire on {lot.expires_on or 'never'}")


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
        typer.echo(f"Gift {info.id} {info.sku}: {info.name}, {info.points} points, stock {info.stock}.")


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
        result = redeem_gift(conn, _member(conn, member_id, phone, openid), gift, settings, utc(),
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
        typer.echo(f"Order {result.order} cancelled: {result.points} points refunded "
                   f"(balance {result.balance}), {result.quantity} x {result.sku} back in stock.")


@points_app.command("expire")
def points_expire(
    as_of: str | None = typer.Option(None, "--as-of", help="Expire as of this day (default today)."),
    json_out: bool = JSON,
) -> None:
    """Expire points past their date (oldest first) and send expiring notices; idempotent."""
    from loyalcode.loyalty.expiry import expire_points
    from loyalcode.store.timeutil import utc

    with _context() as ctx, ctx.engine.connect() as conn, conn.begin():
        settings, rsettings = _settings(ctx)
        tz = rsettings.tzinfo()
        now = utc()
        day = parse_date(as_of, "--as-of") or now.astimezone(tz).date()
        run = expire_points(conn, settings, tz, as_of=day, now=now)
    if json_out:
        emit_json(run.to_dict())
    else:
        typer.echo(f"As of {run.as_of}: {run.points_expired} points of {run.members_expired} "
                   f"member(s) expired; {run.notices} expiring notice(s).")


@tiers_app.command("evaluate")
def tiers_evaluate(json_out: bool = JSON) -> None:
    """Move every member to the tier their points earned in the window reach (up or down)."""
    from loyalcode.loyalty.tiers import evaluate
    from loyalcode.store.timeutil import utc

    with _context() as ctx, ctx.engine.connect() as conn, conn.begin():
        settings, _ = _settings(ctx)
        changes = evaluate(conn, settings, utc())
    if json_out:
        emit_json({"changes": [c.to_dict() for c in changes]})
        return
    for c in changes:
        typer.echo(f"Member {c.member}: {c.previous} -> {c.tier} (earned {c.earned_in_window}).")
    typer.echo(f"{len(changes)} tier change(s).")


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

    with _context() as ctx, ctx.engine.connect().execution_options(sqlite_deferred=True) as conn:
        mid = members.find_member(
            conn, member_id=member_id, phone=phone, identities=_identities(openid, unionid, shop)
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
    for line in info.ledger:
        ref = f" serial {line.redemption_serial}" if line.redemption_serial is not None else ""
        typer.echo(f"  {line.created_at:%Y-%m-%d %H:%M} {line.delta:+d} {line.kind}: {line.reason}{ref}")


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
    from loyalcode.loyalty import members
    from loyalcode.store.timeutil import utc

    with _context() as ctx, ctx.engine.connect() as conn, conn.begin():
        result = members.bind(
            conn,
            now=utc(),
            phone=phone,
            member_id=member_id,
            identities=_identities(openid, unionid, shop),
            phone_verified=True,  # an operator's act: the customer showed the phone
        )
    if json_out:
        emit_json(result.to_dict())
        return
    how = "created" if result.created else "updated"
    typer.echo(f"Member {result.member} {how}.")
    if result.merged_from is not None:
        typer.echo(f"Member {result.merged_from} was merged into member {result.member}.")
