"""Deposit files: each format imported (rows, payouts, tenders linked), a malformed file
refused whole with the line and column of each problem (nothing written), and the same
file twice changing nothing."""

from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command

from apps.orders import services as orders
from apps.orders.enums import PaymentStatus
from apps.reports.models import DepositImport, DepositRow, Payout
from apps.reports.services import import_deposit_file

TOAST_PAYMENT_DETAILS = (
    "Location,Payment Id,Order Id,Order #,Paid Date,Order Date,Check Id,Check #,Amount,Tip,Gratuity,Total,"
    "Refunded,Refund Date,Refund Amount,Refund Tip Amount,Status,Type,Card Type\n"
    "Oakland,pay-guid-1,ord-1,101,11/24/2026 19:30:00,11/24/2026 19:10:00,chk-1,1,11.25,2.00,0.00,13.25,"
    "No,,,,CAPTURED,Credit,VISA\n"
    "OAK,pay-guid-2,ord-2,102,11/24/2026 20:05:12,11/24/2026 20:00:00,chk-2,1,7.50,0.00,0.00,7.50,"
    "No,,,,CLOSED,Cash,\n"
)
TOAST_PAYOUTS = (
    "Restaurant,Settled Date,Sales Date(s),Payment Amount,Refund Amount,Total Fee Amount,"
    "Withholding Amount,Payout Amount,Payout Status\n"
    "Oakland,2026-11-25,2026-11-24,\"1,325.00\",50.00,40.10,0.00,\"1,234.90\",SENT\n"
)
CLOVER_DEPOSITS = (
    "Merchant,Date Funded,Start Date,End Date,Amount Submitted,Fees,Amount Transferred,Reference\n"
    "OAK,11/26/2026,11/24/2026,11/25/2026,500.00,14.80,485.20,DEP-77\n"
)
BANK = (
    "Date,Description,Amount,Reference\n"
    "2026-11-26,CITIZENS NET SETLMT BANKCARD SYSCCD,1234.90,TST-1125\n"
    "2026-11-26,RENT,(2000.00),\n"
)


@pytest.fixture
def toast_sale(shop):
    order, _ = orders.record_external_order(order=orders.ExternalOrderInput(
        channel="register", source_name="Toast", external_id="ord-1", location_code="OAK",
        lines=(orders.LineInput("TACO", 3),), placed_at=datetime(2026, 11, 25, 3, 30, tzinfo=UTC),
        fulfillment_type="in_store", already_fulfilled=True, platform="toast",
        tenders=(orders.TenderFact(type="card", amount=1125, tip=200, platform="toast",
                                   reference="pay-guid-1", status=PaymentStatus.PAID),)))
    return order


def test_toast_payment_details_rows_are_imported_and_linked_to_their_tenders(shop, toast_sale,
                                                                             django_user_model):
    user = django_user_model.objects.create_user("fin")
    result = import_deposit_file(platform="toast", name="PaymentDetails.csv",
                                 content=TOAST_PAYMENT_DETAILS.encode(), user=user)

    assert result.created and not result.problems
    assert result.file_format == "toast_payment_details"
    assert result.deposit_import.rows == 2
    assert result.deposit_import.imported_by == user
    first, second = DepositRow.objects.order_by("line_number")
    assert (first.line_number, first.kind, first.amount, first.tip) == (2, "payment", 1125, 200)
    assert first.net == 1325
    assert first.payment == toast_sale.payments.get()
    assert first.location == shop.oak
    assert first.date == first.business_day == date(2026, 11, 24)
    assert first.reference == "pay-guid-1"
    assert second.payment is None and second.amount == 750
    assert Payout.objects.count() == 0


def test_a_payment_details_file_with_toasts_own_columns_brings_each_card_fee(shop, toast_sale):
    # The tail of the header as Toast's data export field reference lists it.
    header, card, cash = TOAST_PAYMENT_DETAILS.splitlines()
    header += ",Other Type,Email,Phone,Last 4 Card Digits,Receipt,V/MC/D Fees"
    content = "\n".join([header, card + ",,,,1111,,0.41", cash + ",,,,,,0.00"]) + "\n"

    result = import_deposit_file(platform="toast", name="PaymentDetails.csv", content=content.encode())

    assert result.created, result.problems
    first, second = DepositRow.objects.order_by("line_number")
    assert (first.amount, first.tip, first.fee, first.net) == (1125, 200, 41, 1284)
    assert first.payment == toast_sale.payments.get()
    assert (second.fee, second.net) == (0, 750)


def test_the_same_file_twice_changes_nothing_and_says_so(shop):
    first = import_deposit_file(platform="toast", name="PaymentDetails.csv",
                                content=TOAST_PAYMENT_DETAILS.encode())
    again = import_deposit_file(platform="toast", name="copy.csv", content=TOAST_PAYMENT_DETAILS.encode())

    assert first.created
    assert not again.created and again.already_imported and not again.problems
    assert again.deposit_import == first.deposit_import
    assert "already imported" in again.message
    assert (DepositImport.objects.count(), DepositRow.objects.count()) == (1, 2)


def test_a_toast_payouts_overview_becomes_a_payout_once(shop):
    result = import_deposit_file(platform="toast", name="payouts.csv", content=TOAST_PAYOUTS.encode())

    assert result.file_format == "toast_payouts"
    payout = Payout.objects.get()
    assert (payout.platform, payout.source, payout.amount) == ("toast", "import", 123490)
    assert payout.status == "sent"
    assert payout.arrival_date == date(2026, 11, 25)
    assert payout.location == shop.oak
    row = DepositRow.objects.get()
    assert (row.amount, row.fee, row.net, row.business_day) == (132500, 4010, 123490, date(2026, 11, 24))
    assert row.payout == payout

    # Another export covering the same payout (one more column, so other bytes) does not count it twice.
    overlapping = (TOAST_PAYOUTS.replace("Payout Status\n", "Payout Status,Note\n")
                   .replace("SENT\n", "SENT,x\n"))
    import_deposit_file(platform="toast", name="payouts-2.csv", content=overlapping.encode())
    assert Payout.objects.count() == 1
    assert DepositRow.objects.filter(payout=payout).count() == 2


def test_a_clover_deposit_report_becomes_payouts(shop):
    result = import_deposit_file(platform="clover", name="deposits.csv", content=CLOVER_DEPOSITS.encode())

    assert result.created and result.file_format == "clover_deposits"
    payout = Payout.objects.get()
    assert (payout.platform, payout.platform_payout_id, payout.amount) == ("clover", "DEP-77", 48520)
    assert payout.arrival_date == date(2026, 11, 26)
    row = DepositRow.objects.get()
    assert (row.amount, row.fee, row.net, row.business_day) == (50000, 1480, 48520, date(2026, 11, 24))


def test_a_bank_statement_is_imported_as_lines(shop):
    result = import_deposit_file(platform="bank", name="statement.csv", content=BANK.encode())

    assert result.created and result.file_format == "bank_statement"
    deposit, rent = DepositRow.objects.order_by("line_number")
    assert (deposit.kind, deposit.amount, deposit.reference) == ("bank_line", 123490, "TST-1125")
    assert deposit.description.startswith("CITIZENS")
    assert rent.amount == -200000
    assert Payout.objects.count() == 0


@pytest.mark.parametrize(("platform", "content", "expected"), [
    ("toast", TOAST_PAYMENT_DETAILS.replace("11.25", "eleven").replace("OAK,pay", "Nowhere,pay"),
     ["line 2, column Amount: 'eleven' is not an amount in USD",
      "line 3, column Location: 'Nowhere' is no location Concord knows (its code, name or platform id)"]),
    ("toast", TOAST_PAYOUTS.replace("\"1,234.90\"", "1200.00"),
     ["line 2, column Payout Amount: is not payments - refunds - fees - withholdings"]),
    ("clover", CLOVER_DEPOSITS.replace("11/26/2026", "26.11.2026"),
     ["line 2, column Date Funded: '26.11.2026' is not a date (YYYY-MM-DD, MM/DD/YYYY or YYYYMMDD)"]),
    ("bank", BANK.replace(",(2000.00),", ",(2000.00)"),
     ["line 3: has 3 fields; the header has 4"]),
    ("bank", "Date,Amount\n2026-11-26,1.00\n",
     ["line 1, column Description: a Bank statement file needs the column(s) Description"]),
    ("toast", "Date,Amount\n", ["line 1: not a Toast PaymentDetails.csv (no Payment Id column) nor a Payouts "
                                "Overview export (no Settled Date column)"]),
    ("bank", b"Date,Description,Amount\n2026-11-26,caf\xe9,1.00\n", ["line 2: is not UTF-8 text"]),
    ("bank", "", ["line 1: the file is empty: a CSV file with a header row is expected"]),
    ("bank", BANK.replace("1234.90", "1234.905"),
     ["line 2, column Amount: '1234.905' is not an amount in USD"]),
])
def test_a_malformed_file_is_refused_whole_with_each_problems_line_and_column(shop, platform, content,
                                                                              expected):
    raw = content if isinstance(content, bytes) else content.encode()
    result = import_deposit_file(platform=platform, name="bad.csv", content=raw)

    assert not result.created and not result.already_imported
    assert [str(problem) for problem in result.problems] == expected
    assert "refused" in result.message
    assert (DepositImport.objects.count(), DepositRow.objects.count(), Payout.objects.count()) == (0, 0, 0)


def test_the_command_imports_a_file_and_refuses_a_bad_one(shop, tmp_path, capsys):
    good = tmp_path / "statement.csv"
    good.write_text(BANK)
    call_command("import_deposits", "--platform", "bank", str(good))
    assert "imported 2 row(s) from statement.csv" in capsys.readouterr().out

    call_command("import_deposits", "--platform", "bank", str(good))
    assert "nothing changed" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_text(BANK.replace("1234.90", "lots"))
    with pytest.raises(CommandError, match="refused: 1 problem"):
        call_command("import_deposits", "--platform", "bank", str(bad))
    assert "bad.csv: line 2, column Amount: 'lots' is not an amount in USD" in capsys.readouterr().err
    assert DepositImport.objects.count() == 1
