"""The command lines of ``experiments/``: :mod:`.args` checked flags, :mod:`.parsers` every
command's options, :mod:`.study` the recovery and selection studies, :mod:`.realfit` the
real-data fit and its printout."""
