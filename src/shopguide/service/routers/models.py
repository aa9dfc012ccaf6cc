"""Model versions, and train-and-publish jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from shopguide.service.auth import AdminKey, KeyFirstRoute, ReadKey
from shopguide.service.deps import State
from shopguide.service.schemas import JobResponse, TrainRequest
from shopguide.workflows import current_model, publishing
from shopguide.workflows.jobs import Job

router = APIRouter(prefix="/v1", tags=["models"], route_class=KeyFirstRoute)
ModelName = Annotated[str, Path(pattern="^(" + "|".join(publishing.model_names()) + ")$")]


@router.get("/models", summary="Published model versions")
def versions(state: State, _: ReadKey) -> dict[str, Any]:
    """Every published version: when and on how many events it was trained, its parameters,
    ``evaluation`` (the evidence of the ``shopguide compare`` run that published it, else null;
    its search is not repeated there) and ``tuning``: per model, every automatic-search point
    (``label``, ``params``, validation ``score``), the index of the ``chosen`` one, the
    ``metric`` and the ``validation`` window (``from``/``until``, carved from the training
    events); ``{}`` when nothing was searched."""
    snapshot = state.holder.current
    return {
        "serving": None
        if snapshot is None
        else {"model": snapshot.name, "version": snapshot.version},
        "store_current": current_model.current_record(state.model_store),
        "versions": publishing.model_versions(state.model_store),
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
    """Fits the model on every event in the store, publishes it and makes it the store's current
    model; a service serving the current model (or this one) switches to it without failing any
    request. While a training of the same model is queued or running the request gets 409 with
    that job's id. After publishing, versions beyond the newest ``keep_versions`` are deleted
    (the current and the served one stay); ``result.pruned`` lists them."""
    params = dict(body.params) if body is not None else {}
    publishing.check_model_params(name, params)  # bad parameters: 422 now, not a failed job

    def work(job: Job) -> dict[str, Any]:
        def progress(fraction: float, step: str) -> None:
            job.progress, job.step = fraction, step

        version = publishing.publish_current(
            state.store, state.model_store, name, params, progress=progress, read_lock=state.lock,
            reason="trained through the service",
        )  # fmt: skip
        serving_it = False
        if state.settings.model in (None, "", name):
            state.holder.refresh(force=True)  # the model store watcher may have swapped already
            current = state.holder.current
            serving_it = current is not None and (current.name, current.version) == (name, version)
        served = state.holder.current
        protect = [served.version] if served is not None and served.name == name else []
        removed = state.model_store.prune(name, state.settings.keep_versions, protect)
        return {"model": name, "version": version, "serving": serving_it, "pruned": removed}

    # one training per model at a time: a second request gets 409 naming the running job
    return JobResponse(**state.jobs.submit(f"train:{name}", work).to_dict())


@router.get("/jobs/{job_id}", response_model=JobResponse, summary="A background job's status")
def job(
    job_id: Annotated[str, Path(min_length=1, max_length=64)], state: State, _: ReadKey
) -> JobResponse:
    return JobResponse(**state.jobs.get(job_id).to_dict())
