"""`python -m bench`: run the workloads against a throwaway server and write bench/RESULTS.md."""

from bench.suite import main

main()
