"""`python -m redflags ...`: the CLI, so that launchers that take a module can start it
(`torchrun --nproc_per_node 2 -m redflags train ...`, `accelerate launch -m redflags train ...`)."""

from redflags.cli import main

if __name__ == "__main__":
    main()
