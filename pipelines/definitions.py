"""The one `Definitions` of the project (`dagster dev -m achats.pipelines.definitions`)."""

from __future__ import annotations

import dagster as dg

from achats.pipelines import assets, buyers, operations
from achats.pipelines.checks import CHECKS
from achats.pipelines.resources import default_resources

ALL_ASSETS = [*dg.load_assets_from_modules([assets]), operations.mart_quarter_figures]
# The command line runs everything that is not partitioned; partitions are for scheduled runs.
UNPARTITIONED_ASSETS = [a for a in ALL_ASSETS if a.partitions_def is None]

full_run_job, quarterly_job = operations.build_jobs(ALL_ASSETS)

# Many buyers: one partition per buyer, and the national summary over their warehouses.
BUYER_ASSETS = [buyers.buyer_warehouse, buyers.buyers_national_summary]

defs = dg.Definitions(
    assets=ALL_ASSETS + BUYER_ASSETS,
    asset_checks=CHECKS,
    jobs=[full_run_job, quarterly_job, buyers.achats_all_buyers],
    schedules=[operations.quarterly_schedule(quarterly_job)],
    sensors=[operations.inbox_sensor(full_run_job)],
    resources={**default_resources(), "layout": buyers.default_layout()},
    executor=dg.in_process_executor,
)
