"""Model versions, and train-and-publish jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from shopguide.service.auth import AdminKey, KeyFirstRoute, ReadKey
from shopguide.service.deps import State
from shopguide.service.schemas import JobResponse, TrainRequest
from shopguide.workflows import serving

router = APIRouter(prefix="/v1", tags=["models"], route_class=KeyFirstRoute)
ModelName = Annotated[str, Path(pattern="^(" + "|".join(serving.model_names()) + ")$")]


@router.get("/models", summary="Published model versions")
def versions(state: State, _: ReadKey) -> dict[str, Any]:
    snapshot = state.holder.current
    return {
        "serving": None
        if snapshot is None
        else {"model": snapshot.name, "version": snapshot.version},
        "versions": serving.model_versions(state.registry),
    }


@router.post(
    "/models/{name}/train",
    response_model=JobResponse,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Train and publish a model (background job)",
)
def train(
    name: ModelName, state: State, _: AdminKey, body: TrainRequest | None = None
) -> JobResponse:
    """Fits the model on every event in the store, publishes it as the new current version and,
    when it is the served model, switches the service to it without failing any request."""
    params = dict(body.params) if body is not None else {}
    serving.check_model_params(name, params)  # bad parameters: 422 now, not a failed job

    def work(job: serving.Job) -> dict[str, Any]:
        def progress(fraction: float, step: str) -> None:
            job.progress, job.step = fraction, step

        version = serving.train_and_publish(
            state.store, state.registry, name, params, progress=progress, read_lock=state.lock
        )
        if name != state.settings.model:
            return {"model": name, "version": version, "serving": False}
        state.holder.refresh(force=True)  # the registry watcher may have swapped already
        current = state.holder.current
        return {
            "model": name,
            "version": version,
            "serving": current is not None and current.version == version,
        }

    return JobResponse(**state.jobs.submit(f"train:{name}", work).to_dict())


@router.get("/jobs/{job_id}", response_model=JobResponse, summary="A background job's status")
def job(
    job_id: Annotated[str, Path(min_length=1, max_length=64)], state: State, _: ReadKey
) -> JobResponse:
    return JobResponse(**state.jobs.get(job_id).to_dict())
