"""What the office reads: the battle map's snapshots (boards), the rates of a period, the
quarter's league tables, the bulletin and the exports, with their pages, API and beat tasks.

Reports only read the appeals and their clocks, through the appeals and sla selectors; they
never lock or write them. What they store is their own: board snapshots and published league
tables (reports.models)."""
