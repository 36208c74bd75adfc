"""The command lines: one module per command, each parsing its arguments, calling the library and
printing, with `main(argv) -> exit status`. Run them as `zoo COMMAND` (zoo.console) or
`python -m zoo.COMMAND` (a two-line shim per command at the package's top level)."""
