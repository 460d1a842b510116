"""After a restore: every ready dataset version verifies against its content hash, and every model version loads."""

from pathlib import Path

from governance.keyring import DataShredded, project_shredded
from training.models import DatasetVersion, ModelVersion
from training.models.datasets import DatasetBuildStatus
from training.services.datasets import dataset_version_records, dataset_version_verify


def dataset_versions_check() -> tuple[bool, str]:
    """Each ready version's sealed file opens and hashes to its content hash; a shredded project's refuses."""
    verified = shredded = 0
    problems = []
    versions = DatasetVersion.objects.filter(status=DatasetBuildStatus.READY).select_related("project")
    for version in versions.order_by("id"):
        label = f"project {version.project_id} v{version.number}"
        if not Path(version.file_path).is_file():
            problems.append(f"{label}: its file {version.file_path} is missing")
            continue
        if project_shredded(project=version.project) is not None:
            try:
                next(iter(dataset_version_records(version=version)), None)
                problems.append(f"{label}: the project was shredded, yet the version opened")
            except DataShredded:
                shredded += 1
            continue
        try:
            if dataset_version_verify(version=version):
                verified += 1
            else:
                problems.append(f"{label}: its records do not hash to {version.content_hash[:16]}…")
        except Exception as error:  # every version is reported, not only the first failure
            problems.append(f"{label}: {type(error).__name__}: {error}")
    if problems:
        return False, "; ".join(problems[:5])
    return True, f"{verified} ready versions open and match their content hash; {shredded} of shredded projects stay unreadable"


def model_versions_check() -> tuple[bool, str]:
    """Each model version's folder holds the weights its name fingerprints, and loads on the CPU."""
    from training.ml.encoder import model_fingerprint
    from training.ml.predict import predictor_load

    loaded = 0
    problems = []
    for version in ModelVersion.objects.order_by("id"):
        folder = Path(version.artifact_path)
        if not folder.is_dir():
            problems.append(f"{version.name}: its folder {folder} is missing")
            continue
        expected = version.name.rpartition("@")[2]
        found = model_fingerprint(folder)
        if found != expected:
            problems.append(f"{version.name}: the weights in {folder} fingerprint to {found}")
            continue
        try:
            predictor_load(folder, device="cpu")
            loaded += 1
        except Exception as error:
            problems.append(f"{version.name}: {type(error).__name__}: {error}")
    if problems:
        return False, "; ".join(problems[:5])
    return True, f"{loaded} model versions load, each with the weights its name fingerprints"
