"""The synthetic demo images, two per KL grade, to try the grading with."""

from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

from kneegrade_api.deps import StateDep
from kneegrade_api.errors import error_responses
from kneegrade_api.schemas import SampleOut
from kneegrade_ml.serving import GRADES, grade_name

router = APIRouter(prefix="/samples", tags=["samples"])


def find_samples(samples_dir: Path) -> dict[str, tuple[int, Path]]:
    """Every ``<grade>/<name>.png`` under ``samples_dir``, by file name."""
    found: dict[str, tuple[int, Path]] = {}
    for grade in GRADES:
        folder = samples_dir / str(grade)
        if folder.is_dir():
            for path in sorted(folder.glob("*.png")):
                if path.is_file():
                    found.setdefault(path.name, (grade, path))
    return found


@router.get(
    "",
    summary="The sample images",
    description="Synthetic knee radiographs with their KL grade, free to download and upload.",
)
def list_samples(state: StateDep) -> list[SampleOut]:
    return [
        SampleOut(
            name=name,
            grade=grade,
            grade_name=grade_name(grade),
            url=f"/api/samples/{name}",
        )
        for name, (grade, _) in find_samples(state.settings.samples_dir).items()
    ]


@router.get(
    "/{name}",
    summary="Download one sample image",
    response_class=FileResponse,
    responses={
        200: {"description": "The PNG", "content": {"image/png": {}}},
        **error_responses(
            {404: "No sample of that name", 422: "Not a valid sample name"}
        ),
    },
)
def get_sample(name: str, state: StateDep) -> FileResponse:
    sample = find_samples(state.settings.samples_dir).get(name)
    if sample is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no sample named {name!r}"
        )
    return FileResponse(sample[1], media_type="image/png", filename=name)
