"""Who belongs to which project, in which role."""

from django.conf import settings
from django.db import models

from governance.roles import ProjectRole


class Membership(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=ProjectRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_one_per_user")]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} in {self.project_id}"
