"""State only: training's foreign keys to the project point at projects.Project, the same table (annotation_project) as before."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('projects', '0001_initial'),
        ('training', '0005_label_check_status'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='activelearning',
                    name='project',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='active_learning', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='datasetversion',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='dataset_versions', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='itemembedding',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='labelissue',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='label_issues', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='learningcurvepoint',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='learning_curve', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='modelversion',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='model_versions', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='preannotationjob',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='preannotation_jobs', to='projects.project'),
                ),
                migrations.AlterField(
                    model_name='trainingjob',
                    name='project',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='training_jobs', to='projects.project'),
                ),
            ],
        ),
    ]
