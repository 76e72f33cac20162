"""Commands of the scan: redeem."""

from __future__ import annotations

import typer

from loyalcode.cli import app, deployment, emit_json, plural

JSON = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")



_context = deployment


@app.command()
def redeem(
    scan: str = typer.Argument(..., help="The scanned QR payload or the typed code."),
    phone: str | None = typer.Option(None, "--phone", help="Member's phone (China by default)."),
    openid: str | None = typer.Option(None, "--openid", help="Member's WeChat openid."),
    region: str | None = typer.Option(None, "--region", help="Where the scan happened (GB/T 2260)."),
    source: str | None = typer.Option(None, "--source", help="IP or device id (throttle bucket)."),
    purchase_channel: str | None = typer.Option(
        None, "--purchase-channel", help="Channel code where the consumer says they bought."
    ),
    phone_verified: bool = typer.Option(
        False, "--phone-verified",
        help="The consumer proved the phone is theirs (needed to link --openid and --phone).",
    ),
    json_out: bool = JSON,
) -> None:
    """Redeem one scan for a member: points credited exactly once."""
    from loyalcode.redemption.redeem import Redeemer

    with deployment() as ctx, Redeemer(ctx) as redeemer:
        result = redeemer.redeem(
            scan,
            phone=phone,
            openid=openid,
            region=region,
            source=source,
            purchase_channel=purchase_channel,
            phone_verified=phone_verified,
        )
    if json_out:
        emit_json(result.to_dict())
        return
    where = f" via channel {result.channel}" if result.channel else ""
    typer.echo(
        f"Credited {result.points} {plural(result.points, 'point')} to member {result.member} "
        f"(balance {result.balance}) for batch {result.batch} ({result.sku}){where}."
    )
    if "region" in result.diversion_reasons:
        typer.echo(
            f"Diversion: scanned in region {result.scan_region}, "
            f"channel region {result.channel_region}.",
            err=True,
        )
    if "channel" in result.diversion_reasons:
        typer.echo(
            f"Diversion: bought from {result.purchase_channel}, "
            f"which is not {result.channel} nor below it.",
            err=True,
        )


