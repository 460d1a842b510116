"""State only: annotation's foreign keys point at projects.Project and annotation forgets the model.

Runs after governance and training have re-pointed theirs, so no state refers to annotation.Project.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('training', '0006_project_in_projects_app'),
        ('governance', '0007_project_in_projects_app'),
        ('annotation', '0011_import_job_quoting'),
        ('projects', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='importjob',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='import_jobs', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='item',
                    name='project',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='items', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='label',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='labels', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='neardupstate',
                    name='project',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='neardup_state', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='neardupbucket',
                    name='project',
                    field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='finalannotation',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='finals', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='prediction',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='predictions', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='datasource',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sources', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='piifinding',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pii_findings', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='annotation',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='annotations', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='review',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reviews', to='projects.project'),
                ),
                migrations.DeleteModel(
                    name='Project',
                ),
            ],
        ),
    ]
