from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("appeals", "0012_idempotency_forget_clear_receipts")]

    operations = [
        migrations.RemoveConstraint(model_name="idempotencykey", name="idempotency_unique_key"),
        migrations.RemoveField(model_name="idempotencykey", name="key"),
        migrations.RemoveField(model_name="idempotencykey", name="response"),
        migrations.AddField(
            model_name="idempotencykey",
            name="key_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="idempotencykey",
            name="sealed_receipt",
            field=models.BinaryField(null=True),
        ),
        migrations.AddConstraint(
            model_name="idempotencykey",
            constraint=models.UniqueConstraint(
                fields=("owner", "key_hash"), name="idempotency_unique_key"
            ),
        ),
    ]
