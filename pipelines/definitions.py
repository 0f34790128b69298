"""The one `Definitions` of the project (`dagster dev -m pipelines.definitions`)."""

from __future__ import annotations

import dagster as dg

from pipelines import assets
from pipelines.checks import CHECKS
from pipelines.resources import default_resources

ALL_ASSETS = dg.load_assets_from_modules([assets])

full_refresh_job = dg.define_asset_job("achats_full_run", selection=dg.AssetSelection.all(),
                                       executor_def=dg.in_process_executor)

defs = dg.Definitions(
    assets=ALL_ASSETS,
    asset_checks=CHECKS,
    jobs=[full_refresh_job],
    resources=default_resources(),
    executor=dg.in_process_executor,
)
