"""`kbsearch` and `python -m search`: a query goes to a running `kbsearch serve` first, which
spares this process loading click and Whoosh; any other command, or a query no server runs,
runs here."""

import sys


def main() -> None:
    """The `kbsearch` command."""
    args = sys.argv[1:]
    if args[:1] == ["query"] and "--no-server" not in args:
        from .app.client import run_on_server

        try:
            exit_code = run_on_server(args)
        except KeyboardInterrupt:  # as the CLI says it: a message and 130, no traceback
            sys.stderr.write("kbsearch: interrupted\n")
            sys.exit(130)
        if exit_code is not None:
            sys.exit(exit_code)
        args = ["query", "--no-server", *args[1:]]  # no server answered: the CLI need not ask
    from .app.cli import main as cli_main

    cli_main(args, prog_name="kbsearch")


if __name__ == "__main__":
    main()
