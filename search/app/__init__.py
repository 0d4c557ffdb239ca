"""What users run: the CLI, the socket and HTTP servers, the search page, and `kbsearch eval`.
They call the library through its public API (`search`), taking option choices and defaults
from the layers below."""
