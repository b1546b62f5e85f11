from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('connectors', '0007_delivery_kind_void_order'),
    ]

    operations = [
        migrations.AlterField(
            model_name='delivery',
            name='kind',
            field=models.CharField(choices=[('inject_order', 'Send order to the POS'), ('push_stock', 'Push availability'), ('void_order', "Void the order's ticket at the POS"), ('refund_part', 'Refund a payment at the platform')], max_length=16),
        ),
    ]
