"""``python -m fdpose ...``: the same command line as the ``fdpose`` script."""

from fdpose.cli.main import main

if __name__ == "__main__":
    main(prog_name="python -m fdpose")
