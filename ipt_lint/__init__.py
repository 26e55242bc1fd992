"""ipt-lint: a static analyzer for iptables-save dumps.

The data flows one way, one package per stage (see README, section Architecture):

    parse/ -> model/ -> semantics/ -> platforms/ -> checks/ -> policy/ -> report/      (cli/ drives it)
"""

__version__ = "0.1.0"
