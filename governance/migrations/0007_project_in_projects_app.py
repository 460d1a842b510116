"""State only: governance's foreign keys to the project point at projects.Project, the same table (annotation_project) as before."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0006_retention_erasure_exports'),
        ('projects', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='erasurerequest',
                    name='project',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='exportrecord',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='export_records', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='membership',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='projectgroupobjectpermission',
                    name='content_object',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='projectkey',
                    name='project',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='data_key', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='projectretention',
                    name='project',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='retention', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='projectuserobjectpermission',
                    name='content_object',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='projects.project'),
                ),
            ],
        ),
    ]
