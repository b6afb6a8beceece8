"""One starter per process: how the API starts each process and sends it its Updates and signals.

A starter is a module of plain async functions that take the Platform (api.platform: the client, the database,
read/write, start, update, the task queue and the id prefix) first, named after its workflow's module
(workflows/expense_claim.py → api/starters/expense_claim.py). A start checks at once what can be refused (in
the database, through the domain's services), numbers the document, forms the process id with
domain.processes.ids, starts the workflow (`Platform.start`) and answers once the process has recorded it; the
other functions find the running process and send it its Update (`Platform.update`). Routes and pages call the
starters rather than Temporal (the process monitor's cancel, api/processes.py, sends each type's cancel Update).

A new process: its workflow (workflows/) and activities (activities/), registered in worker.py (WORKFLOWS) and
activities.all_activities, its area in workflows.common.WORKFLOW_AREAS (the queue it starts on), its id in
domain/processes/ids.py, and its starter module here."""
