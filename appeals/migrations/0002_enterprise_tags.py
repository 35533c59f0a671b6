from django.db import migrations

# Seed 004 item 47: key enterprises that get a one-to-one service commissioner.
TAGS = [
    ("sishang", "四上企业"),
    ("high_tech", "高新技术企业"),
    ("specialised", "专精特新"),
    ("agri_leader", "农业龙头"),
    ("key_trade", "重点外贸"),
    ("key_project", "省市重点项目"),
]


def create_tags(apps, schema_editor):
    EnterpriseTag = apps.get_model("appeals", "EnterpriseTag")
    for code, name in TAGS:
        EnterpriseTag.objects.get_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("appeals", "0001_closed_loop")]
    operations = [migrations.RunPython(create_tags, migrations.RunPython.noop)]
