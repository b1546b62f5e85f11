# The finance app's first migration: its models arrive in the migrations that follow.
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = []
